"""Choosing the store a `Settings` names, and keeping one store object per place.

`store_for` answers with the store given in the settings, else the shared Redis store of
`redis_url`, else the JSON file store at `config_path`. File stores are memos (one per
path, cheap to make again); Redis stores hold connections and a listener thread, so they
are kept until `close_shared_redis_stores()`. `config_is_protected` tells the writers
whether the config path is one of Claude Code's own files (never written).
"""

from __future__ import annotations

import _thread
from typing import TYPE_CHECKING, Final

from ._account import is_protected_path
from ._memo import Memo, memo
from ._settings import Settings, StrPath
from ._store.files import FileStore
from ._store.unusable import UnusableStore

if TYPE_CHECKING:
    from ._store.port import Store
    from ._store.redis import RedisStore

__all__ = [
    "PROTECTED",
    "close_shared_redis_stores",
    "config_is_protected",
    "shared_redis_store",
    "store_for",
]

PROTECTED: Final = "config path is one of Claude Code's own files; it is never written"

_file_stores: Memo[tuple[StrPath, float, float], FileStore] = memo("file store by path")
_protected: Memo[tuple[StrPath, tuple[StrPath, ...]], bool] = memo("is a path Claude Code's")


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
    key = (settings.config_path, settings.lock_timeout_s, settings.file_check_s)
    store = _file_stores.get(key)
    if store is None:
        store = _file_stores.put(
            key,
            FileStore(
                settings.config_path,
                lock_timeout_s=settings.lock_timeout_s,
                fast_json=True,  # our reducers add no NaN or Infinity: orjson may write
                check_s=settings.file_check_s,
            ),
        )
    return store


# Own table, not a memo: each store holds a connection pool and a listener thread that
# must be closed, not dropped.
_shared: dict[tuple[str, float, bool], RedisStore | UnusableStore] = {}
_shared_lock = _thread.allocate_lock()
_REDIS_EXTRA: Final = "pip install 'overage-credit-grant[redis]'"
_RETRY_S: Final = 1.0  # a store that could not be made is made again at most this often


def close_shared_redis_stores() -> None:
    """Close every store `shared_redis_store` made (their near caches' listeners too)."""
    with _shared_lock:
        stores = list(_shared.values())
        _shared.clear()
    for store in stores:
        store.close()


def shared_redis_store(
    url: str, *, timeout_s: float = 1.0, near_cache: bool = True
) -> RedisStore | UnusableStore:
    """One store (connection pool, near cache) per URL and options, for the whole process;
    an `UnusableStore` saying why when the URL is malformed or redis-py is missing."""
    key = (url, timeout_s, near_cache)
    with _shared_lock:
        store = _shared.get(key)
        if store is None or (isinstance(store, UnusableStore) and store.may_retry()):
            store = _shared[key] = _redis_store(url, timeout_s, near_cache)
        return store


def _redis_store(url: str, timeout_s: float, near_cache: bool) -> RedisStore | UnusableStore:
    from ._store.redisurl import public_url, topology_problem  # noqa: PLC0415

    problem = topology_problem(url)
    if problem is not None:
        return UnusableStore("redis", f"the Redis URL is unusable: {problem}")
    try:
        from redis.exceptions import RedisClusterException, RedisError  # noqa: PLC0415

        from ._store.redis import RedisStore  # noqa: PLC0415  (only fleets pay for redis)
    except ImportError:
        return UnusableStore(public_url(url), f"redis-py is not installed ({_REDIS_EXTRA})")
    try:  # a cluster client asks a node for the slot map as it is made
        return RedisStore.from_url(url, timeout_s=timeout_s, near_cache=near_cache)
    except (RedisError, RedisClusterException, OSError) as exc:
        reason = f"redis unavailable ({type(exc).__name__})"
        return UnusableStore(public_url(url), reason, retry_after_s=_RETRY_S)


def config_is_protected(settings: Settings, *, remembered: bool = False) -> bool:
    """Whether the config path is one of Claude Code's files. Writers resolve the path
    afresh every time; the lock-free read (which can only read) may reuse the answer."""
    if settings.store is not None or settings.redis_url:
        return False
    key = (settings.config_path, settings.protected_paths)
    if remembered:
        known = _protected.get(key)
        if known is not None:
            return known
    return _protected.put(key, is_protected_path(settings.config_path, settings.protected_paths))
