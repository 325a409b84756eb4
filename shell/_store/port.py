"""The store port: what the service needs from wherever the config lives.

`FileStore` (a JSON file shared by the processes of one machine) and `RedisStore` (one
Redis shared by a fleet) implement it; the same pure reducers decide what they write.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from returns.result import Result

from overage_credit_grant.core._record import Record

__all__ = [
    "Config",
    "HandsOverLeases",
    "LeaseStatus",
    "Reducer",
    "Store",
    "StoreError",
    "StoreErrorKind",
    "UpdateResult",
    "UpdateStatus",
]

Config = Mapping[str, object]
Reducer = Callable[[Config], Config]


class UpdateStatus(enum.Enum):
    WRITTEN = "written"
    UNCHANGED = "unchanged"
    LOCK_TIMEOUT = "lock_timeout"
    UNREADABLE = "unreadable"
    WRITE_FAILED = "write_failed"
    UNAVAILABLE = "unavailable"


class UpdateResult(Record):
    status: UpdateStatus
    detail: str = ""


class LeaseStatus(enum.Enum):
    ACQUIRED = "acquired"
    BUSY = "busy"
    FAILED = "failed"  # the lease could not be created (an unwritable folder, say)
    UNAVAILABLE = "unavailable"  # the store could not be reached


class StoreErrorKind(enum.Enum):
    UNREADABLE = "unreadable"  # it answered, but what it holds must not be used or written
    UNAVAILABLE = "unavailable"  # it did not answer (a shared store that is down)


class StoreError(Record):
    kind: StoreErrorKind
    detail: str

    def __str__(self) -> str:
        return self.detail


class Store(Protocol):
    """The port: what the service needs from wherever the config lives.

    A config is one JSON object whose top-level *sections* (one per lookup, such as
    ``"overageCreditGrantCache"``, and its ``...Backoff`` twin) map organization ids to
    entries. `org_id` and `sections` scope a read or an update: the file store ignores
    them (the whole file is one config); a store that keeps one record per (section,
    organization) (Redis) reads and writes only those records, and lists a section's
    records for a read without an org. An empty `sections` means the store's default.
    """

    @property
    def key(self) -> str:
        """A stable identity (for in-process single-flight and backoff)."""
        ...

    @property
    def location(self) -> str:
        """Where the data lives, for people (no secrets)."""
        ...

    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch by the clock every user of the store shares
        (the machine's for a file, the server's for Redis): entries are stamped and
        judged fresh by it, unless the settings inject a clock of their own."""
        ...

    def read_checked(
        self, org_id: str | None = None, sections: Sequence[str] = ()
    ) -> Result[Config, StoreError]:
        """Lock-free read: the config, or why it cannot be used."""
        ...

    def read(self, org_id: str | None = None, sections: Sequence[str] = ()) -> Config:
        """Lock-free read for the hot path; an unusable config reads as empty. It may answer
        from what the store read a moment ago (a bound the store documents); the write paths
        use `read_checked`, which must always look."""
        ...

    def update(
        self, reducer: Reducer, org_id: str | None = None, sections: Sequence[str] = ()
    ) -> UpdateResult:
        """Exclusive re-read, reduce, and write only if the reducer returned a new object."""
        ...

    def lease(
        self, org_id: str, section: str = ""
    ) -> contextlib.AbstractContextManager[LeaseStatus]:
        """A non-blocking lease on fetching (`section`, `org_id`): BUSY while another caller
        holds it."""
        ...


@runtime_checkable
class HandsOverLeases(Protocol):
    """A store whose fetch lease one process can take for another it starts (Redis):
    the starter calls `hand_over_lease`, the started process `adopt_lease` with the owner
    id, and its next `lease` of that (section, org) is that one, if still held."""

    def hand_over_lease(self, org_id: str, section: str = "") -> tuple[LeaseStatus, str]: ...

    def adopt_lease(self, org_id: str, section: str, owner: str) -> None: ...

    def give_back_lease(self, org_id: str, section: str, owner: str) -> None: ...
