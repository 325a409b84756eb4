"""What each ``overage-grant`` command does and prints (the statusline is `_statusline`).

Every error is one line on stderr (a `CommandFailed` carries it and its exit code).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, Final

from returns.result import Failure

from overage_credit_grant.core import GRANT_CACHE, GrantInfo, encode_grant_info, is_upsell_eligible

from ._grant import GRANT, format_grant_amount
from ._read import Found, claude_code_entry, store_for
from ._settings import Settings, raw_organization, valid_organization

if TYPE_CHECKING:
    from ._outcomes import InvalidateStatus, RefreshOutcome, RefreshStatus

__all__ = [
    "COMMANDS",
    "EXIT_FAILURE",
    "EXIT_NO_GRANT",
    "EXIT_OK",
    "CommandFailed",
    "settings_of",
]

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_NO_GRANT: Final = 3

_NO_GRANT_REFRESH: Final = frozenset(
    {"skipped_no_organization", "skipped_no_credentials", "skipped_essential_traffic"}
)
_REFRESH_OK_TOO: Final = frozenset(
    {"skipped_in_flight", "skipped_essential_traffic", "fresh_in_claude_code"}
)
_SOURCES: Final = {"cache": "cache", "claude_code": "Claude Code's cache (read-only)"}


class CommandFailed(Exception):
    """A one-line error and the exit code that goes with it."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


def settings_of(args: Any) -> Settings:
    overrides: dict[str, Any] = {}
    if args.config is not None:
        overrides["config_path"] = args.config
    if args.base_url is not None:
        overrides["base_url"] = args.base_url
    if args.org is not None:
        overrides["organization"] = args.org
    if args.redis_url is not None:
        overrides["redis_url"] = args.redis_url
    # One command, one process: a near cache would only cost its listener's connection.
    return Settings.from_env(redis_near_cache=False, **overrides)


def _emit(args: Any, data: dict[str, object], text: str) -> None:
    print(json.dumps(data, indent=2) if args.json else text)


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


def _upsell(info: GrantInfo) -> str | None:
    amount = format_grant_amount(info)
    return f"{amount} in extra usage for third-party apps" if is_upsell_eligible(info) else None


def _age(ms: int) -> str:
    if ms < 0:
        return f"in {_age(-ms)} (clock skew)"
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"


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
    upsell = _upsell(info)
    if upsell:
        lines.append(upsell)
    return "\n".join(lines)


def _words(status: RefreshStatus | InvalidateStatus, detail: str) -> str:
    said = status.value.replace("_", " ")
    return f"{said}: {detail}" if detail else said


def _refresh_failure(outcome: RefreshOutcome[GrantInfo]) -> CommandFailed:
    code = EXIT_NO_GRANT if outcome.status.value in _NO_GRANT_REFRESH else EXIT_FAILURE
    return CommandFailed(f"refresh: {_words(outcome.status, outcome.detail)}", code)


def _store_trouble(s: Settings, org: str) -> CommandFailed | None:
    """Why the store cannot be read (a FIFO at the config path, a Redis that is down)."""
    store = store_for(s)
    checked = store.read_checked(org, (GRANT_CACHE.key,))
    if isinstance(checked, Failure):
        error = checked.failure()
        said = "config unreadable" if error.kind.value == "unreadable" else "store unavailable"
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
        if refreshed is not None and refreshed.status.value != "skipped_in_flight":
            raise _refresh_failure(refreshed)
        raise _store_trouble(s, org) or CommandFailed(
            "no fresh grant cached (run 'overage-grant refresh')", EXIT_NO_GRANT
        )
    info = found.value
    source = (
        f"{_SOURCES[found.source]}: {found.location}, {_age(s.clock() - found.timestamp_ms)} old"
    )
    _emit(
        args,
        {
            "organization": org,
            "grant": encode_grant_info(info),
            "amount": format_grant_amount(info),
            "upsell": _upsell(info),
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
    ok = outcome.ok or outcome.status.value in _REFRESH_OK_TOO
    amount = format_grant_amount(outcome.value) if outcome.value else None
    if ok or args.json:
        _emit(
            args,
            {
                "status": outcome.status.value,
                "detail": outcome.detail,
                "grant": encode_grant_info(outcome.value) if outcome.value else None,
                "amount": amount,
            },
            _words(outcome.status, outcome.detail) + (f" ({amount})" if amount else ""),
        )
    if not ok:
        raise _refresh_failure(outcome)
    return EXIT_OK


def cmd_invalidate(args: Any) -> int:
    outcome = GRANT.invalidate(settings_of(args))
    if outcome.ok or args.json:
        _emit(
            args,
            {"status": outcome.status.value, "detail": outcome.detail},
            _words(outcome.status, outcome.detail),
        )
    if outcome.ok:
        return EXIT_OK
    code = EXIT_NO_GRANT if outcome.status.value == "no_organization" else EXIT_FAILURE
    raise CommandFailed(f"invalidate: {_words(outcome.status, outcome.detail)}", code)


def cmd_status(args: Any) -> int:
    s = settings_of(args)
    store = store_for(s)
    checked = store.read_checked(None, (GRANT_CACHE.key,))
    if isinstance(checked, Failure):
        raise CommandFailed(f"{store.location}: {checked.failure()}")
    now = s.clock()
    current = valid_organization(s)
    rows = [(e, "cache") for e in GRANT_CACHE.entries(checked.unwrap())]
    if current is not None:
        theirs = claude_code_entry(s, GRANT_CACHE, current)
        if theirs is not None:
            rows.append((theirs, "claude_code"))
    in_use = GRANT.find(s) if current is not None else None

    def used(entry: Any, source: str) -> bool:
        return (
            in_use is not None
            and entry.org_id == current
            and (in_use.source, in_use.timestamp_ms) == (source, entry.timestamp_ms)
        )

    entries = [
        {
            "organization": e.org_id,
            "current": e.org_id == current,
            "source": source,
            "in_use": used(e, source),
            "grant": encode_grant_info(e.value),
            "amount": format_grant_amount(e.value),
            "timestamp": e.timestamp_ms,
            "age_ms": e.age_ms(now),
            "fresh": e.is_fresh(now, GRANT_CACHE.ttl_ms),
        }
        for e, source in rows
    ]
    lines = [f"store  {store.location}"]
    if s.claude_config_path is not None:
        lines.append(f"also   {s.claude_config_path} (Claude Code's cache, read-only)")
    if not rows:
        lines.append("no cached grants")
    else:
        lines.append(f"  {'organization':36}  {'amount':>10}  {'age':>14}  {'state':5}  source")
    for e, source in rows:
        mark = "*" if used(e, source) else " "
        state = "fresh" if e.is_fresh(now, GRANT_CACHE.ttl_ms) else "stale"
        amount = format_grant_amount(e.value) or "-"
        where = "claude code" if source == "claude_code" else "cache"
        lines.append(
            f"{mark} {e.org_id:36}  {amount:>10}  {_age(e.age_ms(now)):>14}  {state}  {where}"
        )
    _emit(
        args,
        {"store": store.location, "organization": current, "entries": entries},
        "\n".join(lines),
    )
    return EXIT_OK


def cmd_statusline(args: Any) -> int:
    from ._statusline import run_statusline  # noqa: PLC0415

    return run_statusline(settings_of(args), args.format)


def cmd_serve(args: Any) -> int:
    from pathlib import Path  # noqa: PLC0415

    from ._server import (  # noqa: PLC0415
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
    from ._demo import run_demo  # noqa: PLC0415

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
