"""Small files of our own cache folder, read and written best effort.

The status line keeps its last answer (`_cli.fastline`) and what it read of Claude Code's
file (`keyscache`) in small files of the user's cache folder. Neither is the config:
losing one only means the next process does the work again. So a read takes only a
regular file, opened without following a link and without blocking, and no larger than
asked; a write goes to a private temp file (created afresh, never through a link) that
replaces the target in one rename, and leaves nothing behind when it fails. No fsync: a
crash may lose the file, never half of it. The text is UTF-8, and a path or variable that
is not valid UTF-8 (a name of undecodable bytes) goes through as the bytes it was
(``surrogateescape``): any home folder can be written down and read back.

A leaf: it imports only `os`, so the status line's fast path can use it.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

__all__ = ["read_small", "write_small"]

_READ_FLAGS: Final = (
    os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
)
_WRITE_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def read_small(path: str, limit: int) -> str | None:
    """The text of `path` when it is a regular file of at most `limit` bytes (not
    reached through a link); None otherwise or on any error."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except (OSError, ValueError):
        return None
    try:
        import stat  # noqa: PLC0415  (a builtin module: next to nothing)

        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        return os.read(fd, limit + 1).decode("utf-8", "surrogateescape")
    except OSError:
        return None
    finally:
        os.close(fd)


def write_small(path: str, text: str) -> None:
    """Replace `path` with `text` in one rename, creating its folder (private) if needed.
    Best effort: on any error nothing is written and no temp file stays."""
    temp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(temp, _WRITE_FLAGS, 0o600)
        try:
            os.write(fd, text.encode("utf-8", "surrogateescape"))
        finally:
            os.close(fd)
        os.replace(temp, path)
    except OSError:
        try:  # noqa: SIM105  (contextlib is not loaded on this path)
            os.unlink(temp)
        except OSError:
            pass
