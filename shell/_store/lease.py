"""Fetch leases for the file store: one file, one byte-range lock per lease.

Theory of operation
-------------------
A lease says "I am fetching this (section, organization); skip it". Across processes
it must be exclusive and non-blocking, and it must vanish when its holder dies. One
lock file per organization would do that but leaves one file per organization beside
the config forever (10,000 orgs, 10,000 files). Instead every lease of a config lives
in one file, ``<config>.lease``, as an exclusive POSIX record lock (``fcntl.lockf``)
on one byte at an offset derived from the lease's identity (a 56-bit hash: two
identities share a byte with odds of about 1 in 7e16, and then one merely skips).
Bytes far beyond the end of the file can be locked, so the file stays empty.

POSIX record locks belong to a *process*, not to a file descriptor, and closing any
descriptor of the file drops all of that process's locks on it. So each process keeps
exactly one descriptor per lease file, shared by its threads, and tracks the offsets
it holds: a second thread asking for a held offset is told BUSY here, without asking
the kernel (which would say yes to the same process). The descriptor is closed only
when the process holds no lease on that file. After a fork the child holds no locks,
so it forgets the parent's descriptors.

The lease file is opened with ``O_NOFOLLOW`` and ``O_NONBLOCK``, never truncated, and
used only if it is a regular file: a planted symlink, FIFO or device at the path makes
the lease FAILED, and its target is never touched. The kernel releases a dead holder's
locks, so a lease can never be left stuck. POSIX only (Linux, macOS, the BSDs).
"""

from __future__ import annotations

import _thread
import contextlib
import hashlib
import os
import stat
from collections.abc import Iterator
from typing import Final

from .._log import logger
from .jsonio import describe_os_error
from .port import LeaseStatus

__all__ = ["lease_offset", "lease_range"]

_FLAGS: Final = (
    os.O_RDWR
    | os.O_CREAT
    | os.O_NONBLOCK
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOCTTY", 0)
)


class _LeaseFile:
    __slots__ = ("fd", "held")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.held: set[int] = set()


# Own table, not a memo: each lease file's one open descriptor; closing it would drop every
# lease this process holds on that file.
_files: dict[str, _LeaseFile] = {}
_files_lock = _thread.allocate_lock()


def _forget_after_fork() -> None:
    global _files_lock  # noqa: PLW0603  (a fresh lock: the parent's may be held)
    _files_lock = _thread.allocate_lock()
    for lease_file in _files.values():
        with contextlib.suppress(OSError):
            os.close(lease_file.fd)  # the child holds no locks; this drops none of the parent's
    _files.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def lease_offset(identity: str) -> int:
    """The byte locked for `identity`: 56 bits of its SHA-256, so it fits any off_t."""
    return int.from_bytes(hashlib.sha256(identity.encode("utf-8")).digest()[:7], "big")


def _open(path: str) -> int:
    fd = os.open(path, _FLAGS, 0o600)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "the lease path is not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _try_lock(path: str, offset: int) -> LeaseStatus:
    import fcntl  # noqa: PLC0415  (the write side only)

    with _files_lock:
        lease_file = _files.get(path)
        if lease_file is None:
            try:
                lease_file = _files[path] = _LeaseFile(_open(path))
            except OSError as exc:
                logger().warning("cannot take the refresh lease: %s", describe_os_error(exc))
                return LeaseStatus.FAILED
        if offset in lease_file.held:
            return LeaseStatus.BUSY  # another thread of this process
        try:
            fcntl.lockf(lease_file.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset, os.SEEK_SET)
        except (BlockingIOError, PermissionError):
            status = LeaseStatus.BUSY  # another process
        except OSError as exc:
            logger().warning("cannot take the refresh lease: %s", describe_os_error(exc))
            status = LeaseStatus.FAILED
        else:
            lease_file.held.add(offset)
            return LeaseStatus.ACQUIRED
        if not lease_file.held:
            _close(path, lease_file)
        return status


def _close(path: str, lease_file: _LeaseFile) -> None:
    _files.pop(path, None)
    with contextlib.suppress(OSError):
        os.close(lease_file.fd)


def _unlock(path: str, offset: int) -> None:
    import fcntl  # noqa: PLC0415

    with _files_lock:
        lease_file = _files.get(path)
        if lease_file is None or offset not in lease_file.held:
            return
        lease_file.held.discard(offset)
        if lease_file.held:
            with contextlib.suppress(OSError):
                fcntl.lockf(lease_file.fd, fcntl.LOCK_UN, 1, offset, os.SEEK_SET)
        else:
            _close(path, lease_file)  # closing releases the last lock


@contextlib.contextmanager
def lease_range(path: str, identity: str) -> Iterator[LeaseStatus]:
    """Hold the lease of `identity` in the lease file at `path`, or learn it is BUSY."""
    folder = os.path.dirname(path)
    with contextlib.suppress(OSError):
        os.makedirs(folder or ".", mode=0o700, exist_ok=True)
    offset = lease_offset(identity)
    status = _try_lock(path, offset)
    if status is not LeaseStatus.ACQUIRED:
        yield status
        return
    try:
        yield status
    finally:
        _unlock(path, offset)
