"""What every command shares: exit codes, the one-line failure, the settings, the output.

Exit codes: 0 ok; 1 failure; 2 usage error; 3 nothing to show or not logged in.
"""

from __future__ import annotations

import json
from typing import Any, Final

from .._outcomes import InvalidateStatus, RefreshStatus
from .._settings import Settings

__all__ = [
    "EXIT_FAILURE",
    "EXIT_NO_GRANT",
    "EXIT_OK",
    "CommandFailed",
    "age",
    "emit",
    "settings_of",
    "words",
]

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_NO_GRANT: Final = 3


class CommandFailed(Exception):
    """A one-line error and the exit code that goes with it."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


def settings_of(args: Any) -> Settings:
    """`Settings.from_env()` with the command line's options over it."""
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


def emit(args: Any, data: dict[str, object], text: str) -> None:
    """Print `data` as JSON under ``--json``, else `text`."""
    print(json.dumps(data, indent=2) if args.json else text)


def words(status: RefreshStatus | InvalidateStatus, detail: str) -> str:
    """An outcome in words: ``unchanged``, ``fetch failed http: HTTP 503``."""
    said = status.value.replace("_", " ")
    return f"{said}: {detail}" if detail else said


def age(ms: int) -> str:
    """``0m 41s``, ``2h 05m``; a negative age is a stamp in the future."""
    if ms < 0:
        return f"in {age(-ms)} (clock skew)"
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"
