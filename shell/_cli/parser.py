"""The full grammar of ``overage-grant``, in argparse: help texts and usage errors.

Loaded only when the fast path (`argv`) does not own the command line: ``--help``,
a usage error, ``serve``, ``demo``. The commands' options come from `_argv.COMMANDS`,
so the two parsers cannot drift apart.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, Final, NoReturn

from .argv import COMMANDS, GLOBAL_FLAGS, STORE_OPTIONS

__all__ = ["EXIT_USAGE", "parse"]

EXIT_USAGE: Final = 2
PROG: Final = "overage-grant"
EPILOG: Final = """\
exit codes: 0 ok, 1 failure, 2 usage error, 3 no grant or not logged in
(statusline always exits 0).
environment: OVERAGE_GRANT_CONFIG, OVERAGE_GRANT_BASE_URL, OVERAGE_GRANT_REDIS_URL,
CLAUDE_CODE_ORGANIZATION_UUID, CLAUDE_CODE_OAUTH_TOKEN, CLAUDE_CONFIG_DIR,
CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC."""

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
    "--json": "machine-readable output",
    "--no-refresh": "only read the cache",
    "--format": "template for the line: {amount}, {line} (the default text), {state} "
    "(available or granted); {{ and }} for braces",
}
DEFAULTS: Final = {"json": False, "no_refresh": False, "format": None}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


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
            sub.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
            sub.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any)")
            sub.add_argument("--grants", help="grants file (default: built-in sample)")
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The command word of `argv`, if it names one (the global options may precede it)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in STORE_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            return arg if arg in SUMMARIES else None
    return None


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """argparse's reading of `argv` (it exits with 0 for --help and 2 for a usage error),
    every option of `_argv.Options` present."""
    args = _parser(_command_in(argv)).parse_args(list(argv))
    for key, value in DEFAULTS.items():
        if not hasattr(args, key):
            setattr(args, key, value)
    return args
