"""Reading a lookup's cached value, and choosing the store: the hot path of every app.

Theory of operation
-------------------
Reads are lock-free and never touch the network. A read of an unchanged file config is
one `stat` and a few dictionary lookups: the file store object, its parse, the decoded
entry, the org id's validity and the protected-path answer are all remembered. The
write side (`_refresh`) is loaded on first use, so a process that only reads never pays
for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, TypeVar

from overage_credit_grant.core import CacheEntry, PerOrgCache

from ._settings import Settings, StrPath, is_protected_path
from ._store import FileStore

if TYPE_CHECKING:
    from ._port import Store

__all__ = ["PROTECTED", "cached_entry", "config_is_protected", "store_for"]

T = TypeVar("T")

_MEMO_LIMIT: Final = 256

PROTECTED: Final = "config path is one of Claude Code's own files; it is never written"

_file_stores: dict[tuple[StrPath, float], FileStore] = {}
_protected: dict[tuple[StrPath, tuple[StrPath, ...]], bool] = {}


def store_for(settings: Settings) -> Store:
    """The store `settings` names: its own `store`, a Redis store for `redis_url`, else the
    JSON file at `config_path` (one store object per path, reused)."""
    if settings.store is not None:
        return settings.store
    if settings.redis_url:
        from ._redis import shared_redis_store  # noqa: PLC0415  (only fleets pay for redis)

        return shared_redis_store(settings.redis_url, timeout_s=settings.store_timeout_s)
    key = (settings.config_path, settings.lock_timeout_s)
    store = _file_stores.get(key)
    if store is None:
        if len(_file_stores) >= _MEMO_LIMIT:
            _file_stores.clear()
        # Our reducers add no NaN or Infinity, so orjson (if installed) may write.
        store = _file_stores[key] = FileStore(
            settings.config_path, lock_timeout_s=settings.lock_timeout_s, fast_json=True
        )
    return store


def config_is_protected(settings: Settings, *, remembered: bool = False) -> bool:
    """Whether the config path is one of Claude Code's files. Writers resolve the path
    afresh every time; the lock-free read (which can only read) may reuse the answer."""
    if settings.store is not None or settings.redis_url:
        return False
    key = (settings.config_path, settings.protected_paths)
    if remembered and key in _protected:
        return _protected[key]
    answer = is_protected_path(settings.config_path, settings.protected_paths)
    if len(_protected) >= _MEMO_LIMIT:
        _protected.clear()
    _protected[key] = answer
    return answer


_entry_memo: dict[tuple[str, str, str], tuple[Mapping[str, object], CacheEntry[object] | None]] = {}


def cached_entry(store: Store, cache: PerOrgCache[T], org: str) -> CacheEntry[T] | None:
    """The org's decoded entry (fresh or not), decoded once per config object the store
    hands out."""
    config = store.read(org, (cache.key,))
    key = (store.key, cache.key, org)
    memo = _entry_memo.get(key)
    if memo is not None and memo[0] is config:
        return memo[1]  # type: ignore[return-value]
    entry = cache.entry(config, org).value_or(None)
    if len(_entry_memo) >= _MEMO_LIMIT:
        _entry_memo.clear()
    _entry_memo[key] = (config, entry)  # type: ignore[assignment]
    return entry
