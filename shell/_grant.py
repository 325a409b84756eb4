"""The overage credit grant: one `PerOrgLookup`, and the seed's entry points around it.

Everything about the grant that the shell needs is declared here, once: where it is
stored (the core's `GRANT_CACHE`, under ``overageCreditGrantCache``) and where it comes
from (the seed's endpoint). The functions below are the seed's exports in Python
spelling; each is the lookup's method of the same meaning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from overage_credit_grant.core import GRANT_CACHE, GrantInfo
from overage_credit_grant.core import format_grant_amount as _format_grant_amount

from ._lookup import PerOrgLookup

if TYPE_CHECKING:
    from concurrent.futures import Future

    from ._outcomes import InvalidateOutcome, RefreshOutcome
    from ._settings import Settings

__all__ = [
    "GRANT",
    "GRANT_PATH",
    "format_grant_amount",
    "get_cached_overage_credit_grant",
    "invalidate_overage_credit_grant_cache",
    "refresh_overage_credit_grant_cache",
    "start_refresh",
]

GRANT_PATH: Final = "/api/oauth/organizations/{org}/overage_credit_grant"

GRANT: Final[PerOrgLookup[GrantInfo]] = PerOrgLookup(
    GRANT_CACHE, path=GRANT_PATH, name="grant", claude_code=True
)


def get_cached_overage_credit_grant(settings: Settings | None = None) -> GrantInfo | None:
    """The current org's cached grant when fresh, else None. Lock-free; no network."""
    return GRANT.get(settings)


def refresh_overage_credit_grant_cache(
    settings: Settings | None = None, *, force: bool = False
) -> RefreshOutcome[GrantInfo]:
    """Fetch the current org's grant and store it; the outcome says what happened.
    `force` passes the backoff after failures."""
    return GRANT.refresh(settings, force=force)


def start_refresh(
    settings: Settings | None = None, *, force: bool = False
) -> Future[RefreshOutcome[GrantInfo]]:
    """Fire and forget: refresh the grant on a daemon thread, joining one in flight."""
    return GRANT.start_refresh(settings, force=force)


def invalidate_overage_credit_grant_cache(settings: Settings | None = None) -> InvalidateOutcome:
    """Drop the current org's grant entry; no lock and no write when there is none."""
    return GRANT.invalidate(settings)


def format_grant_amount(info: GrantInfo) -> str | None:
    """``"$5"``, ``"$5.50"``; None when the grant has no amount in a known currency."""
    return _format_grant_amount(info).value_or(None)
