"""The JSON file store that many processes share (an adapter of the port in `_port`).

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

The write side (`update`, `lease`) lives in `_filewrite`, loaded by the first writer,
so a process that only reads never imports `filelock` or `tempfile`.
"""

from __future__ import annotations

import _thread
import contextlib
import importlib
import json
import os
from typing import TYPE_CHECKING, Any, Final

from returns.result import Failure, Result, Success

if TYPE_CHECKING:
    from pathlib import Path

    from ._port import Config, LeaseStatus, Reducer, StoreError, UpdateResult

__all__ = [
    "FileStore",
    "describe_os_error",
    "fast_json_safe",
    "parse_config",
    "read_json_cached",
    "serialize_config",
]

_SNAPSHOT_LIMIT: Final = 64
_FAST_JSON_FROM: Final = 64 * 1024  # below this, orjson's import costs more than it saves
_orjson_module: list[Any] = []


def _orjson() -> Any:
    """The optional `orjson` module (the ``fast`` extra), or None; imported once, lazily."""
    if not _orjson_module:
        try:
            _orjson_module.append(importlib.import_module("orjson"))
        except ImportError:
            _orjson_module.append(None)
    return _orjson_module[0]


def _loads(data: bytes) -> object:
    fast = _orjson() if len(data) >= _FAST_JSON_FROM else None
    if fast is not None:
        try:
            return fast.loads(data)
        except fast.JSONDecodeError:
            pass  # NaN, integers past 64 bits, UTF-16...: the standard library decides
    return json.loads(data)


def fast_json_safe(data: bytes) -> bool:
    """Whether a config read as `data` may be written by orjson without a change of meaning:
    large enough to gain, and holding no NaN or Infinity (which orjson would write as null)."""
    return len(data) >= _FAST_JSON_FROM and b"NaN" not in data and b"Infinity" not in data


def parse_config(data: bytes) -> Result[Config, str]:
    """Bytes of a config file to a JSON object; blank counts as ``{}``."""
    if not data.strip():
        return Success({})
    try:
        parsed = _loads(data)
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


def serialize_config(config: Config, *, fast: bool = False) -> bytes:
    """The bytes written for a config: two-space JSON, UTF-8, a final newline.

    With `fast` (only for configs free of NaN and Infinity: see `fast_json_safe`) and
    orjson installed, orjson writes the same JSON values about 30 times faster; anything
    it refuses (integers past 64 bits, lone surrogates, odd keys) falls back here.
    """
    lib = _orjson() if fast else None
    if lib is not None:
        try:
            return bytes(lib.dumps(config, option=lib.OPT_INDENT_2)) + b"\n"
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            pass
    try:
        text = json.dumps(config, indent=2, ensure_ascii=False)
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: escape them so the file stays UTF-8
        return (json.dumps(config, indent=2, ensure_ascii=True) + "\n").encode("ascii")


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
_snapshots: dict[str, _Snapshot] = {}
_snapshots_lock = _thread.allocate_lock()


def _signature(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def describe_os_error(exc: OSError) -> str:
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
        return _unreadable(f"config cannot be read: {describe_os_error(exc)}")
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
        return _unreadable(f"config cannot be read: {describe_os_error(exc)}")
    snapshot = _Snapshot(signature, result, result.value_or({}))
    with _snapshots_lock:
        if key not in _snapshots and len(_snapshots) >= _SNAPSHOT_LIMIT:
            _snapshots.pop(next(iter(_snapshots)))
        _snapshots[key] = snapshot
    return snapshot


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

    def read_checked(self, org_id: str | None = None) -> Result[Config, StoreError]:
        from ._port import StoreError, StoreErrorKind  # noqa: PLC0415

        return _snapshot(self._name).result.alt(
            lambda reason: StoreError(StoreErrorKind.UNREADABLE, reason)
        )

    def read(self, org_id: str | None = None) -> Config:
        return _snapshot(self._name).config

    # -- exclusive update and lease: in `_filewrite`, loaded by the first writer -------

    def update(self, reducer: Reducer, org_id: str | None = None) -> UpdateResult:
        from ._filewrite import update_file  # noqa: PLC0415  (readers never pay for it)

        return update_file(self._target(), reducer, self.lock_timeout_s, fast_json=self.fast_json)

    def lease(self, org_id: str) -> contextlib.AbstractContextManager[LeaseStatus]:
        from ._filewrite import lease_file  # noqa: PLC0415

        return lease_file(self._target(), org_id)
