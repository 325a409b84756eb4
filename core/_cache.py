"""Per-organization TTL cache reducers, generic over the cached record.

Theory of operation
-------------------
A config is a JSON object (a `Mapping[str, object]`). One top-level key (for the
grant: ``"overageCreditGrantCache"``) holds an object mapping organization ids to
entries ``{"info": <record JSON>, "timestamp": <epoch ms>}``.

This module decides three things, from explicit inputs only:

* what a config holds for one organization right now (`PerOrgCache.read`);
* the next config after a fetch (`PerOrgCache.after_refresh`);
* the next config after dropping one organization (`PerOrgCache.after_invalidate`).

The reducers never mutate their input and return **the input object itself** when
nothing needs to be written. That identity is the whole contract with the shell:
``next is prev`` means "skip the write". Every other key of the config, and every
other organization's entry (well-formed or not), is carried over untouched.

An entry is fresh when ``0 <= now - timestamp <= ttl``: exactly ``ttl`` old is still
fresh, and an entry stamped in the future (clock skew) is stale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Final, Generic, TypeVar

from returns.maybe import Maybe, Nothing, Some
from returns.result import Result, Success

from ._grant import is_valid_org_id
from ._record import Record

__all__ = ["CACHE_TTL_MS", "CacheEntry", "PerOrgCache", "freshness_window", "is_fresh"]

CACHE_TTL_MS: Final = 60 * 60 * 1000  # one hour

T = TypeVar("T")

_INFO: Final = "info"
_TIMESTAMP: Final = "timestamp"


def is_fresh(timestamp_ms: int, now_ms: int, ttl_ms: int = CACHE_TTL_MS) -> bool:
    """`0 <= now_ms - timestamp_ms <= ttl_ms`: a future stamp is never fresh."""
    return 0 <= now_ms - timestamp_ms <= ttl_ms


def freshness_window(
    timestamps: Iterable[int], now_ms: int, ttl_ms: int = CACHE_TTL_MS
) -> tuple[int | None, int | None]:
    """The span ``[start, end)`` around `now_ms` in which `is_fresh` gives, for every stamp
    of `timestamps`, the answer it gives at `now_ms` (None: no bound on that side). An
    answer worked out from which entries are fresh holds for that whole span."""
    points = {point for t in timestamps for point in (t, t + ttl_ms + 1)}
    start = max((p for p in points if p <= now_ms), default=None)
    end = min((p for p in points if p > now_ms), default=None)
    return start, end


class CacheEntry(Record, Generic[T]):
    """One well-formed entry of a per-organization cache."""

    org_id: str
    value: T
    timestamp_ms: int

    def age_ms(self, now_ms: int) -> int:
        """Milliseconds since the entry was stamped (negative when stamped in the future)."""
        return now_ms - self.timestamp_ms

    def is_fresh(self, now_ms: int, ttl_ms: int = CACHE_TTL_MS) -> bool:
        return is_fresh(self.timestamp_ms, now_ms, ttl_ms)


def _equal(left: object, right: object) -> bool:
    return left == right


class PerOrgCache(Record, Generic[T]):
    """The reducers for one kind of record cached per organization under `key`.

    `decode` turns an entry's stored ``info`` JSON back into a record (and rejects
    anything malformed); `encode` gives the JSON to store; `equal` decides whether a
    fetched record is "the same data" (so a fresh entry need not be rewritten).
    """

    key: str
    decode: Callable[[object], Result[T, str]]
    encode: Callable[[T], Mapping[str, object]]
    ttl_ms: int = CACHE_TTL_MS
    equal: Callable[[T, T], bool] = _equal

    def _raw_cache(self, config: Mapping[str, object]) -> Mapping[object, object] | None:
        cache = config.get(self.key) if isinstance(config, Mapping) else None
        return cache if isinstance(cache, Mapping) else None

    def _decode_entry(self, org_id: str, raw: object) -> Maybe[CacheEntry[T]]:
        if not isinstance(raw, Mapping) or _INFO not in raw:
            return Nothing
        stamp = raw.get(_TIMESTAMP)
        if type(stamp) is not int:  # not bool, not float, not missing
            return Nothing
        match self.decode(raw[_INFO]):
            case Success(value):
                return Some(CacheEntry(org_id, value, stamp))
            case _:
                return Nothing

    def entry(self, config: Mapping[str, object], org_id: str) -> Maybe[CacheEntry[T]]:
        """The well-formed entry for `org_id`, fresh or not; `Nothing` if absent or malformed."""
        cache = self._raw_cache(config)
        if cache is None or not is_valid_org_id(org_id) or org_id not in cache:
            return Nothing
        return self._decode_entry(org_id, cache[org_id])

    def entries(self, config: Mapping[str, object]) -> tuple[CacheEntry[T], ...]:
        """Every well-formed entry with a valid org id, in the config's order."""
        cache = self._raw_cache(config)
        if cache is None:
            return ()
        found: list[CacheEntry[T]] = []
        for org_id, raw in cache.items():
            if isinstance(org_id, str) and is_valid_org_id(org_id):
                self._decode_entry(org_id, raw).map(found.append)
        return tuple(found)

    def read(self, config: Mapping[str, object], org_id: str, now_ms: int) -> Maybe[T]:
        """The cached record when present, well-formed and fresh at `now_ms`."""
        return self.entry(config, org_id).bind(
            lambda e: Some(e.value) if e.is_fresh(now_ms, self.ttl_ms) else Nothing
        )

    def after_refresh(
        self, prev: Mapping[str, object], org_id: str, value: T, now_ms: int
    ) -> Mapping[str, object]:
        """The config after fetching `value` at `now_ms`; `prev` itself when no write is needed.

        Equal data in a fresh entry: `prev`. Equal data in a stale entry: only the
        timestamp changes (the stored info is kept as it is). New data: the entry
        becomes ``{"info": encode(value), "timestamp": now_ms}``. An invalid org id
        never becomes a key: `prev`.
        """
        if not is_valid_org_id(org_id):
            return prev
        cache = self._raw_cache(prev)
        raw = cache.get(org_id) if cache is not None else None
        existing = self._decode_entry(org_id, raw)
        unchanged = existing.map(lambda e: self.equal(e.value, value)).value_or(False)
        if unchanged and existing.map(lambda e: e.is_fresh(now_ms, self.ttl_ms)).value_or(False):
            return prev
        info = raw[_INFO] if unchanged and isinstance(raw, Mapping) else dict(self.encode(value))
        next_cache = {**(cache or {}), org_id: {_INFO: info, _TIMESTAMP: now_ms}}
        return {**prev, self.key: next_cache}

    def after_invalidate(self, prev: Mapping[str, object], org_id: str) -> Mapping[str, object]:
        """The config without `org_id`'s entry; `prev` itself when there is none."""
        cache = self._raw_cache(prev)
        if cache is None or org_id not in cache:
            return prev
        next_cache = {k: v for k, v in cache.items() if k != org_id}
        return {**prev, self.key: next_cache}
