"""What each ``overage-grant`` command does and prints (``status`` is `status`, the status
line `statusline`).

Every error is one line on stderr (a `CommandFailed` carries it and its exit code).
"""

from __future__ import annotations

import sys
from typing import Any, Final

from returns.result import Failure

from overage_credit_grant.core import GRANT_CACHE, GrantInfo, encode_grant_info, is_upsell_eligible

from .._account import raw_organization, valid_organization
from .._grant import GRANT, format_grant_amount
from .._outcomes import InvalidateStatus, RefreshOutcome, RefreshStatus
from .._read import Found, Source
from .._settings import Settings
from .._store.port import StoreErrorKind
from .._store_choice import store_for
from .output import (
    EXIT_FAILURE,
    EXIT_NO_GRANT,
    EXIT_OK,
    CommandFailed,
    age,
    emit,
    settings_of,
    words,
)
from .status import cmd_status

__all__ = ["COMMANDS", "CommandFailed", "upsell_line"]

_NO_GRANT_REFRESH: Final = frozenset(
    {
        RefreshStatus.SKIPPED_NO_ORGANIZATION,
        RefreshStatus.SKIPPED_NO_CREDENTIALS,
        RefreshStatus.SKIPPED_ESSENTIAL_TRAFFIC,
    }
)
_REFRESH_OK_TOO: Final = frozenset(
    {
        RefreshStatus.SKIPPED_IN_FLIGHT,
        RefreshStatus.SKIPPED_ESSENTIAL_TRAFFIC,
        RefreshStatus.FRESH_IN_CLAUDE_CODE,
    }
)
_SOURCES: Final[dict[Source, str]] = {
    "cache": "cache",
    "claude_code": "Claude Code's cache (read-only)",
}


def _require_org(s: Settings) -> str:
    org = valid_organization(s)
    if org is not None:
        return org
    if raw_organization(s) is not None:
        raise CommandFailed("organization id is not a UUID", EXIT_FAILURE)
    raise CommandFailed(
        "not logged in: no organization (log in to Claude Code, or set "
        "CLAUDE_CODE_ORGANIZATION_UUID or --org)",
        EXIT_NO_GRANT,
    )


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


def _refresh_failure(outcome: RefreshOutcome[GrantInfo]) -> CommandFailed:
    code = EXIT_NO_GRANT if outcome.status in _NO_GRANT_REFRESH else EXIT_FAILURE
    return CommandFailed(f"refresh: {words(outcome.status, outcome.detail)}", code)


def _store_trouble(s: Settings, org: str) -> CommandFailed | None:
    """Why the store cannot be read (a FIFO at the config path, a Redis that is down)."""
    store = store_for(s)
    checked = store.read_checked(org, (GRANT_CACHE.key,))
    if isinstance(checked, Failure):
        error = checked.failure()
        said = (
            "config unreadable" if error.kind is StoreErrorKind.UNREADABLE else "store unavailable"
        )
        return CommandFailed(f"{said}: {error.detail}")
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
            raise _refresh_failure(refreshed)
        raise _store_trouble(s, org) or CommandFailed(
            "no fresh grant cached (run 'overage-grant refresh')", EXIT_NO_GRANT
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
    outcome = GRANT.refresh(settings_of(args))
    ok = outcome.ok or outcome.status in _REFRESH_OK_TOO
    amount = format_grant_amount(outcome.value) if outcome.value else None
    if ok or args.json:
        emit(
            args,
            {
                "status": outcome.status.value,
                "detail": outcome.detail,
                "grant": encode_grant_info(outcome.value) if outcome.value else None,
                "amount": amount,
            },
            words(outcome.status, outcome.detail) + (f" ({amount})" if amount else ""),
        )
    if not ok:
        raise _refresh_failure(outcome)
    return EXIT_OK


def cmd_invalidate(args: Any) -> int:
    outcome = GRANT.invalidate(settings_of(args))
    if outcome.ok or args.json:
        emit(
            args,
            {"status": outcome.status.value, "detail": outcome.detail},
            words(outcome.status, outcome.detail),
        )
    if outcome.ok:
        return EXIT_OK
    code = EXIT_NO_GRANT if outcome.status is InvalidateStatus.NO_ORGANIZATION else EXIT_FAILURE
    raise CommandFailed(f"invalidate: {words(outcome.status, outcome.detail)}", code)


def cmd_statusline(args: Any) -> int:
    from .statusline import run_statusline  # noqa: PLC0415

    return run_statusline(settings_of(args), args.format)


def cmd_serve(args: Any) -> int:
    from pathlib import Path  # noqa: PLC0415

    from .server import (  # noqa: PLC0415
        SAMPLE_ORG,
        SAMPLE_TOKEN,
        Backend,
        ReferenceServer,
        load_backend,
        serve_forever,
    )

    try:
        backend = load_backend(Path(args.grants)) if args.grants else Backend.sample()
    except ValueError as exc:
        raise CommandFailed(str(exc)) from None
    try:
        server = ReferenceServer(backend, host=args.host, port=args.port, log_to=sys.stderr)
    except OSError as exc:
        raise CommandFailed(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    print(f"serving the reference backend on {server.base_url}", file=sys.stderr, flush=True)
    if args.grants is None:
        print(
            f"built-in sample: organization {SAMPLE_ORG}, token {SAMPLE_TOKEN}",
            file=sys.stderr,
            flush=True,
        )
    serve_forever(server)
    return EXIT_OK


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
