"""The imperative shell of overage-credit-grant: clock, env, files, HTTP, CLI.

Apps call the entry points; each takes an optional `Settings` (default:
`Settings.from_env()`) and none raises for network, payload, lock or config trouble.
"""

from overage_credit_grant.core import GrantInfo

from ._outcomes import InvalidateOutcome, InvalidateStatus, RefreshOutcome, RefreshStatus
from ._redis import RedisStore
from ._service import (
    format_grant_amount,
    get_cached_overage_credit_grant,
    invalidate_overage_credit_grant_cache,
    refresh_overage_credit_grant_cache,
    start_refresh,
    store_for,
)
from ._settings import DEFAULT_BASE_URL, Settings, wall_clock_ms
from ._store import (
    FileStore,
    LeaseStatus,
    Store,
    StoreError,
    StoreErrorKind,
    UpdateResult,
    UpdateStatus,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "FileStore",
    "GrantInfo",
    "InvalidateOutcome",
    "InvalidateStatus",
    "LeaseStatus",
    "RedisStore",
    "RefreshOutcome",
    "RefreshStatus",
    "Settings",
    "Store",
    "StoreError",
    "StoreErrorKind",
    "UpdateResult",
    "UpdateStatus",
    "format_grant_amount",
    "get_cached_overage_credit_grant",
    "invalidate_overage_credit_grant_cache",
    "refresh_overage_credit_grant_cache",
    "start_refresh",
    "store_for",
    "wall_clock_ms",
]
