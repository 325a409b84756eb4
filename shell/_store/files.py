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
* The hot `read` may trust a signature checked less than `check_s` ago without a `stat`
  (`Settings.file_check_s`, 0.25 s by default): another process's change is then seen
  within that time, this process's own writes at once. `read_checked`, which the write
  paths use, always looks.
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
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final, TypeAlias

from returns.result import Failure, Result, Success

from .._memo import Memo, memo
from .._places import default_cache_dir
from .jsonio import (
    not_regular,
    parse_config,
    read_all,
    read_regular_file,
    with_regular_file,
)
from .keyscache import kept_raw_values
from .toplevel import parsed

if TYPE_CHECKING:
    from pathlib import Path

    from .port import Config, LeaseStatus, Reducer, StoreError, UpdateResult

__all__ = [
    "FileStore",
    "forget_file",
    "keys_read",
    "read_json_cached",
    "read_keys_cached",
]

_SNAPSHOT_LIMIT: Final = 64


class _Snapshot:
    """One reading of a file: the stat signature it was read under (None: no file), what
    it holds, and when (monotonic seconds) the signature was last checked."""

    __slots__ = ("checked", "config", "raw", "result", "signature")

    def __init__(
        self,
        signature: tuple[int, ...] | None,
        result: Result[Config, str],
        config: Config,
        checked: float = 0.0,
        raw: dict[str, bytes] | None = None,
    ) -> None:
        self.signature = signature
        self.result = result
        self.config = config  # the result's config, or {} when it is unusable
        self.checked = checked
        self.raw = raw  # the scanned values' bytes, when only some keys were read


_EMPTY: Final[Result[Config, str]] = Success({})
_snapshots: Memo[tuple[str, tuple[str, ...] | None], _Snapshot] = memo(
    "parsed config file by path", _SNAPSHOT_LIMIT
)


def _signature(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode)


def _unreadable(reason: str) -> _Snapshot:
    return _Snapshot(None, Failure(reason), {})


def _snapshot(
    path: str,
    keys: tuple[str, ...] | None,
    max_age_s: float,
    env: Mapping[str, str] | None = None,
) -> _Snapshot:
    """What the file holds (all of it, or only top-level `keys`), read again only when its
    stat signature changed. With `max_age_s`, a signature checked less than that long ago
    is trusted without a `stat`: the hot path is then one clock reading and a dictionary
    lookup. Only a regular file is ever opened."""
    memo_key = (path, keys)
    cached = _snapshots.get(memo_key)
    now = time.monotonic()
    if cached is not None and now - cached.checked < max_age_s:
        return cached
    try:
        current = os.stat(path)
    except FileNotFoundError:
        return _snapshots.put(memo_key, _Snapshot(None, _EMPTY, {}, now))
    except OSError as exc:
        return _unreadable(f"config cannot be read: {exc.strerror or type(exc).__name__}")
    if cached is not None and cached.signature == _signature(current):
        cached.checked = now
        return cached
    reason = not_regular(current.st_mode)
    if reason is not None:
        return _unreadable(reason)
    if keys is None:
        loaded = _load_whole(path)
    else:
        memory = default_cache_dir(env) if env else None  # only now: a read is made
        loaded = with_regular_file(path, _KeysOf(path, keys, memory))
    match loaded:
        case Success(None):
            return _snapshots.put(memo_key, _Snapshot(None, _EMPTY, {}, now))
        case Success((st, result, raw)):
            snapshot = _Snapshot(_signature(st), result, result.value_or({}), now, raw)
        case failure:
            return _unreadable(failure.failure())
    return _snapshots.put(memo_key, snapshot)


Loaded: TypeAlias = "tuple[os.stat_result, Result[Config, str], dict[str, bytes] | None]"


def _load_whole(path: str) -> Result[Loaded | None, str]:
    return read_regular_file(path).map(
        lambda found: None if found is None else (found[0], parse_config(found[1]), None)
    )


class _KeysOf:
    """Reads only some top-level keys of an open file (see `read_keys_cached`)."""

    __slots__ = ("keys", "memory", "path")

    def __init__(self, path: str, keys: tuple[str, ...], memory: str | None) -> None:
        self.path, self.keys, self.memory = path, keys, memory

    def __call__(self, fd: int, st: os.stat_result) -> Loaded:
        raw = kept_raw_values(self.memory, self.path, fd, st, self.keys)
        values = None if raw is None else parsed(raw)
        if values is not None:
            return st, Success(values), raw
        whole = parse_config(read_all(fd, st))
        keys = self.keys
        return st, whole.map(lambda config: {k: config[k] for k in keys if k in config}), None


def read_json_cached(path: str | os.PathLike[str], max_age_s: float = 0.0) -> Result[Config, str]:
    """Lock-free read of a JSON object file, reusing the parse while its stat is unchanged
    (and, with `max_age_s`, trusting a stat that recent). A missing file is ``{}``. The
    returned mapping is shared: never mutate it."""
    return _snapshot(os.fspath(path), None, max_age_s).result


def read_keys_cached(
    path: str | os.PathLike[str],
    keys: tuple[str, ...],
    max_age_s: float = 0.0,
    env: Mapping[str, str] | None = None,
) -> Result[Config, str]:
    """`read_json_cached`, for a large file of which only some top-level `keys` are used:
    the mapping holds just those keys, read without parsing the rest of the file when it
    is in Claude Code's indented layout (see `toplevel`), else by parsing it whole. With
    `env`, what a search found is kept in our cache folder of that environment's HOME for
    the next process (`keyscache`)."""
    return _snapshot(os.fspath(path), keys, max_age_s, env).result


def keys_read(
    path: str | os.PathLike[str], keys: tuple[str, ...]
) -> tuple[tuple[int, ...], dict[str, bytes]] | None:
    """The stat signature and the values' bytes of the last reading of `keys` of `path`
    that scanned the file (no I/O); None when there is none."""
    snapshot = _snapshots.get((os.fspath(path), keys))
    if snapshot is None or snapshot.raw is None or snapshot.signature is None:
        return None
    return snapshot.signature, snapshot.raw


def forget_file(path: str | os.PathLike[str]) -> None:
    """Forget what was read of `path` (this process just wrote it)."""
    _snapshots.discard((os.fspath(path), None))


class FileStore:
    """The JSON file store (see the module docstring for its rules)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        lock_timeout_s: float = 10.0,
        fast_json: bool = False,
        check_s: float = 0.0,
    ) -> None:
        self.path = path
        self.lock_timeout_s = lock_timeout_s
        self.fast_json = fast_json
        self.check_s = check_s
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

    def now_ms(self) -> int:
        """This machine's wall clock: every process sharing the file shares it."""
        return time.time_ns() // 1_000_000

    def _target(self) -> Path:
        from pathlib import Path  # noqa: PLC0415  (the write side only)

        return Path(os.path.realpath(self._name))  # resolved afresh for every write

    def read_checked(
        self, org_id: str | None = None, sections: Sequence[str] = ()
    ) -> Result[Config, StoreError]:
        """Always looks at the file (one `stat`; a parse only when it changed)."""
        from .port import StoreError, StoreErrorKind  # noqa: PLC0415

        return _snapshot(self._name, None, 0.0).result.alt(
            lambda reason: StoreError(StoreErrorKind.UNREADABLE, reason)
        )

    def read(self, org_id: str | None = None, sections: Sequence[str] = ()) -> Config:
        """The hot read: trusts a `stat` made less than `check_s` ago (0: every time)."""
        return _snapshot(self._name, None, self.check_s).config

    # -- exclusive update and lease: in `filewrite` / `lease`, loaded by the first writer

    def update(
        self, reducer: Reducer, org_id: str | None = None, sections: Sequence[str] = ()
    ) -> UpdateResult:
        from .filewrite import update_file  # noqa: PLC0415  (readers never pay for it)

        try:
            return update_file(
                self._target(), reducer, self.lock_timeout_s, fast_json=self.fast_json
            )
        finally:
            forget_file(self._name)  # this process's next read looks at the file again

    def lease(
        self, org_id: str, section: str = ""
    ) -> contextlib.AbstractContextManager[LeaseStatus]:
        from .lease import lease_range  # noqa: PLC0415

        return lease_range(f"{self._target()}.lease", f"{section}\0{org_id.lower()}")
