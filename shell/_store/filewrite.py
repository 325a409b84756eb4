"""The file store's write side: the lock and the crash-safe replace.

Loaded by the first `FileStore.update` of a process, so readers never import `filelock`
or `tempfile`. The rules are in `files`' docstring.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from pathlib import Path
from typing import Final

import filelock
from returns.result import Failure

from .._log import logger
from .jsonio import (
    describe_os_error,
    fast_json_safe,
    parse_config,
    read_regular_file,
    serialize_config,
)
from .port import Reducer, UpdateResult, UpdateStatus

__all__ = ["update_file"]

_NEW_FILE_MODE: Final = 0o600


def update_file(
    target: Path, reducer: Reducer, lock_timeout_s: float, *, fast_json: bool = False
) -> UpdateResult:
    """Lock `<target>.lock`, re-read, reduce, and replace the file only if the reducer
    returned a new object. `fast_json` lets orjson write it (when it is installed, the
    file is large, and it holds no NaN or Infinity): only for reducers that add none."""
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = filelock.FileLock(f"{target}.lock", timeout=lock_timeout_s)
        lock.acquire()
    except filelock.Timeout:
        return UpdateResult(
            UpdateStatus.LOCK_TIMEOUT,
            f"config lock still held by another process after {lock_timeout_s:g}s",
        )
    except OSError as exc:
        return UpdateResult(
            UpdateStatus.WRITE_FAILED, f"cannot lock config: {describe_os_error(exc)}"
        )
    try:
        return _update_locked(target, reducer, fast_json)
    finally:
        lock.release()


def _update_locked(target: Path, reducer: Reducer, fast_json: bool) -> UpdateResult:
    loaded = read_regular_file(target)
    if isinstance(loaded, Failure):
        return UpdateResult(UpdateStatus.UNREADABLE, f"{loaded.failure()}; left untouched")
    found = loaded.unwrap()
    before, raw = found if found is not None else (None, b"")
    read = parse_config(raw)
    if isinstance(read, Failure):
        return UpdateResult(UpdateStatus.UNREADABLE, f"{read.failure()}; left untouched")
    prev = read.unwrap()
    nxt = reducer(prev)
    if nxt is prev:
        return UpdateResult(UpdateStatus.UNCHANGED)
    try:
        data = serialize_config(nxt, fast=fast_json and fast_json_safe(raw))
    except (TypeError, ValueError, RecursionError) as exc:
        detail = f"config cannot be written as JSON ({type(exc).__name__}); left untouched"
        return UpdateResult(UpdateStatus.WRITE_FAILED, detail)
    return _replace_file(target, data, before)


def _is_read_only(st: os.stat_result, target: Path) -> bool:
    return stat.S_IMODE(st.st_mode) & 0o222 == 0 or not os.access(target, os.W_OK)


def _replace_file(target: Path, data: bytes, before: os.stat_result | None) -> UpdateResult:
    """Write `data` over `target` atomically and durably; the old file survives any failure."""
    if before is not None and _is_read_only(before, target):
        return UpdateResult(UpdateStatus.WRITE_FAILED, "config is read-only; left untouched")
    folder = target.parent
    _sweep_orphans(target)
    import tempfile  # noqa: PLC0415

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        return UpdateResult(
            UpdateStatus.WRITE_FAILED, f"cannot create temp file: {describe_os_error(exc)}"
        )
    try:
        try:
            os.fchmod(fd, _NEW_FILE_MODE if before is None else stat.S_IMODE(before.st_mode))
            if before is not None and before.st_uid != os.geteuid():
                with contextlib.suppress(OSError):  # only root may give a file away
                    os.fchown(fd, before.st_uid, before.st_gid)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException as exc:  # even an interrupt must not leave the temp file behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if not isinstance(exc, OSError):
            raise
        return UpdateResult(
            UpdateStatus.WRITE_FAILED, f"config not written: {describe_os_error(exc)}"
        )
    _fsync_folder(folder)
    return UpdateResult(UpdateStatus.WRITTEN)


def _sweep_orphans(target: Path) -> None:
    """Remove temp files that a writer killed mid-write left behind.

    Only a writer holding the lock ever has a temp file of this config open, and we hold
    the lock, so every file named like ours (``.<name>.<8 random chars>.tmp``; never a
    name that another config's temp files could have) is an orphan.
    """
    pattern = re.compile(rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}\.tmp")
    try:
        with os.scandir(target.parent) as entries:
            orphans = [e.path for e in entries if pattern.fullmatch(e.name)]
    except OSError:
        return
    for orphan in orphans:
        with contextlib.suppress(OSError):
            os.unlink(orphan)
            logger().info("removed a temp file left by an interrupted write: %s", orphan)


def _fsync_folder(folder: Path) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError as exc:  # some filesystems cannot fsync a directory
        logger().debug("folder fsync skipped: %s", describe_os_error(exc))
    finally:
        os.close(dir_fd)
