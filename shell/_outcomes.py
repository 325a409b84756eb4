"""What a refresh or an invalidate did, as values. The entry points never raise."""

from __future__ import annotations

import enum
from typing import Generic, TypeVar

from overage_credit_grant.core._record import Record

__all__ = [
    "FetchError",
    "FetchErrorKind",
    "InvalidateOutcome",
    "InvalidateStatus",
    "RefreshOutcome",
    "RefreshStatus",
]


class RefreshStatus(enum.Enum):
    WRITTEN = "written"
    UNCHANGED = "unchanged"
    SKIPPED_ESSENTIAL_TRAFFIC = "skipped_essential_traffic"
    SKIPPED_NO_ORGANIZATION = "skipped_no_organization"
    SKIPPED_NO_CREDENTIALS = "skipped_no_credentials"
    SKIPPED_IN_FLIGHT = "skipped_in_flight"
    FRESH_IN_CLAUDE_CODE = "fresh_in_claude_code"
    BACKING_OFF = "backing_off"
    REFUSED_INVALID_ORG = "refused_invalid_org"
    REFUSED_INSECURE_URL = "refused_insecure_url"
    REFUSED_MALFORMED_URL = "refused_malformed_url"
    REFUSED_UNSAFE_CONFIG = "refused_unsafe_config"
    FETCH_FAILED_HTTP = "fetch_failed_http"
    FETCH_FAILED_NETWORK = "fetch_failed_network"
    FETCH_FAILED_TIMEOUT = "fetch_failed_timeout"
    FETCH_FAILED_PAYLOAD = "fetch_failed_payload"
    LOCK_TIMEOUT = "lock_timeout"
    CONFIG_UNREADABLE = "config_unreadable"
    WRITE_FAILED = "write_failed"
    STORE_UNAVAILABLE = "store_unavailable"
    INTERNAL_ERROR = "internal_error"


_REFRESH_OK = frozenset({RefreshStatus.WRITTEN, RefreshStatus.UNCHANGED})
_REFRESH_SKIPPED = frozenset(
    {
        RefreshStatus.SKIPPED_ESSENTIAL_TRAFFIC,
        RefreshStatus.SKIPPED_NO_ORGANIZATION,
        RefreshStatus.SKIPPED_NO_CREDENTIALS,
        RefreshStatus.SKIPPED_IN_FLIGHT,
        RefreshStatus.FRESH_IN_CLAUDE_CODE,
        RefreshStatus.BACKING_OFF,
    }
)
_FETCH_FAILED = frozenset(
    {
        RefreshStatus.FETCH_FAILED_HTTP,
        RefreshStatus.FETCH_FAILED_NETWORK,
        RefreshStatus.FETCH_FAILED_TIMEOUT,
        RefreshStatus.FETCH_FAILED_PAYLOAD,
    }
)


T = TypeVar("T")


class RefreshOutcome(Record, Generic[T]):
    """What one refresh did. `value` is the fetched record when a fetch succeeded (and
    Claude Code's fresh record for `FRESH_IN_CLAUDE_CODE`, which sends no request)."""

    status: RefreshStatus
    detail: str = ""
    value: T | None = None
    http_status: int | None = None

    @property
    def info(self) -> T | None:
        """The grant's name for `value`."""
        return self.value

    @property
    def ok(self) -> bool:
        """The grant was fetched and is now stored (written, or already there)."""
        return self.status in _REFRESH_OK

    @property
    def skipped(self) -> bool:
        """Nothing was attempted, by rule (privacy, no account, in flight, fresh in Claude
        Code's cache, backing off)."""
        return self.status in _REFRESH_SKIPPED

    @property
    def fetch_failed(self) -> bool:
        return self.status in _FETCH_FAILED

    def __str__(self) -> str:
        return f"{self.status.value}: {self.detail}" if self.detail else self.status.value


class InvalidateStatus(enum.Enum):
    REMOVED = "removed"
    NOTHING_TO_REMOVE = "nothing_to_remove"
    NO_ORGANIZATION = "no_organization"
    REFUSED_INVALID_ORG = "refused_invalid_org"
    REFUSED_UNSAFE_CONFIG = "refused_unsafe_config"
    LOCK_TIMEOUT = "lock_timeout"
    CONFIG_UNREADABLE = "config_unreadable"
    WRITE_FAILED = "write_failed"
    STORE_UNAVAILABLE = "store_unavailable"
    INTERNAL_ERROR = "internal_error"


class InvalidateOutcome(Record):
    status: InvalidateStatus
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (InvalidateStatus.REMOVED, InvalidateStatus.NOTHING_TO_REMOVE)

    def __str__(self) -> str:
        return f"{self.status.value}: {self.detail}" if self.detail else self.status.value


class FetchErrorKind(enum.Enum):
    HTTP = "http"
    NETWORK = "network"
    TIMEOUT = "timeout"
    PAYLOAD = "payload"
    INVALID_ORG = "invalid_org"
    INSECURE_URL = "insecure_url"
    MALFORMED_URL = "malformed_url"
    BAD_TOKEN = "bad_token"  # noqa: S105  (a status name, not a secret)


class FetchError(Record):
    """Why a fetch failed, in words that never hold the token."""

    kind: FetchErrorKind
    detail: str
    http_status: int | None = None
