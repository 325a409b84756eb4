"""The imperative shell of overage-credit-grant: clock, env, files, HTTP, CLI.

Apps call the entry points; each takes an optional `Settings` (default:
`Settings.from_env()`) and none raises for network, payload, lock or config trouble.
`PerOrgLookup` gives the same machinery to any per-organization value; the grant's
functions are the methods of one instance of it (`GRANT`).

Names are loaded on first use (PEP 562), so a process that only reads a cached grant,
or runs ``overage-grant show --no-refresh``, imports only the modules it needs.

`_EXPORTS` is the one list of public names (and the module each comes from); `__all__`
is made from it, and a test checks that the type checker's imports below say the same.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing`'s: a status line must not pay for importing it
if TYPE_CHECKING:
    from typing import Any

    from overage_credit_grant.core import GrantInfo as GrantInfo
    from overage_credit_grant.core import __version__ as __version__

    from ._fetch import FetchRequest as FetchRequest
    from ._grant import GRANT as GRANT
    from ._grant import format_grant_amount as format_grant_amount
    from ._grant import get_cached_overage_credit_grant as get_cached_overage_credit_grant
    from ._grant import (
        invalidate_overage_credit_grant_cache as invalidate_overage_credit_grant_cache,
    )
    from ._grant import refresh_overage_credit_grant_cache as refresh_overage_credit_grant_cache
    from ._grant import start_refresh as start_refresh
    from ._lookup import PerOrgLookup as PerOrgLookup
    from ._outcomes import FetchError as FetchError
    from ._outcomes import FetchErrorKind as FetchErrorKind
    from ._outcomes import InvalidateOutcome as InvalidateOutcome
    from ._outcomes import InvalidateStatus as InvalidateStatus
    from ._outcomes import RefreshOutcome as RefreshOutcome
    from ._outcomes import RefreshStatus as RefreshStatus
    from ._read import Found as Found
    from ._settings import DEFAULT_BASE_URL as DEFAULT_BASE_URL
    from ._settings import Settings as Settings
    from ._settings import wall_clock_ms as wall_clock_ms
    from ._spec import LookupSpec as LookupSpec
    from ._store.files import FileStore as FileStore
    from ._store.port import LeaseStatus as LeaseStatus
    from ._store.port import Store as Store
    from ._store.port import StoreError as StoreError
    from ._store.port import StoreErrorKind as StoreErrorKind
    from ._store.port import UpdateResult as UpdateResult
    from ._store.port import UpdateStatus as UpdateStatus
    from ._store.redis import RedisStore as RedisStore
    from ._store_choice import store_for as store_for

_EXPORTS: dict[str, str] = {
    "DEFAULT_BASE_URL": "._settings",
    "GRANT": "._grant",
    "FetchError": "._outcomes",
    "FetchErrorKind": "._outcomes",
    "FetchRequest": "._fetch",
    "FileStore": "._store.files",
    "Found": "._read",
    "GrantInfo": "overage_credit_grant.core",
    "InvalidateOutcome": "._outcomes",
    "InvalidateStatus": "._outcomes",
    "LeaseStatus": "._store.port",
    "LookupSpec": "._spec",
    "PerOrgLookup": "._lookup",
    "RedisStore": "._store.redis",
    "RefreshOutcome": "._outcomes",
    "RefreshStatus": "._outcomes",
    "Settings": "._settings",
    "Store": "._store.port",
    "StoreError": "._store.port",
    "StoreErrorKind": "._store.port",
    "UpdateResult": "._store.port",
    "UpdateStatus": "._store.port",
    "format_grant_amount": "._grant",
    "get_cached_overage_credit_grant": "._grant",
    "invalidate_overage_credit_grant_cache": "._grant",
    "refresh_overage_credit_grant_cache": "._grant",
    "start_refresh": "._grant",
    "store_for": "._store_choice",
    "wall_clock_ms": "._settings",
}

__all__ = tuple(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name == "__version__":  # the core's, which the package metadata is built from
        from overage_credit_grant.core import __version__  # noqa: PLC0415

        return __version__
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib  # noqa: PLC0415

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
