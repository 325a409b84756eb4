"""Reading the cached grant, and choosing the store: the hot path of every app.

Theory of operation
-------------------
Reads are lock-free and never touch the network. `get_cached_overage_credit_grant` on
an unchanged config is one `stat` and a few dictionary lookups: the file store object,
its parse, the decoded entry, the org id's validity and the protected-path answer are
all remembered. Refreshing and invalidating live in `_refresh`, loaded on first use, so
a process that only reads never pays for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from overage_credit_grant.core import GRANT_CACHE, CacheEntry, GrantInfo, is_fresh
from overage_credit_grant.core import format_grant_amount as _format_grant_amount

from ._log import logger
from ._settings import Settings, StrPath, is_protected_path, valid_organization
from ._store import FileStore

if TYPE_CHECKING:
    from ._port import Store

__all__ = [
    "format_grant_amount",
    "get_cached_overage_credit_grant",
    "store_for",
]

_MEMO_LIMIT: Final = 256

_PROTECTED: Final = "config path is one of Claude Code's own files; it is never written"


def format_grant_amount(info: GrantInfo) -> str | None:
    """``"$5"``, ``"$5.50"``; None when the grant has no amount in a known currency."""
    return _format_grant_amount(info).value_or(None)


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


def _config_is_protected(settings: Settings, *, remembered: bool = False) -> bool:
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


# -- reading ---------------------------------------------------------------------------

_entry_memo: dict[tuple[str, str], tuple[Mapping[str, object], CacheEntry[GrantInfo] | None]] = {}


def _cached_entry(store: Store, org: str) -> CacheEntry[GrantInfo] | None:
    """The org's decoded entry, decoded once per config object the store hands out."""
    config = store.read(org)
    key = (store.key, org)
    memo = _entry_memo.get(key)
    if memo is not None and memo[0] is config:
        return memo[1]
    entry = GRANT_CACHE.entry(config, org).value_or(None)
    if len(_entry_memo) >= _MEMO_LIMIT:
        _entry_memo.clear()
    _entry_memo[key] = (config, entry)
    return entry


def get_cached_overage_credit_grant(settings: Settings | None = None) -> GrantInfo | None:
    """The current org's cached grant when fresh, else None. Lock-free; no network.

    The hot path (an unchanged config) is one `stat` and a few dictionary lookups: the
    parse, the decoded entry and the protected-path answer are all remembered.
    """
    try:
        s = settings if settings is not None else Settings.from_env()
        org = valid_organization(s)
        if org is None or _config_is_protected(s, remembered=True):
            return None
        entry = _cached_entry(store_for(s), org)
        if entry is not None and is_fresh(entry.timestamp_ms, s.clock(), GRANT_CACHE.ttl_ms):
            return entry.value
        return None
    except Exception:
        logger().exception("reading the cached overage credit grant failed")
        return None
