"""Outcomes as the command line says them: their exit codes, and in words."""

from __future__ import annotations

from typing import Final

from overage_credit_grant.core import GrantInfo, encode_grant_info

from .._grant import format_grant_amount
from .._outcomes import InvalidateStatus, RefreshOutcome, RefreshStatus
from .backoff import FORCE_HINT
from .output import EXIT_FAILURE, EXIT_NOTHING, EXIT_OK, CommandFailed

__all__ = ["INVALIDATE_EXIT", "REFRESH_EXIT", "outcome_json", "refresh_failure", "words"]

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


_WORDS: Final[dict[RefreshStatus | InvalidateStatus, str]] = {
    RefreshStatus.SKIPPED_ESSENTIAL_TRAFFIC: "skipped, non-essential traffic is off",
}


def words(status: RefreshStatus | InvalidateStatus, detail: str) -> str:
    """An outcome in words: ``unchanged``, ``fetch failed http: HTTP 503``."""
    said = _WORDS.get(status) or status.value.replace("_", " ")
    return f"{said}: {detail}" if detail else said


def outcome_json(outcome: RefreshOutcome[GrantInfo]) -> dict[str, object]:
    value = outcome.value
    return {
        "status": outcome.status.value,
        "detail": outcome.detail,
        "grant": encode_grant_info(value) if value is not None else None,
        "amount": format_grant_amount(value) if value is not None else None,
    }


def refresh_failure(outcome: RefreshOutcome[GrantInfo], code: int | None = None) -> CommandFailed:
    said = words(outcome.status, outcome.detail)
    if outcome.status is RefreshStatus.BACKING_OFF:
        said += f" ({FORCE_HINT})"
    code = REFRESH_EXIT[outcome.status] if code is None else code
    return CommandFailed(f"refresh: {said}", code, outcome.status.value, outcome_json(outcome))
