"""The overage credit grant as the first instance of the generic per-org cache."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from returns.maybe import Maybe

from ._cache import CACHE_TTL_MS, PerOrgCache
from ._grant import GrantInfo, decode_grant_info, encode_grant_info

__all__ = ["CACHE_KEY", "GRANT_CACHE", "after_invalidate", "after_refresh", "cached_grant"]

CACHE_KEY: Final = "overageCreditGrantCache"

GRANT_CACHE: Final[PerOrgCache[GrantInfo]] = PerOrgCache(
    key=CACHE_KEY,
    decode=decode_grant_info,
    encode=encode_grant_info,
    ttl_ms=CACHE_TTL_MS,
)


def cached_grant(config: Mapping[str, object], org_id: str, now_ms: int) -> Maybe[GrantInfo]:
    """The fresh cached grant of `org_id`; `Nothing` for no entry, a malformed or stale one."""
    return GRANT_CACHE.read(config, org_id, now_ms)


def after_refresh(
    prev: Mapping[str, object], org_id: str, info: GrantInfo, now_ms: int
) -> Mapping[str, object]:
    """The config after fetching `info` at `now_ms`; `prev` itself when no write is needed."""
    return GRANT_CACHE.after_refresh(prev, org_id, info, now_ms)


def after_invalidate(prev: Mapping[str, object], org_id: str) -> Mapping[str, object]:
    """The config without `org_id`'s grant entry; `prev` itself when there is none."""
    return GRANT_CACHE.after_invalidate(prev, org_id)
