"""What every command shares: the exit-code table, the one-line failure, --json, words.

Every command ends in exactly one of these, printed by `entry.main`:

* success: its output on stdout (under ``--json``, one JSON object with ``"status"``);
* failure: one line on stderr, and under ``--json`` also one JSON object on stdout with
  ``"status"``, ``"message"`` and ``"exit_code"``.
"""

from __future__ import annotations

import json
from typing import Any, Final

from .._outcomes import InvalidateStatus, RefreshStatus

__all__ = [
    "EXIT_CODES",
    "EXIT_FAILURE",
    "EXIT_NOTHING",
    "EXIT_OK",
    "EXIT_USAGE",
    "INVALIDATE_EXIT",
    "REFRESH_EXIT",
    "CommandFailed",
    "age",
    "emit",
    "words",
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

_R = RefreshStatus
REFRESH_EXIT: Final[dict[RefreshStatus, int]] = {
    _R.WRITTEN: EXIT_OK,
    _R.UNCHANGED: EXIT_OK,
    _R.SKIPPED_ESSENTIAL_TRAFFIC: EXIT_OK,  # as the user asked
    _R.SKIPPED_NO_ORGANIZATION: EXIT_NOTHING,
    _R.SKIPPED_NO_CREDENTIALS: EXIT_NOTHING,
    _R.SKIPPED_IN_FLIGHT: EXIT_OK,  # another process is fetching it
    _R.FRESH_IN_CLAUDE_CODE: EXIT_OK,
    _R.BACKING_OFF: EXIT_FAILURE,
    _R.REFUSED_INVALID_ORG: EXIT_FAILURE,
    _R.REFUSED_INSECURE_URL: EXIT_FAILURE,
    _R.REFUSED_MALFORMED_URL: EXIT_FAILURE,
    _R.REFUSED_UNSAFE_CONFIG: EXIT_FAILURE,
    _R.FETCH_FAILED_HTTP: EXIT_FAILURE,
    _R.FETCH_FAILED_NETWORK: EXIT_FAILURE,
    _R.FETCH_FAILED_TIMEOUT: EXIT_FAILURE,
    _R.FETCH_FAILED_PAYLOAD: EXIT_FAILURE,
    _R.LOCK_TIMEOUT: EXIT_FAILURE,
    _R.CONFIG_UNREADABLE: EXIT_FAILURE,
    _R.WRITE_FAILED: EXIT_FAILURE,
    _R.STORE_UNAVAILABLE: EXIT_FAILURE,
    _R.INTERNAL_ERROR: EXIT_FAILURE,
}
_I = InvalidateStatus
INVALIDATE_EXIT: Final[dict[InvalidateStatus, int]] = {
    _I.REMOVED: EXIT_OK,
    _I.NOTHING_TO_REMOVE: EXIT_OK,
    _I.NO_ORGANIZATION: EXIT_NOTHING,
    _I.REFUSED_INVALID_ORG: EXIT_FAILURE,
    _I.REFUSED_UNSAFE_CONFIG: EXIT_FAILURE,
    _I.LOCK_TIMEOUT: EXIT_FAILURE,
    _I.CONFIG_UNREADABLE: EXIT_FAILURE,
    _I.WRITE_FAILED: EXIT_FAILURE,
    _I.STORE_UNAVAILABLE: EXIT_FAILURE,
    _I.INTERNAL_ERROR: EXIT_FAILURE,
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


_WORDS: Final[dict[RefreshStatus | InvalidateStatus, str]] = {
    RefreshStatus.SKIPPED_ESSENTIAL_TRAFFIC: "skipped, non-essential traffic is off",
}


def words(status: RefreshStatus | InvalidateStatus, detail: str) -> str:
    """An outcome in words: ``unchanged``, ``fetch failed http: HTTP 503``."""
    said = _WORDS.get(status) or status.value.replace("_", " ")
    return f"{said}: {detail}" if detail else said


def age(ms: int) -> str:
    """``0m 41s``, ``2h 05m``; a negative age is a stamp in the future."""
    if ms < 0:
        return f"in {age(-ms)} (clock skew)"
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"
