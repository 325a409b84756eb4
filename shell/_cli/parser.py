"""The full grammar of ``overage-grant``, in argparse: help texts and usage errors.

Loaded only when the fast path (`argv`) does not own the command line: ``--help``,
a usage error, ``serve``, ``demo``. The commands' options come from `_argv.COMMANDS`,
so the two parsers cannot drift apart.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, Final, NoReturn

from overage_credit_grant.core import __version__

from .argv import COMMANDS, GLOBAL_FLAGS, STORE_OPTIONS, command_of
from .options import UsageError
from .output import EXIT_CODES

__all__ = ["parse"]

PROG: Final = "overage-grant"
EPILOG: Final = (
    "exit codes:\n"
    + "".join(f"  {code}  {meaning}\n" for code, meaning in EXIT_CODES.items())
    + "  (statusline always exits 0)\n"
    + "environment: OVERAGE_GRANT_CONFIG, OVERAGE_GRANT_BASE_URL, OVERAGE_GRANT_REDIS_URL,\n"
    + "CLAUDE_CODE_ORGANIZATION_UUID, CLAUDE_CODE_OAUTH_TOKEN, CLAUDE_CONFIG_DIR,\n"
    + "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC."
)

SUMMARIES: Final = {
    "show": "show the grant, refreshing first when none is fresh",
    "refresh": "fetch the grant and cache it",
    "invalidate": "drop this organization's cached grant",
    "status": "list every cached organization with its age and source",
    "statusline": "one line for Claude Code's status line; never waits for the network",
    "serve": "run the reference backend",
    "demo": "walk through fetch, cache and invalidate against a local backend",
}
HELP: Final = {
    "--config": "cache config file",
    "--base-url": "backend base URL",
    "--org": "organization UUID",
    "--redis-url": "shared Redis store instead of the file (prefer OVERAGE_GRANT_REDIS_URL: "
    "a password on the command line is visible to other users)",
    "--json": "one JSON object on stdout, for success and for failure",
    "--no-refresh": "only read the cache",
    "--force": "fetch even while backing off after failures (one fetch at a time still holds)",
    "--format": "template for the line: {amount}, {line} (the default text), {state} "
    "(available or granted); {{ and }} for braces",
}
DEFAULTS: Final = {"json": False, "no_refresh": False, "force": False, "format": None}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def port(text: str) -> int:
    """A TCP port, 0 (any free port) to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535, got {value}")
    return value


def _add(parser: argparse.ArgumentParser, option: str, dest: str, flag: bool, sub: bool) -> None:
    # A subcommand's unset option must not hide a value given before the command.
    if flag:
        default: Any = argparse.SUPPRESS if sub else False
        parser.add_argument(
            option, dest=dest, action="store_true", default=default, help=HELP[option]
        )
    else:
        default = argparse.SUPPRESS if sub else None
        parser.add_argument(option, dest=dest, default=default, help=HELP[option])


def _parser(only: str | None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that command's subparser (argparse's set-up, with its
    translations of every help text, is most of a quick command's run time)."""
    parser = _Parser(
        prog=PROG,
        description="Look up, cache and show an organization's overage credit grant.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for option, dest in STORE_OPTIONS.items():
        _add(parser, option, dest, flag=False, sub=False)
    for option, dest in GLOBAL_FLAGS.items():
        _add(parser, option, dest, flag=True, sub=False)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for name, summary in SUMMARIES.items():
        if only is not None and name != only:
            continue
        sub = commands.add_parser(
            name,
            help=summary,
            description=summary[0].upper() + summary[1:] + ".",
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name in COMMANDS:
            flags, valued = COMMANDS[name]
            for option, dest in {**STORE_OPTIONS, **valued}.items():
                _add(sub, option, dest, flag=False, sub=True)
            for option, dest in flags.items():
                _add(sub, option, dest, flag=True, sub=True)
        elif name == "demo":
            _add(sub, "--json", "json", flag=True, sub=True)
        elif name == "serve":
            _add(sub, "--json", "json", flag=True, sub=True)
            sub.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
            sub.add_argument("--port", type=port, default=8765, help="port (default 8765; 0: any)")
            sub.add_argument("--grants", help="grants file (default: built-in sample)")
    return parser


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """argparse's reading of `argv`, every option of `argv.Options` present. It exits with
    0 after --help and --version, and raises `UsageError` for a usage error."""
    command = command_of(argv)
    args = _parser(command if command in SUMMARIES else None).parse_args(list(argv))
    for key, value in DEFAULTS.items():
        if not hasattr(args, key):
            setattr(args, key, value)
    return args
