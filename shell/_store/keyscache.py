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

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Final

__all__ = ["recall", "remember", "signed"]

MAGIC: Final = "overage-grant claude code keys 1"
NAME: Final = "claude-code-keys"
_SEP: Final = "\x1f"
_MAX: Final = 256 * 1024
_READ_FLAGS: Final = (
    os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
)


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
    try:
        fd = os.open(os.path.join(folder, NAME), _READ_FLAGS)
    except OSError:
        return None
    try:
        import stat  # noqa: PLC0415  (a builtin module: next to nothing)

        kept = os.fstat(fd)
        if not stat.S_ISREG(kept.st_mode) or kept.st_size > _MAX:
            return None
        text = os.read(fd, _MAX + 1).decode("ascii")
    except (OSError, UnicodeDecodeError):
        return None
    finally:
        os.close(fd)
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
    values = _SEP.join(f"{key}={raw[key].hex()}" for key in sorted(raw))
    target = os.path.join(folder, NAME)
    temp = f"{target}.{os.getpid()}.tmp"
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(temp, flags, 0o600)
        try:
            os.write(fd, "\n".join([*head, values, ""]).encode("ascii"))
        finally:
            os.close(fd)
        os.replace(temp, target)
    except OSError:
        try:  # noqa: SIM105  (contextlib is not loaded on this path)
            os.unlink(temp)
        except OSError:
            pass
