"""What every command shares: the exit-code table, the one-line failure, --json, words.

Every command ends in exactly one of these, printed by `entry.main`:

* success: its output on stdout (under ``--json``, one JSON object with ``"status"``);
* failure: one line on stderr, and under ``--json`` also one JSON object on stdout with
  ``"status"``, ``"message"`` and ``"exit_code"``.
"""

from __future__ import annotations

import json
from typing import Any, Final

__all__ = [
    "EXIT_CODES",
    "EXIT_FAILURE",
    "EXIT_NOTHING",
    "EXIT_OK",
    "EXIT_USAGE",
    "CommandFailed",
    "age",
    "emit",
]

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
EXIT_NOTHING: Final = 3

EXIT_CODES: Final = {
    EXIT_OK: "ok",
    EXIT_FAILURE: "failure: a fetch failed or is backing off, the config cannot be read or "
    "written, a lock timed out, or a setting was refused",
    EXIT_USAGE: "usage error: an unknown option, a missing value, or a value of the wrong "
    "form (an --org that is not a UUID, a URL that does not parse, a port outside 0-65535)",
    EXIT_NOTHING: "nothing to show, or not logged in: no organization, no credentials, "
    "nothing cached",
}


class CommandFailed(Exception):
    """A failed command: its one-line message, exit code, status word, and what else its
    JSON object says."""

    def __init__(
        self,
        message: str,
        code: int = EXIT_FAILURE,
        status: str = "failed",
        data: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.data = data or {}

    def as_json(self) -> dict[str, object]:
        return {**self.data, "status": self.status, "message": str(self), "exit_code": self.code}


def emit(args: Any, data: dict[str, object], text: str) -> None:
    """A success: `data` as one JSON object under ``--json`` (``"status"`` defaults to
    ``"ok"``), else `text`."""
    if args.json:
        print(json.dumps({"status": "ok", **data, "exit_code": EXIT_OK}, indent=2))
    else:
        print(text)


def age(ms: int) -> str:
    """``0m 41s``, ``2h 05m``; a negative age is a stamp in the future."""
    if ms < 0:
        return f"in {age(-ms)} (clock skew)"
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"
