"""What was last read of Claude Code's large file, kept on disk for the next process.

Every status line render and every command is a new process, and each would search
Claude Code's file (megabytes) for the same two values. The search's result is kept in one
small file of our cache folder: the file's path, its stat signature when it was read, the
keys looked for, and the bytes of the values found. A process that finds the file's
signature unchanged uses those bytes instead of searching; any other signature (Claude
Code rewrote its file) means a new search, whose result replaces the old one. The values
are only ever what the file held under that signature, so using them is reading the
file, with the limit every stat-signature cache here has (a rewrite in place at the same
size within one tick of the file system's clock keeps its signature).

A leaf of the store: it imports only `os`, so the status line's fast path can use it.
Nothing secret is in it: an account's organization and email, a grant.
"""

from __future__ import annotations

import os

from .smallfile import read_small, write_small
from .toplevel import raw_values

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Final

__all__ = ["encode_values", "kept_raw_values", "recall", "remember", "signed"]

MAGIC: Final = "overage-grant claude code keys 1"
NAME: Final = "claude-code-keys"
_SEP: Final = "\x1f"
_MAX: Final = 256 * 1024


def signed(st: os.stat_result) -> str:
    """A file's stat signature, as text."""
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_mode}"


def _head(path: str, st: os.stat_result, keys: Sequence[str]) -> list[str] | None:
    if any(_SEP in part or "\n" in part for part in (path, *keys)):
        return None
    return [MAGIC, path, signed(st), _SEP.join(keys)]


def recall(
    folder: str | None, path: str, st: os.stat_result, keys: Sequence[str]
) -> dict[str, bytes] | None:
    """The values last read of `keys` of `path` when its stat was `st`; None when nothing
    was kept for exactly that (then the file must be read)."""
    head = _head(path, st, keys) if folder is not None else None
    if head is None or folder is None:
        return None
    text = read_small(os.path.join(folder, NAME), _MAX)
    if text is None:
        return None
    lines = text.split("\n")
    if len(lines) != len(head) + 2 or lines[: len(head)] != head or lines[-1] != "":
        return None
    found: dict[str, bytes] = {}
    for pair in filter(None, lines[len(head)].split(_SEP)):
        key, equals, value = pair.partition("=")
        if not equals or key not in keys:
            return None
        try:
            found[key] = bytes.fromhex(value)
        except ValueError:
            return None
    return found


def remember(
    folder: str | None,
    path: str,
    st: os.stat_result,
    keys: Sequence[str],
    raw: dict[str, bytes],
) -> None:
    """Keep what was read of `keys` of `path` under `st`. Best effort: not kept only means
    the next process reads the file again."""
    head = _head(path, st, keys) if folder is not None else None
    if head is None or folder is None:
        return
    write_small(os.path.join(folder, NAME), "\n".join([*head, encode_values(raw), ""]))


def encode_values(raw: Mapping[str, bytes]) -> str:
    """Values read of a file, as they are kept (and as the status line compares them)."""
    return _SEP.join(f"{key}={raw[key].hex()}" for key in sorted(raw))


def kept_raw_values(
    folder: str | None, path: str, fd: int, st: os.stat_result, keys: Sequence[str]
) -> dict[str, bytes] | None:
    """`toplevel.raw_values` of the open file `fd` of `path` (whose stat is `st`), taken
    from what was kept in `folder` when it was kept for exactly that, else searched for
    and kept for the next process."""
    raw = recall(folder, path, st, keys)
    if raw is None:
        raw = raw_values(fd, st.st_size, keys)
        if raw is not None:
            remember(folder, path, st, keys, raw)
    return raw
