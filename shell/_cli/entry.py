"""``overage-grant``: the command line.

Exit codes (`output.EXIT_CODES`): 0 ok; 1 failure; 2 usage error (every command, an
invalid option value included); 3 nothing to show or not logged in. ``statusline``
always exits 0. A failure is one line on stderr, never a traceback; under ``--json`` it is
also one JSON object on stdout.

The common command lines are parsed by `argv` without argparse; `parser` (the full
grammar, with help and usage errors) is loaded only for the rest. Imports stay lazy:
``statusline`` and ``show --no-refresh`` on a fresh cache load neither argparse nor
requests nor filelock nor the HTTP server.
"""

from __future__ import annotations

import os
import sys

from .argv import command_of, parse_fast

TYPE_CHECKING = False  # not `typing`'s: the status line's fast path must not load it
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = ["COMMANDS", "main"]

PROG = "overage-grant"
# Each command's module and function: a command loads only what it uses.
COMMANDS = {
    "show": ".show:cmd_show",
    "refresh": ".commands:cmd_refresh",
    "invalidate": ".commands:cmd_invalidate",
    "status": ".status:cmd_status",
    "serve": ".serving:cmd_serve",
    "demo": ".commands:cmd_demo",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (the console script exits with it)."""
    words = sys.argv[1:] if argv is None else list(argv)
    if command_of(words) == "statusline":
        from .fastline import replay  # noqa: PLC0415  (os and sys: nothing else is loaded)

        if replay(words, os.environ):
            return 0
        from .._log import quiet  # noqa: PLC0415

        quiet()  # a failure the library logs must not print a traceback under the line
        from .statusline import run_from_argv  # noqa: PLC0415

        return run_from_argv(words)
    as_json = "--json" in words
    from .options import UsageError, usage_problem  # noqa: PLC0415
    from .output import EXIT_USAGE, CommandFailed  # noqa: PLC0415

    try:
        args: Any = parse_fast(words)
        if args is None:
            from .parser import parse  # noqa: PLC0415  (help, usage errors, serve, demo)

            args = parse(words)
        problem = usage_problem(args)
        if problem is not None:
            raise UsageError(problem)
    except UsageError as error:
        usage = CommandFailed(f"usage error: {error} (see --help)", EXIT_USAGE, "usage_error")
        return _failed(usage, as_json)
    from .._log import quiet  # noqa: PLC0415

    # The library logs failures; the command already says them in its one error line.
    quiet()
    try:
        import importlib  # noqa: PLC0415

        module, _, function = COMMANDS[args.command].partition(":")
        return int(getattr(importlib.import_module(module, __package__), function)(args))
    except CommandFailed as failure:
        return _failed(failure, as_json)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug or a broken install: still one line, never a traceback
        return _failed(CommandFailed(f"internal error ({type(exc).__name__})"), as_json)


def _failed(failure: Any, as_json: bool) -> int:
    """Say a failure: one line on stderr; under ``--json`` one object on stdout too."""
    if as_json:
        import json  # noqa: PLC0415

        print(json.dumps(failure.as_json(), indent=2))
    print(f"{PROG}: {failure}", file=sys.stderr)
    return int(failure.code)
