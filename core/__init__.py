"""The pure core of overage-credit-grant.

Everything here is a total function of its arguments: no I/O, no clock, no
environment, no logging, no mutable globals. The shell reads the world and passes
it in (`now_ms`, `prev` config, `env`, the fetched payload).

`PerOrgCache` is the generic reducer set; the grant functions are its first
instance (`GRANT_CACHE`). Reuse it for any record you cache per organization.
"""

from ._backoff import (
    BackoffState,
    after_failure,
    after_success,
    backoff_delay_ms,
    backoff_section,
    backoff_states,
    failure_count,
    retry_wait_ms,
)
from ._cache import CACHE_TTL_MS, CacheEntry, PerOrgCache, freshness_window, is_fresh
from ._grant import (
    GrantInfo,
    decode_grant_info,
    encode_grant_info,
    is_valid_org_id,
    organization_id,
)
from ._money import format_grant_amount, format_minor_units, is_upsell_eligible
from ._overage import CACHE_KEY, GRANT_CACHE, after_invalidate, after_refresh, cached_grant
from ._privacy import ESSENTIAL_TRAFFIC_ENV, is_essential_traffic_only
from ._version import VERSION as __version__

__all__ = [
    "CACHE_KEY",
    "CACHE_TTL_MS",
    "ESSENTIAL_TRAFFIC_ENV",
    "GRANT_CACHE",
    "BackoffState",
    "CacheEntry",
    "GrantInfo",
    "PerOrgCache",
    "__version__",
    "after_failure",
    "after_invalidate",
    "after_refresh",
    "after_success",
    "backoff_delay_ms",
    "backoff_section",
    "backoff_states",
    "cached_grant",
    "decode_grant_info",
    "encode_grant_info",
    "failure_count",
    "format_grant_amount",
    "format_minor_units",
    "freshness_window",
    "is_essential_traffic_only",
    "is_fresh",
    "is_upsell_eligible",
    "is_valid_org_id",
    "organization_id",
    "retry_wait_ms",
]
