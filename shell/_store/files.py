"""The JSON file store that many processes share (an adapter of the port in `port`).

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
* Only a regular file of at most `MAX_CONFIG_BYTES` is ever opened, and never in a way
  that can block: a FIFO, socket, device or directory at the path is `unreadable`.
* Fetch leases are byte-range locks in one file, ``<config>.lease`` (see `lease`), so
  at most three files ever sit beside the config (``.lock``, ``.lease``, and a temp
  file during a write), whatever the number of organizations and lookups.

The write side (`update`) lives in `filewrite` and the lease in `lease`, loaded by the
first writer, so a process that only reads never imports `filelock` or `tempfile`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from returns.result import Failure, Result, Success

from .._memo import Memo, memo
from .jsonio import not_regular, parse_config, read_regular_file

if TYPE_CHECKING:
    from pathlib import Path

    from .port import Config, LeaseStatus, Reducer, StoreError, UpdateResult

__all__ = ["FileStore", "read_json_cached"]

_SNAPSHOT_LIMIT: Final = 64


class _Snapshot:
    """One parse of the file and the stat signature it was read under (None: no file)."""

    __slots__ = ("config", "result", "signature")

    def __init__(
        self,
        signature: tuple[int, int, int, int] | None,
        result: Result[Config, str],
        config: Config,
    ) -> None:
        self.signature = signature
        self.result = result
        self.config = config  # the result's config, or {} when it is unusable


_MISSING: Final = _Snapshot(None, Success({}), {})
_snapshots: Memo[str, _Snapshot] = memo("parsed config file by path", _SNAPSHOT_LIMIT)


def _signature(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _unreadable(reason: str) -> _Snapshot:
    return _Snapshot(None, Failure(reason), {})


def _snapshot(key: str) -> _Snapshot:
    """The file's parse, reused while its stat signature is unchanged. The hot path:
    one `stat` and a tuple comparison. Only a regular file is ever opened."""
    try:
        current = os.stat(key)
    except FileNotFoundError:
        return _MISSING
    except OSError as exc:
        return _unreadable(f"config cannot be read: {exc.strerror or type(exc).__name__}")
    cached = _snapshots.get(key)
    if cached is not None and cached.signature == _signature(current):
        return cached
    reason = not_regular(current.st_mode)
    if reason is not None:
        return _unreadable(reason)
    match read_regular_file(key):
        case Success(None):
            return _MISSING
        case Success((st, data)):
            result = parse_config(data)
            snapshot = _Snapshot(_signature(st), result, result.value_or({}))
        case failure:
            return _unreadable(failure.failure())
    return _snapshots.put(key, snapshot)


def read_json_cached(path: str | os.PathLike[str]) -> Result[Config, str]:
    """Lock-free read of a JSON object file, reusing the parse while its stat is unchanged.

    A missing file is ``{}``. The returned mapping is shared: never mutate it.
    """
    return _snapshot(os.fspath(path)).result


class FileStore:
    """The JSON file store (see the module docstring for its rules)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        lock_timeout_s: float = 10.0,
        fast_json: bool = False,
    ) -> None:
        self.path = path
        self.lock_timeout_s = lock_timeout_s
        self.fast_json = fast_json
        self._name = os.fspath(path)
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
        from pathlib import Path  # noqa: PLC0415  (the write side only)

        return Path(os.path.realpath(self._name))  # resolved afresh for every write

    def read_checked(
        self, org_id: str | None = None, sections: Sequence[str] = ()
    ) -> Result[Config, StoreError]:
        from .port import StoreError, StoreErrorKind  # noqa: PLC0415

        return _snapshot(self._name).result.alt(
            lambda reason: StoreError(StoreErrorKind.UNREADABLE, reason)
        )

    def read(self, org_id: str | None = None, sections: Sequence[str] = ()) -> Config:
        return _snapshot(self._name).config

    # -- exclusive update and lease: in `filewrite` / `lease`, loaded by the first writer

    def update(
        self, reducer: Reducer, org_id: str | None = None, sections: Sequence[str] = ()
    ) -> UpdateResult:
        from .filewrite import update_file  # noqa: PLC0415  (readers never pay for it)

        return update_file(self._target(), reducer, self.lock_timeout_s, fast_json=self.fast_json)

    def lease(
        self, org_id: str, section: str = ""
    ) -> contextlib.AbstractContextManager[LeaseStatus]:
        from .lease import lease_range  # noqa: PLC0415

        return lease_range(f"{self._target()}.lease", f"{section}\0{org_id.lower()}")
