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

import _thread
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Generic, TypeVar

from overage_credit_grant.core import CacheEntry, PerOrgCache, is_fresh
from overage_credit_grant.core._record import Record

from ._settings import Settings, StrPath, is_protected_path, valid_organization
from ._store import FileStore, read_json_cached

if TYPE_CHECKING:
    from ._port import Store
    from ._redis import RedisStore

__all__ = [
    "PROTECTED",
    "Found",
    "cached_entry",
    "claude_code_entry",
    "close_shared_redis_stores",
    "config_is_protected",
    "find_fresh",
    "fresh_entry",
    "shared_redis_store",
    "store_for",
]

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
        return shared_redis_store(
            settings.redis_url,
            timeout_s=settings.store_timeout_s,
            near_cache=settings.redis_near_cache,
        )
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


_shared: dict[tuple[str, float, bool], RedisStore] = {}
_shared_lock = _thread.allocate_lock()


def close_shared_redis_stores() -> None:
    """Close every store `shared_redis_store` made (their near caches' listeners too)."""
    with _shared_lock:
        stores = list(_shared.values())
        _shared.clear()
    for store in stores:
        store.close()


def shared_redis_store(url: str, *, timeout_s: float = 1.0, near_cache: bool = True) -> RedisStore:
    """One store (connection pool, near cache) per URL and options, for the whole process."""
    with _shared_lock:
        key = (url, timeout_s, near_cache)
        store = _shared.get(key)
        if store is None:
            from ._redis import RedisStore  # noqa: PLC0415  (only fleets pay for redis)

            store = _shared[key] = RedisStore.from_url(
                url, timeout_s=timeout_s, near_cache=near_cache
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


def _decoded(
    where: str, config: Mapping[str, object], cache: PerOrgCache[T], org: str
) -> CacheEntry[T] | None:
    """The org's decoded entry (fresh or not) in `config`, decoded once per config object."""
    key = (where, cache.key, org)
    memo = _entry_memo.get(key)
    if memo is not None and memo[0] is config:
        return memo[1]  # type: ignore[return-value]
    entry = cache.entry(config, org).value_or(None)
    if len(_entry_memo) >= _MEMO_LIMIT:
        _entry_memo.clear()
    _entry_memo[key] = (config, entry)  # type: ignore[assignment]
    return entry


def cached_entry(store: Store, cache: PerOrgCache[T], org: str) -> CacheEntry[T] | None:
    """The org's entry in our store (fresh or not), decoded once per config it hands out."""
    return _decoded(store.key, store.read(org, (cache.key,)), cache, org)


def claude_code_entry(settings: Settings, cache: PerOrgCache[T], org: str) -> CacheEntry[T] | None:
    """The org's entry in Claude Code's global config, under the same key and decoded by
    the same strict rules; None when there is none. The file is only ever read (never
    locked, never written); its parse is reused while its stat signature is unchanged."""
    path = settings.claude_config_path
    if path is None:
        return None
    config = read_json_cached(path).value_or({})
    return _decoded("claude-code:" + os.fspath(path), config, cache, org)


class Found(Record, Generic[T]):
    """A fresh value and where it was read: ``"cache"`` (our store) or ``"claude_code"``
    (Claude Code's global config, read-only); `location` is that store or file."""

    value: T
    timestamp_ms: int
    source: str
    location: str


def fresh_entry(
    cache: PerOrgCache[T], claude_code: bool, s: Settings
) -> tuple[CacheEntry[T], bool] | None:
    """The newest fresh entry of the current org, and whether it is Claude Code's; None
    when neither our store nor (with `claude_code`) Claude Code's config holds one."""
    org = valid_organization(s)
    if org is None or config_is_protected(s, remembered=True):
        return None
    return newest_fresh(cache, claude_code, s, org, cached_entry(store_for(s), cache, org))


def newest_fresh(
    cache: PerOrgCache[T],
    claude_code: bool,
    s: Settings,
    org: str,
    ours: CacheEntry[T] | None,
) -> tuple[CacheEntry[T], bool] | None:
    """Of `ours` (our store's entry of `org`, already read) and, with `claude_code`,
    Claude Code's, the newest fresh one and whether it is Claude Code's."""
    now, ttl = s.clock(), cache.ttl_ms
    if ours is not None and not is_fresh(ours.timestamp_ms, now, ttl):
        ours = None
    if claude_code:
        theirs = claude_code_entry(s, cache, org)
        if (
            theirs is not None
            and is_fresh(theirs.timestamp_ms, now, ttl)
            and (ours is None or theirs.timestamp_ms > ours.timestamp_ms)
        ):
            return theirs, True
    return None if ours is None else (ours, False)


def find_fresh(cache: PerOrgCache[T], claude_code: bool, s: Settings) -> Found[T] | None:
    """`fresh_entry` with its source spelled out, for people (show, status)."""
    found = fresh_entry(cache, claude_code, s)
    if found is None:
        return None
    entry, theirs = found
    if theirs:
        return Found(
            entry.value, entry.timestamp_ms, "claude_code", os.fspath(s.claude_config_path or "")
        )
    return Found(entry.value, entry.timestamp_ms, "cache", store_for(s).location)
