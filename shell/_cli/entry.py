"""``overage-grant``: the command line.

Exit codes: 0 ok; 1 failure (fetch failed, lock timeout, unreadable config, write
failed, refused settings); 2 usage error; 3 no grant to show or not logged in (no
organization, no credentials, nothing cached). ``statusline`` always exits 0. Errors
are one line on stderr, never a traceback.

The common command lines are parsed by `argv` without argparse; `parser` (the
full grammar, with help and usage errors) is loaded only for the rest. Imports stay
lazy: ``statusline`` and ``show --no-refresh`` on a fresh cache load neither argparse
nor requests nor filelock nor the HTTP server.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from .argv import parse_fast

__all__ = ["main"]

PROG = "overage-grant"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (the console script exits with it)."""
    words = sys.argv[1:] if argv is None else list(argv)
    args: Any = parse_fast(words)
    if args is None:
        from .parser import parse  # noqa: PLC0415  (help, usage errors, serve, demo)

        args = parse(words)
    from .._log import quiet  # noqa: PLC0415

    # The library logs failures; the command already says them in its one error line.
    quiet()
    try:
        from .commands import COMMANDS, CommandFailed  # noqa: PLC0415
    except Exception as exc:  # a broken install: still one line
        print(f"{PROG}: internal error ({type(exc).__name__})", file=sys.stderr)
        return 0 if args.command == "statusline" else 1
    try:
        return COMMANDS[args.command](args)
    except CommandFailed as failure:
        print(f"{PROG}: {failure}", file=sys.stderr)
        return failure.code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: still one line, never a traceback
        print(f"{PROG}: internal error ({type(exc).__name__})", file=sys.stderr)
        return 0 if args.command == "statusline" else 1
