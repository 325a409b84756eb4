"""Process-wide memo tables: one kind of table, one bounding rule.

A memo remembers an answer that can always be worked out again (the parse of an unchanged
file, a decoded entry, a store object for a path, whether a path is Claude Code's):
forgetting one costs time, never correctness. Every memo of the shell is a `Memo`, made by
`memo()` and listed in `MEMOS`:

* at most `limit` entries; when a new key comes to a full table, the oldest key goes;
* reads take no lock (``table.get(key)`` is the dict's own ``get``); inserts and removals
  take the table's lock, so threads never see a table mid-change;
* `clear_all()` forgets every memo (tests use it; nothing needs it for correctness).

State that is *not* a memo (a flight in progress, a held lease's descriptor, a backoff this
process must remember because the store could not, a pool of Redis connections) lives in
its own module, which says in one line why.
"""

from __future__ import annotations

import _thread
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["MEMOS", "Memo", "clear_all", "memo"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """A bounded memo table (see the module docstring)."""

    __slots__ = ("_data", "_lock", "get", "limit", "name")

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = max(1, limit)
        self._data: dict[K, V] = {}
        self._lock = _thread.allocate_lock()
        self.get: Callable[[K], V | None] = self._data.get  # the hot path: no extra call

    def put(self, key: K, value: V) -> V:
        """Remember `value` for `key` (the oldest key goes when the table is full)."""
        with self._lock:
            data = self._data
            if key not in data and len(data) >= self.limit:
                del data[next(iter(data))]
            data[key] = value
        return value

    def discard(self, key: K) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Memo({self.name!r}, {len(self._data)}/{self.limit})"


MEMOS: list[Memo[object, object]] = []


def memo(name: str, limit: int = 256) -> Memo[K, V]:
    """A new memo table, listed in `MEMOS`."""
    table: Memo[K, V] = Memo(name, limit)
    MEMOS.append(table)  # type: ignore[arg-type]
    return table


def clear_all() -> None:
    """Forget every memo of the process."""
    for table in MEMOS:
        table.clear()
