"""What each ``overage-grant`` command does and prints (``status`` is `status`, the status
line `statusline`, the reference backend `server`).

A command returns its exit code after printing its output, or raises `CommandFailed` (one
line on stderr, one JSON object under ``--json``; see `output`).
"""

from __future__ import annotations

from typing import Any, Final

from returns.result import Failure

from overage_credit_grant.core import GrantInfo, encode_grant_info, is_upsell_eligible

from .._account import no_organization, raw_organization, valid_organization
from .._grant import GRANT, format_grant_amount
from .._outcomes import RefreshOutcome, RefreshStatus
from .._read import Found, Source
from .._settings import Settings
from .._store.port import StoreErrorKind
from .._store_choice import store_for
from . import backoff
from .options import settings_of
from .output import (
    EXIT_NOTHING,
    EXIT_OK,
    INVALIDATE_EXIT,
    REFRESH_EXIT,
    CommandFailed,
    age,
    emit,
    words,
)
from .serving import cmd_serve
from .status import cmd_status

__all__ = ["COMMANDS", "upsell_line"]

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


def _outcome_json(outcome: RefreshOutcome[GrantInfo]) -> dict[str, object]:
    value = outcome.value
    return {
        "status": outcome.status.value,
        "detail": outcome.detail,
        "grant": encode_grant_info(value) if value is not None else None,
        "amount": format_grant_amount(value) if value is not None else None,
    }


def _refresh_failure(outcome: RefreshOutcome[GrantInfo], code: int | None = None) -> CommandFailed:
    said = words(outcome.status, outcome.detail)
    if outcome.status is RefreshStatus.BACKING_OFF:
        said += f" ({backoff.FORCE_HINT})"
    code = REFRESH_EXIT[outcome.status] if code is None else code
    return CommandFailed(f"refresh: {said}", code, outcome.status.value, _outcome_json(outcome))


def _store_trouble(s: Settings, org: str) -> CommandFailed | None:
    """Why the store cannot be read (a FIFO at the config path, a Redis that is down)."""
    checked = store_for(s).read_checked(org, (GRANT.cache.key,))
    if isinstance(checked, Failure):
        error = checked.failure()
        if error.kind is StoreErrorKind.UNREADABLE:
            return CommandFailed(f"config unreadable: {error.detail}", status="config_unreadable")
        return CommandFailed(f"store unavailable: {error.detail}", status="store_unavailable")
    return None


def cmd_show(args: Any) -> int:
    s = settings_of(args)
    org = _require_org(s)
    found = GRANT.find(s)
    refreshed: RefreshOutcome[GrantInfo] | None = None
    if found is None and not args.no_refresh:
        refreshed = GRANT.refresh(s)
        found = GRANT.find(s)
        if found is None and refreshed.ok and refreshed.value is not None:  # e.g. a skewed clock
            found = Found(refreshed.value, s.clock(), "cache", store_for(s).location)
    if found is None:
        if refreshed is not None and refreshed.status is not RefreshStatus.SKIPPED_IN_FLIGHT:
            # Nothing to show: a skip by rule is "nothing to show", a failure a failure.
            code = REFRESH_EXIT[refreshed.status] or EXIT_NOTHING
            raise _refresh_failure(refreshed, code)
        raise _store_trouble(s, org) or CommandFailed(
            "no fresh grant cached (run 'overage-grant refresh')", EXIT_NOTHING, "nothing_cached"
        )
    info = found.value
    source = (
        f"{_SOURCES[found.source]}: {found.location}, {age(s.clock() - found.timestamp_ms)} old"
    )
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


def cmd_refresh(args: Any) -> int:
    outcome = GRANT.refresh(settings_of(args), force=bool(args.force))
    if REFRESH_EXIT[outcome.status] != EXIT_OK:
        raise _refresh_failure(outcome)
    amount = format_grant_amount(outcome.value) if outcome.value else None
    emit(
        args,
        _outcome_json(outcome),
        words(outcome.status, outcome.detail) + (f" ({amount})" if amount else ""),
    )
    return EXIT_OK


def cmd_invalidate(args: Any) -> int:
    s = settings_of(args)
    outcome = GRANT.invalidate(s)
    code = INVALIDATE_EXIT[outcome.status]
    data: dict[str, object] = {"status": outcome.status.value, "detail": outcome.detail}
    if code != EXIT_OK:
        said = f"invalidate: {words(outcome.status, outcome.detail)}"
        raise CommandFailed(said, code, outcome.status.value, data)
    org = valid_organization(s)
    kept = backoff.org_backoff(s, store_for(s), org) if org is not None else None
    text = words(outcome.status, outcome.detail)
    if kept is not None:  # invalidating drops the entry only; the backoff is the store's
        text += f"; the backoff is kept: {backoff.describe(kept, s)} ({backoff.FORCE_HINT})"
    data["backoff"] = backoff.as_json(kept, s) if kept is not None else None
    emit(args, data, text)
    return EXIT_OK


def cmd_statusline(args: Any) -> int:
    from .statusline import run_statusline  # noqa: PLC0415

    return run_statusline(settings_of(args), args.format, as_json=bool(args.json))


def cmd_demo(args: Any) -> int:
    from .demo import run_demo  # noqa: PLC0415

    return run_demo(as_json=bool(args.json))


COMMANDS: Final = {
    "show": cmd_show,
    "refresh": cmd_refresh,
    "invalidate": cmd_invalidate,
    "status": cmd_status,
    "statusline": cmd_statusline,
    "serve": cmd_serve,
    "demo": cmd_demo,
}
