"""``overage-grant``: the command line.

Exit codes: 0 ok; 1 failure (fetch failed, lock timeout, unreadable config, write
failed, refused settings); 2 usage error; 3 no grant to show or not logged in (no
organization, no credentials, nothing cached). Errors are one line on stderr.

Imports stay lazy: ``show --no-refresh`` on a fresh cache loads neither ``requests``
nor ``filelock`` nor the HTTP server.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, NoReturn

from returns.result import Success

from overage_credit_grant.core import (
    GRANT_CACHE,
    GrantInfo,
    encode_grant_info,
    is_upsell_eligible,
)

from ._grant import GRANT, format_grant_amount, get_cached_overage_credit_grant
from ._log import quiet
from ._read import store_for
from ._settings import Settings, raw_organization, valid_organization

if TYPE_CHECKING:
    from ._outcomes import InvalidateStatus, RefreshOutcome, RefreshStatus

__all__ = ["EXIT_FAILURE", "EXIT_NO_GRANT", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
EXIT_NO_GRANT: Final = 3
PROG: Final = "overage-grant"

_NO_GRANT_REFRESH: Final = frozenset(
    {"skipped_no_organization", "skipped_no_credentials", "skipped_essential_traffic"}
)
_REFRESH_OK_TOO: Final = frozenset({"skipped_in_flight", "skipped_essential_traffic"})
_EPILOG: Final = """\
exit codes: 0 ok, 1 failure, 2 usage error, 3 no grant or not logged in.
environment: OVERAGE_GRANT_CONFIG, OVERAGE_GRANT_BASE_URL, OVERAGE_GRANT_REDIS_URL,
CLAUDE_CODE_ORGANIZATION_UUID, CLAUDE_CODE_OAUTH_TOKEN, CLAUDE_CONFIG_DIR,
CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC."""


class _Failure(Exception):
    """A one-line error and the exit code that goes with it."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


_SUMMARIES: Final = {
    "show": "show the grant, refreshing first when none is fresh",
    "refresh": "fetch the grant and cache it",
    "invalidate": "drop this organization's cached grant",
    "status": "list every cached organization with its age",
    "serve": "run the reference backend",
    "demo": "walk through fetch, cache and invalidate against a local backend",
}
_VALUED_OPTIONS: Final = frozenset({"--config", "--base-url", "--org", "--redis-url"})


def _command_in(argv: Sequence[str]) -> str | None:
    """The command word of `argv`, if it names one (the global options may precede it)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _VALUED_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            return arg if arg in _SUMMARIES else None
    return None


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that command's subparser (argparse's set-up, with its
    translations of every help text, is most of a quick command's run time)."""

    # The shared options work before or after the command; SUPPRESS keeps the
    # subcommand's unset options from hiding values given before it.
    def add_shared(parser: argparse.ArgumentParser, suppress: bool, store: bool = True) -> None:
        default: Any = argparse.SUPPRESS if suppress else None
        if store:
            parser.add_argument("--config", default=default, help="cache config file")
            parser.add_argument("--base-url", default=default, help="backend base URL")
            parser.add_argument("--org", default=default, help="organization UUID")
            parser.add_argument(
                "--redis-url", default=default, help="shared Redis store instead of the file"
            )
        parser.add_argument(
            "--json",
            action="store_true",
            default=argparse.SUPPRESS if suppress else False,
            help="machine-readable output",
        )

    parser = _Parser(
        prog=PROG,
        description="Look up, cache and show an organization's overage credit grant.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_shared(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for name, summary in _SUMMARIES.items():
        if only is not None and name != only:
            continue
        sub = commands.add_parser(
            name,
            help=summary,
            description=summary[0].upper() + summary[1:] + ".",
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name != "serve":  # serve has no store and no output format to choose
            add_shared(sub, suppress=True, store=name != "demo")
        if name == "show":
            sub.add_argument("--no-refresh", action="store_true", help="only read the cache")
        elif name == "serve":
            sub.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
            sub.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any)")
            sub.add_argument("--grants", help="grants file (default: built-in sample)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if args.config is not None:
        overrides["config_path"] = args.config
    if args.base_url is not None:
        overrides["base_url"] = args.base_url
    if args.org is not None:
        overrides["organization"] = args.org
    if args.redis_url is not None:
        overrides["redis_url"] = args.redis_url
    return Settings.from_env(**overrides)


def _emit(args: argparse.Namespace, data: dict[str, object], text: str) -> None:
    print(json.dumps(data, indent=2) if args.json else text)


def _require_org(s: Settings) -> str:
    org = valid_organization(s)
    if org is not None:
        return org
    if raw_organization(s) is not None:
        raise _Failure("organization id is not a UUID", EXIT_FAILURE)
    raise _Failure(
        "not logged in: no organization (log in to Claude Code, or set "
        "CLAUDE_CODE_ORGANIZATION_UUID or --org)",
        EXIT_NO_GRANT,
    )


def _upsell(info: GrantInfo) -> str | None:
    amount = format_grant_amount(info)
    return f"{amount} in extra usage for third-party apps" if is_upsell_eligible(info) else None


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _grant_lines(org: str, info: GrantInfo) -> str:
    amount = format_grant_amount(info)
    if amount is None and info.amount_minor_units is not None:
        amount = f"{info.amount_minor_units} minor units of {info.currency or 'unknown currency'}"
    lines = [
        f"organization  {org}",
        f"available     {_yes(info.available)}",
        f"eligible      {_yes(info.eligible)}",
        f"granted       {_yes(info.granted)}",
        f"amount        {amount or 'none'}",
    ]
    upsell = _upsell(info)
    if upsell:
        lines.append(upsell)
    return "\n".join(lines)


def _words(status: RefreshStatus | InvalidateStatus, detail: str) -> str:
    said = status.value.replace("_", " ")
    return f"{said}: {detail}" if detail else said


def _refresh_failure(outcome: RefreshOutcome[GrantInfo]) -> _Failure:
    code = EXIT_NO_GRANT if outcome.status.value in _NO_GRANT_REFRESH else EXIT_FAILURE
    return _Failure(f"refresh: {_words(outcome.status, outcome.detail)}", code)


def cmd_show(args: argparse.Namespace) -> int:
    s = _settings(args)
    org = _require_org(s)
    info = get_cached_overage_credit_grant(s)
    refreshed: RefreshOutcome[GrantInfo] | None = None
    if info is None and not args.no_refresh:
        refreshed = GRANT.refresh(s)
        info = refreshed.info if refreshed.ok else get_cached_overage_credit_grant(s)
    if info is None:
        if refreshed is not None and refreshed.status.value != "skipped_in_flight":
            raise _refresh_failure(refreshed)
        raise _Failure("no fresh grant cached (run 'overage-grant refresh')", EXIT_NO_GRANT)
    _emit(
        args,
        {
            "organization": org,
            "grant": encode_grant_info(info),
            "amount": format_grant_amount(info),
            "upsell": _upsell(info),
            "refresh": refreshed.status.value if refreshed else None,
        },
        _grant_lines(org, info),
    )
    return EXIT_OK


def cmd_refresh(args: argparse.Namespace) -> int:
    outcome = GRANT.refresh(_settings(args))
    ok = outcome.ok or outcome.status.value in _REFRESH_OK_TOO
    amount = format_grant_amount(outcome.info) if outcome.info else None
    if ok or args.json:
        _emit(
            args,
            {
                "status": outcome.status.value,
                "detail": outcome.detail,
                "grant": encode_grant_info(outcome.info) if outcome.info else None,
                "amount": amount,
            },
            _words(outcome.status, outcome.detail) + (f" ({amount})" if amount else ""),
        )
    if not ok:
        raise _refresh_failure(outcome)
    return EXIT_OK


def cmd_invalidate(args: argparse.Namespace) -> int:
    outcome = GRANT.invalidate(_settings(args))
    if outcome.ok or args.json:
        _emit(
            args,
            {"status": outcome.status.value, "detail": outcome.detail},
            _words(outcome.status, outcome.detail),
        )
    if outcome.ok:
        return EXIT_OK
    code = EXIT_NO_GRANT if outcome.status.value == "no_organization" else EXIT_FAILURE
    raise _Failure(f"invalidate: {_words(outcome.status, outcome.detail)}", code)


def _age(ms: int) -> str:
    if ms < 0:
        return f"in {_age(-ms)} (clock skew)"
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"


def cmd_status(args: argparse.Namespace) -> int:
    s = _settings(args)
    store = store_for(s)
    match store.read_checked(None, (GRANT_CACHE.key,)):
        case Success(config):
            pass
        case failure:
            raise _Failure(f"{store.location}: {failure.failure()}")
    now = s.clock()
    current = valid_organization(s)
    entries = GRANT_CACHE.entries(config)
    rows = [
        {
            "organization": e.org_id,
            "current": e.org_id == current,
            "grant": encode_grant_info(e.value),
            "amount": format_grant_amount(e.value),
            "timestamp": e.timestamp_ms,
            "age_ms": e.age_ms(now),
            "fresh": e.is_fresh(now, GRANT_CACHE.ttl_ms),
        }
        for e in entries
    ]
    lines = [f"store  {store.location}"]
    if not entries:
        lines.append("no cached grants")
    else:
        lines.append(f"  {'organization':36}  {'amount':>10}  {'age':>14}  state")
    for e in entries:
        mark = "*" if e.org_id == current else " "
        state = "fresh" if e.is_fresh(now, GRANT_CACHE.ttl_ms) else "stale"
        amount = format_grant_amount(e.value) or "-"
        lines.append(f"{mark} {e.org_id:36}  {amount:>10}  {_age(e.age_ms(now)):>14}  {state}")
    _emit(
        args,
        {"store": store.location, "organization": current, "entries": rows},
        "\n".join(lines),
    )
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
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
        raise _Failure(str(exc)) from None
    try:
        server = ReferenceServer(backend, host=args.host, port=args.port, log_to=sys.stderr)
    except OSError as exc:
        raise _Failure(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    print(f"serving the reference backend on {server.base_url}", file=sys.stderr, flush=True)
    if args.grants is None:
        print(
            f"built-in sample: organization {SAMPLE_ORG}, token {SAMPLE_TOKEN}",
            file=sys.stderr,
            flush=True,
        )
    serve_forever(server)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo  # noqa: PLC0415

    return run_demo(as_json=bool(args.json))


_COMMANDS: Final = {
    "show": cmd_show,
    "refresh": cmd_refresh,
    "invalidate": cmd_invalidate,
    "status": cmd_status,
    "serve": cmd_serve,
    "demo": cmd_demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (the console script exits with it)."""
    words = sys.argv[1:] if argv is None else list(argv)
    args = _parser(_command_in(words)).parse_args(words)
    # The library logs failures; the command already says them in its one error line.
    quiet()
    try:
        return _COMMANDS[args.command](args)
    except _Failure as failure:
        print(f"{PROG}: {failure}", file=sys.stderr)
        return failure.code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: still one line, never a traceback
        print(f"{PROG}: internal error ({type(exc).__name__})", file=sys.stderr)
        return EXIT_FAILURE
