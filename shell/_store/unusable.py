"""A store that cannot be made (a malformed Redis URL, the ``redis`` extra missing, a
cluster none of whose nodes answered when its client was made): every call answers
"unavailable" with the reason, so the hot path and the CLI report it as an outcome
instead of raising. `may_retry` says when making the real store is worth another try."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence

from returns.result import Failure, Result

from .port import (
    Config,
    LeaseStatus,
    Reducer,
    StoreError,
    StoreErrorKind,
    UpdateResult,
    UpdateStatus,
)

__all__ = ["UnusableStore"]


class UnusableStore:
    """The store port, always unavailable for `reason` (which holds no secret)."""

    def __init__(self, location: str, reason: str, *, retry_after_s: float | None = None) -> None:
        self._location = location
        self.reason = reason
        self._retry_at = None if retry_after_s is None else time.monotonic() + retry_after_s

    def may_retry(self) -> bool:
        """Whether the trouble may have passed (never, for a malformed URL)."""
        return self._retry_at is not None and time.monotonic() >= self._retry_at

    def __repr__(self) -> str:
        return f"UnusableStore({self._location!r}, {self.reason!r})"

    @property
    def key(self) -> str:
        return f"unusable#{self._location}"

    @property
    def location(self) -> str:
        return self._location

    def close(self) -> None:
        """Nothing to close."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def read_checked(
        self, org_id: str | None = None, sections: Sequence[str] = ()
    ) -> Result[Config, StoreError]:
        return Failure(StoreError(StoreErrorKind.UNAVAILABLE, self.reason))

    def read(self, org_id: str | None = None, sections: Sequence[str] = ()) -> Config:
        return {}

    def update(
        self, reducer: Reducer, org_id: str | None = None, sections: Sequence[str] = ()
    ) -> UpdateResult:
        return UpdateResult(UpdateStatus.UNAVAILABLE, self.reason)

    @contextlib.contextmanager
    def lease(self, org_id: str, section: str = "") -> Iterator[LeaseStatus]:
        yield LeaseStatus.UNAVAILABLE
