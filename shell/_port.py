"""The store port: what the service needs from wherever the config lives.

`FileStore` (a JSON file shared by the processes of one machine) and `RedisStore` (one
Redis shared by a fleet) implement it; the same pure reducers decide what they write.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from returns.result import Result

__all__ = [
    "Config",
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


@dataclass(frozen=True, slots=True)
class UpdateResult:
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


@dataclass(frozen=True, slots=True)
class StoreError:
    kind: StoreErrorKind
    detail: str

    def __str__(self) -> str:
        return self.detail


class Store(Protocol):
    """The port: what the service needs from wherever the config lives.

    `org_id` scopes a read or an update to one organization's entry. The file store
    ignores it (the whole file is one config); a store that keeps one record per
    organization (Redis) reads and writes only that record, and lists all of them for
    an unscoped read.
    """

    @property
    def key(self) -> str:
        """A stable identity (for in-process single-flight and backoff)."""
        ...

    @property
    def location(self) -> str:
        """Where the data lives, for people (no secrets)."""
        ...

    def read_checked(self, org_id: str | None = None) -> Result[Config, StoreError]:
        """Lock-free read: the config, or why it cannot be used."""
        ...

    def read(self, org_id: str | None = None) -> Config:
        """Lock-free read; an unusable config reads as empty."""
        ...

    def update(self, reducer: Reducer, org_id: str | None = None) -> UpdateResult:
        """Exclusive re-read, reduce, and write only if the reducer returned a new object."""
        ...

    def lease(self, org_id: str) -> contextlib.AbstractContextManager[LeaseStatus]:
        """A non-blocking lease on fetching `org_id`: BUSY when another caller holds it."""
        ...
