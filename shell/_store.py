"""The store port, and the JSON file store that many processes share.

Theory of operation
-------------------
A store holds one JSON object (the config). It offers a lock-free `read()`, an
exclusive `update(reducer)` and a per-organization `lease()` for fetches.

The file store's rules, each one there because configs have been lost without it:

* Reads take no lock. They reuse the parsed config while the file's stat signature
  (device, inode, size, mtime_ns) is unchanged. Every writer of ours replaces the file
  (a new inode), so a changed file is always seen. A foreign program rewriting the file
  *in place* with the same size within one mtime tick could be missed until the next
  change; updates never trust this cache.
* `update` takes ``<config>.lock`` (filelock, bounded wait), re-reads the file from
  disk under the lock, runs the reducer, and writes only if the reducer returned a
  different object. A write goes to a temp file in the same folder, is fsynced,
  `os.replace`d over the config, and the folder is fsynced. A failed write removes
  its temp file and leaves the old config exactly as it was.
* A config that exists but is not a JSON object is never written: reads see ``{}``,
  updates refuse. An empty or whitespace-only file holds nothing and counts as ``{}``.
* A new file is mode 0600; an existing file keeps its mode (and owner, when we may);
  a read-only file is refused; a symlinked config stays a symlink (its target is
  written, and locked).
* A writer killed mid-write leaves only a temp file (``.<name>.<random>.tmp``), never
  a partial config; the next write, under the lock, removes such orphans.

`filelock` is imported only by `update` and `lease`, so a process that only reads
never loads it.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import os
import re
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from returns.result import Failure, Result, Success

__all__ = [
    "FileStore",
    "LeaseStatus",
    "Reducer",
    "Store",
    "StoreError",
    "StoreErrorKind",
    "UpdateResult",
    "UpdateStatus",
    "parse_config",
    "read_json_cached",
    "serialize_config",
]

Config = Mapping[str, object]
Reducer = Callable[[Config], Config]

_log = logging.getLogger("overage_credit_grant")
_SNAPSHOT_LIMIT: Final = 64
_NEW_FILE_MODE: Final = 0o600


class UpdateStatus(enum.Enum):
    WRITTEN = "written"
    UNCHANGED = "unchanged"
    LOCK_TIMEOUT = "lock_timeout"
    UNREADABLE = "unreadable"
    WRITE_FAILED = "write_failed"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class UpdateResult:
    status: UpdateStatus
    detail: str = ""


class LeaseStatus(enum.Enum):
    ACQUIRED = "acquired"
    BUSY = "busy"
    FAILED = "failed"  # the lease could not be created (an unwritable folder, say)
    UNAVAILABLE = "unavailable"  # the store could not be reached


class StoreErrorKind(enum.Enum):
    UNREADABLE = "unreadable"  # it answered, but what it holds must not be used or written
    UNAVAILABLE = "unavailable"  # it did not answer (a shared store that is down)


@dataclass(frozen=True, slots=True)
class StoreError:
    kind: StoreErrorKind
    detail: str

    def __str__(self) -> str:
        return self.detail


class Store(Protocol):
    """The port: what the service needs from wherever the config lives.

    `org_id` scopes a read or an update to one organization's entry. The file store
    ignores it (the whole file is one config); a store that keeps one record per
    organization (Redis) reads and writes only that record, and lists all of them for
    an unscoped read.
    """

    @property
    def key(self) -> str:
        """A stable identity (for in-process single-flight and backoff)."""
        ...

    @property
    def location(self) -> str:
        """Where the data lives, for people (no secrets)."""
        ...

    def read_checked(self, org_id: str | None = None) -> Result[Config, StoreError]:
        """Lock-free read: the config, or why it cannot be used."""
        ...

    def read(self, org_id: str | None = None) -> Config:
        """Lock-free read; an unusable config reads as empty."""
        ...

    def update(self, reducer: Reducer, org_id: str | None = None) -> UpdateResult:
        """Exclusive re-read, reduce, and write only if the reducer returned a new object."""
        ...

    def lease(self, org_id: str) -> contextlib.AbstractContextManager[LeaseStatus]:
        """A non-blocking lease on fetching `org_id`: BUSY when another caller holds it."""
        ...


def parse_config(data: bytes) -> Result[Config, str]:
    """Bytes of a config file to a JSON object; blank counts as ``{}``."""
    if not data.strip():
        return Success({})
    try:
        parsed = json.loads(data)
    except UnicodeDecodeError:
        return Failure("config is not UTF-8 text")
    except ValueError as exc:
        detail = (
            f" ({exc.msg} at line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        )
        return Failure(f"config is not valid JSON{detail}")
    except RecursionError:
        return Failure("config is nested too deeply to read")
    if not isinstance(parsed, dict):
        return Failure(f"config is not a JSON object (it holds a {type(parsed).__name__})")
    return Success(parsed)


def serialize_config(config: Config) -> bytes:
    """The bytes written for a config: two-space JSON, UTF-8, a final newline."""
    try:
        text = json.dumps(config, indent=2, ensure_ascii=False)
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: escape them so the file stays UTF-8
        return (json.dumps(config, indent=2, ensure_ascii=True) + "\n").encode("ascii")


@dataclass(frozen=True, slots=True)
class _Snapshot:
    signature: tuple[int, int, int, int] | None  # None: the file does not exist
    result: Result[Config, str]
    config: Config  # the result's config, or {} when it is unusable


_MISSING: Final = _Snapshot(None, Success({}), {})
_snapshots: dict[str, _Snapshot] = {}
_snapshots_lock = threading.Lock()


def _signature(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _describe(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _unreadable(reason: str) -> _Snapshot:
    return _Snapshot(None, Failure(reason), {})


def _snapshot(key: str) -> _Snapshot:
    """The file's parse, reused while its stat signature is unchanged. The hot path:
    one `stat` and a tuple comparison."""
    try:
        current = os.stat(key)
    except FileNotFoundError:
        return _MISSING
    except OSError as exc:
        return _unreadable(f"config cannot be read: {_describe(exc)}")
    cached = _snapshots.get(key)
    if cached is not None and cached.signature == _signature(current):
        return cached
    try:
        with open(key, "rb") as handle:
            signature = _signature(os.fstat(handle.fileno()))
            result = parse_config(handle.read())
    except FileNotFoundError:
        return _MISSING
    except IsADirectoryError:
        return _unreadable("config path is a directory")
    except OSError as exc:
        return _unreadable(f"config cannot be read: {_describe(exc)}")
    snapshot = _Snapshot(signature, result, result.value_or({}))
    with _snapshots_lock:
        if key not in _snapshots and len(_snapshots) >= _SNAPSHOT_LIMIT:
            _snapshots.pop(next(iter(_snapshots)))
        _snapshots[key] = snapshot
    return snapshot


def read_json_cached(path: Path | str) -> Result[Config, str]:
    """Lock-free read of a JSON object file, reusing the parse while its stat is unchanged.

    A missing file is ``{}``. The returned mapping is shared: never mutate it.
    """
    return _snapshot(os.fspath(path)).result


class FileStore:
    """The JSON file store (see the module docstring for its rules)."""

    def __init__(self, path: Path | str, *, lock_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s
        self._name = os.fspath(self.path)
        self._key: str | None = None

    def __repr__(self) -> str:
        return f"FileStore({self._name!r})"

    @property
    def key(self) -> str:
        """The resolved path, taken once per store object."""
        if self._key is None:
            self._key = os.path.realpath(self._name)
        return self._key

    @property
    def location(self) -> str:
        return self._name

    def _target(self) -> Path:
        return Path(os.path.realpath(self._name))  # resolved afresh for every write

    def read_checked(self, org_id: str | None = None) -> Result[Config, StoreError]:
        return _snapshot(self._name).result.alt(
            lambda reason: StoreError(StoreErrorKind.UNREADABLE, reason)
        )

    def read(self, org_id: str | None = None) -> Config:
        return _snapshot(self._name).config

    # -- exclusive update ---------------------------------------------------------------

    def update(self, reducer: Reducer, org_id: str | None = None) -> UpdateResult:
        import filelock  # noqa: PLC0415  (readers never pay for it)

        target = self._target()
        try:
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            lock = filelock.FileLock(f"{target}.lock", timeout=self.lock_timeout_s)
            lock.acquire()
        except filelock.Timeout:
            return UpdateResult(
                UpdateStatus.LOCK_TIMEOUT,
                f"config lock still held by another process after {self.lock_timeout_s:g}s",
            )
        except OSError as exc:
            return UpdateResult(UpdateStatus.WRITE_FAILED, f"cannot lock config: {_describe(exc)}")
        try:
            return self._update_locked(target, reducer)
        finally:
            lock.release()

    def _update_locked(self, target: Path, reducer: Reducer) -> UpdateResult:
        try:
            with open(target, "rb") as handle:
                before: os.stat_result | None = os.fstat(handle.fileno())
                read = parse_config(handle.read())
        except FileNotFoundError:
            before, read = None, Success({})
        except IsADirectoryError:
            return UpdateResult(UpdateStatus.UNREADABLE, "config path is a directory")
        except OSError as exc:
            return UpdateResult(UpdateStatus.UNREADABLE, f"config cannot be read: {_describe(exc)}")
        match read:
            case Success(prev):
                pass
            case _:
                return UpdateResult(UpdateStatus.UNREADABLE, read.failure() + "; left untouched")
        nxt = reducer(prev)
        if nxt is prev:
            return UpdateResult(UpdateStatus.UNCHANGED)
        try:
            data = serialize_config(nxt)
        except (TypeError, ValueError, RecursionError) as exc:
            detail = f"config cannot be written as JSON ({type(exc).__name__}); left untouched"
            return UpdateResult(UpdateStatus.WRITE_FAILED, detail)
        return _replace_file(target, data, before)

    # -- fetch lease --------------------------------------------------------------------

    @contextlib.contextmanager
    def lease(self, org_id: str) -> Iterator[LeaseStatus]:
        import filelock  # noqa: PLC0415

        target = self._target()
        try:
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            lock = filelock.FileLock(f"{target}.lease-{org_id.lower()}", timeout=0)
            lock.acquire()
        except filelock.Timeout:
            yield LeaseStatus.BUSY
            return
        except OSError as exc:
            _log.warning("cannot take the refresh lease: %s", _describe(exc))
            yield LeaseStatus.FAILED
            return
        try:
            yield LeaseStatus.ACQUIRED
        finally:
            lock.release()


def _is_read_only(st: os.stat_result, target: Path) -> bool:
    return stat.S_IMODE(st.st_mode) & 0o222 == 0 or not os.access(target, os.W_OK)


def _replace_file(target: Path, data: bytes, before: os.stat_result | None) -> UpdateResult:
    """Write `data` over `target` atomically and durably; the old file survives any failure."""
    if before is not None and _is_read_only(before, target):
        return UpdateResult(UpdateStatus.WRITE_FAILED, "config is read-only; left untouched")
    folder = target.parent
    _sweep_orphans(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        return UpdateResult(UpdateStatus.WRITE_FAILED, f"cannot create temp file: {_describe(exc)}")
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
        return UpdateResult(UpdateStatus.WRITE_FAILED, f"config not written: {_describe(exc)}")
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
            _log.info("removed a temp file left by an interrupted write: %s", orphan)


def _fsync_folder(folder: Path) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError as exc:  # some filesystems cannot fsync a directory
        _log.debug("folder fsync skipped: %s", _describe(exc))
    finally:
        os.close(dir_fd)
