"""The imperative shell of overage-credit-grant: clock, env, files, HTTP, CLI.

Apps call the entry points; each takes an optional `Settings` (default:
`Settings.from_env()`) and none raises for network, payload, lock or config trouble.
`PerOrgLookup` gives the same machinery to any per-organization value; the grant's
functions are the methods of one instance of it (`GRANT`).

Names are loaded on first use (PEP 562), so a process that only reads a cached grant,
or runs ``overage-grant show --no-refresh``, imports only the modules it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from overage_credit_grant.core import GrantInfo

    from ._fetch import FetchRequest
    from ._grant import (
        GRANT,
        format_grant_amount,
        get_cached_overage_credit_grant,
        invalidate_overage_credit_grant_cache,
        refresh_overage_credit_grant_cache,
        start_refresh,
    )
    from ._lookup import PerOrgLookup
    from ._outcomes import (
        FetchError,
        FetchErrorKind,
        InvalidateOutcome,
        InvalidateStatus,
        RefreshOutcome,
        RefreshStatus,
    )
    from ._port import (
        LeaseStatus,
        Store,
        StoreError,
        StoreErrorKind,
        UpdateResult,
        UpdateStatus,
    )
    from ._read import store_for
    from ._redis import RedisStore
    from ._settings import DEFAULT_BASE_URL, Settings, wall_clock_ms
    from ._store import FileStore

_EXPORTS: dict[str, str] = {
    "GrantInfo": "overage_credit_grant.core",
    "InvalidateOutcome": "._outcomes",
    "InvalidateStatus": "._outcomes",
    "RefreshOutcome": "._outcomes",
    "RefreshStatus": "._outcomes",
    "RedisStore": "._redis",
    "FetchError": "._outcomes",
    "FetchErrorKind": "._outcomes",
    "FetchRequest": "._fetch",
    "GRANT": "._grant",
    "format_grant_amount": "._grant",
    "get_cached_overage_credit_grant": "._grant",
    "invalidate_overage_credit_grant_cache": "._grant",
    "refresh_overage_credit_grant_cache": "._grant",
    "start_refresh": "._grant",
    "PerOrgLookup": "._lookup",
    "store_for": "._read",
    "DEFAULT_BASE_URL": "._settings",
    "Settings": "._settings",
    "wall_clock_ms": "._settings",
    "FileStore": "._store",
    "LeaseStatus": "._port",
    "Store": "._port",
    "StoreError": "._port",
    "StoreErrorKind": "._port",
    "UpdateResult": "._port",
    "UpdateStatus": "._port",
}

__all__ = [
    "DEFAULT_BASE_URL",
    "GRANT",
    "FetchError",
    "FetchErrorKind",
    "FetchRequest",
    "FileStore",
    "GrantInfo",
    "InvalidateOutcome",
    "InvalidateStatus",
    "LeaseStatus",
    "PerOrgLookup",
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
