"""``overage-grant show``: the grant, refreshing first when none is fresh (unless
``--no-refresh``), with the seed's upsell line."""

from __future__ import annotations

from typing import Any, Final

from returns.result import Failure

from overage_credit_grant.core import GrantInfo, encode_grant_info, is_upsell_eligible

from .._account import no_organization, raw_organization, valid_organization
from .._grant import GRANT, format_grant_amount
from .._read import Found, Source
from .._settings import Settings, now_ms
from .._store_choice import store_for
from .options import settings_of
from .output import EXIT_NOTHING, EXIT_OK, CommandFailed, age, emit

__all__ = ["cmd_show", "upsell_line"]

_SOURCES: Final[dict[Source, str]] = {
    "cache": "cache",
    "claude_code": "Claude Code's cache (read-only)",
}


def _require_org(s: Settings) -> str:
    org = valid_organization(s)
    if org is not None:
        return org
    if raw_organization(s) is not None:
        raise CommandFailed(
            "the configured organization id is not a UUID", status="refused_invalid_org"
        )
    raise CommandFailed(f"not logged in: {no_organization(s)}", EXIT_NOTHING, "not_logged_in")


def upsell_line(info: GrantInfo) -> str | None:
    """The seed's upsell line, when the grant is upsell-eligible."""
    amount = format_grant_amount(info)
    return f"{amount} in extra usage for third-party apps" if is_upsell_eligible(info) else None


def _grant_lines(org: str, info: GrantInfo, source: str) -> str:
    amount = format_grant_amount(info)
    if amount is None and info.amount_minor_units is not None:
        amount = f"{info.amount_minor_units} minor units of {info.currency or 'unknown currency'}"
    lines = [
        f"organization  {org}",
        f"available     {'yes' if info.available else 'no'}",
        f"eligible      {'yes' if info.eligible else 'no'}",
        f"granted       {'yes' if info.granted else 'no'}",
        f"amount        {amount or 'none'}",
        f"source        {source}",
    ]
    upsell = upsell_line(info)
    if upsell:
        lines.append(upsell)
    return "\n".join(lines)


def _store_trouble(s: Settings, org: str) -> CommandFailed | None:
    """Why the store cannot be read (a FIFO at the config path, a Redis that is down)."""
    checked = store_for(s).read_checked(org, (GRANT.cache.key,))
    if isinstance(checked, Failure):
        from .._store.port import StoreErrorKind  # noqa: PLC0415  (only when in trouble)

        error = checked.failure()
        if error.kind is StoreErrorKind.UNREADABLE:
            return CommandFailed(f"config unreadable: {error.detail}", status="config_unreadable")
        return CommandFailed(f"store unavailable: {error.detail}", status="store_unavailable")
    return None


def cmd_show(args: Any) -> int:
    s = settings_of(args)
    org = _require_org(s)
    found = GRANT.find(s)
    refreshed = None
    if found is None and not args.no_refresh:
        refreshed = GRANT.refresh(s)
        found = GRANT.find(s)
        if found is None and refreshed.ok and refreshed.value is not None:  # e.g. a skewed clock
            store = store_for(s)
            found = Found(refreshed.value, now_ms(s, store), "cache", store.location)
    if found is None:
        if refreshed is not None:
            from .._outcomes import RefreshStatus  # noqa: PLC0415  (only after a refresh)
            from .outcomes import REFRESH_EXIT, refresh_failure  # noqa: PLC0415

            if refreshed.status is not RefreshStatus.SKIPPED_IN_FLIGHT:
                # Nothing to show: a skip by rule is "nothing to show", a failure a failure.
                raise refresh_failure(refreshed, REFRESH_EXIT[refreshed.status] or EXIT_NOTHING)
        raise _store_trouble(s, org) or CommandFailed(
            "no fresh grant cached (run 'overage-grant refresh')", EXIT_NOTHING, "nothing_cached"
        )
    info = found.value
    now = now_ms(s, store_for(s)) if found.source == "cache" else s.clock()
    source = f"{_SOURCES[found.source]}: {found.location}, {age(now - found.timestamp_ms)} old"
    emit(
        args,
        {
            "organization": org,
            "grant": encode_grant_info(info),
            "amount": format_grant_amount(info),
            "upsell": upsell_line(info),
            "source": found.source,
            "location": found.location,
            "timestamp": found.timestamp_ms,
            "refresh": refreshed.status.value if refreshed else None,
        },
        _grant_lines(org, info, source),
    )
    return EXIT_OK
