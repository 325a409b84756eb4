"""A store on Redis, for a fleet of hosts sharing one cache (optional extra ``redis``).

Theory of operation
-------------------
Each organization is one key, ``<prefix>grant:<org>``, holding the same JSON as the file
store's entry: ``{"info": {...}, "timestamp": <ms>}``. The service and the pure reducers
see a *view*: ``{"overageCreditGrantCache": {org: entry}}`` holding just the orgs asked
for, so the very same `after_refresh` / `after_invalidate` decide what to write.

* A lock-free read is one ``GET`` (an unscoped read, for ``status``, is a ``SCAN``).
* `update` is an optimistic transaction: ``WATCH``, ``GET``, reduce; when the reducer
  returned ``prev`` itself, ``UNWATCH`` and no write command at all; otherwise
  ``MULTI`` / ``SET PX`` (or ``DEL``) / ``EXEC``, retried a bounded number of times when
  another host changed the key in between. Entries expire well past the TTL
  (`entry_expiry_ms`, a week by default), so abandoned orgs disappear.
* The fetch lease is ``SET <prefix>lease:<org> <random> NX PX``, released only by its
  owner (a compare-and-delete script), so one host in the fleet fetches per org.
* Every call is bounded by the client's socket timeouts, with no hidden retries. A
  Redis that is down, slow or not Redis gives `StoreErrorKind.UNAVAILABLE`, never an
  exception. Nothing but grant entries and random lease ids is ever sent to Redis.
"""

from __future__ import annotations

import _thread
import contextlib
import json
from collections.abc import Iterator, Mapping
from typing import Any, Final

from returns.result import Failure, Result, Success

from overage_credit_grant.core import CACHE_KEY, CACHE_TTL_MS

from ._port import (
    Config,
    LeaseStatus,
    Reducer,
    StoreError,
    StoreErrorKind,
    UpdateResult,
    UpdateStatus,
)

__all__ = ["RedisStore", "shared_redis_store"]

DEFAULT_PREFIX: Final = "overage-credit-grant:"
_RELEASE: Final = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_SCAN_BATCH: Final = 500


def _public_url(url: str) -> str:
    """The URL without its password."""
    from urllib.parse import urlsplit, urlunsplit  # noqa: PLC0415

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=user + netloc))


class RedisStore:
    """The store port on Redis (see the module docstring)."""

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = DEFAULT_PREFIX,
        cache_key: str = CACHE_KEY,
        entry_expiry_ms: int = 7 * 24 * CACHE_TTL_MS,
        lease_ms: int = 60_000,
        max_attempts: int = 16,
        location: str = "redis",
    ) -> None:
        import redis  # noqa: PLC0415

        self._redis = redis
        self.client = client
        self.prefix = prefix
        self.cache_key = cache_key
        self.entry_expiry_ms = entry_expiry_ms
        self.lease_ms = lease_ms
        self.max_attempts = max_attempts
        self._location = location
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str, *, timeout_s: float = 1.0, **options: Any) -> RedisStore:
        """A store on the Redis at `url`, every call bounded by `timeout_s`, no retries."""
        import redis  # noqa: PLC0415
        from redis.backoff import NoBackoff  # noqa: PLC0415
        from redis.retry import Retry  # noqa: PLC0415

        client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
        )
        return cls(client, location=_public_url(url), **options)

    def __repr__(self) -> str:
        return f"RedisStore({self._location!r}, prefix={self.prefix!r})"

    @property
    def key(self) -> str:
        return f"{self._location}#{self.prefix}"

    @property
    def location(self) -> str:
        return f"{self._location} (prefix {self.prefix!r})"

    def entry_key(self, org_id: str) -> str:
        return f"{self.prefix}grant:{org_id}"

    def _lease_key(self, org_id: str) -> str:
        return f"{self.prefix}lease:{org_id.lower()}"

    def _errors(self) -> tuple[type[BaseException], ...]:
        return (self._redis.RedisError, OSError)

    def _unavailable(self, exc: BaseException) -> StoreError:
        return StoreError(StoreErrorKind.UNAVAILABLE, f"redis unavailable ({type(exc).__name__})")

    # -- the view the reducers see ------------------------------------------------------

    def _view(self, raw: Mapping[str, bytes | None]) -> Config:
        entries: dict[str, object] = {}
        for org, data in raw.items():
            if data is None:
                continue
            try:
                entries[org] = json.loads(data)
            except (ValueError, RecursionError):
                entries[org] = data.decode("utf-8", "replace")  # malformed: never trusted
        return {self.cache_key: entries} if entries else {}

    def _entry_in(self, config: Config, org_id: str) -> object | None:
        cache = config.get(self.cache_key)
        return cache.get(org_id) if isinstance(cache, Mapping) else None

    # -- the port -----------------------------------------------------------------------

    def read_checked(self, org_id: str | None = None) -> Result[Config, StoreError]:
        try:
            if org_id is not None:
                return Success(self._view({org_id: self.client.get(self.entry_key(org_id))}))
            return Success(self._view(self._scan_all()))
        except self._errors() as exc:
            return Failure(self._unavailable(exc))

    def read(self, org_id: str | None = None) -> Config:
        return self.read_checked(org_id).value_or({})

    def _scan_all(self) -> dict[str, bytes | None]:
        keys = list(self.client.scan_iter(match=f"{self.prefix}grant:*", count=_SCAN_BATCH))
        found: dict[str, bytes | None] = {}
        start = len(f"{self.prefix}grant:")
        for i in range(0, len(keys), _SCAN_BATCH):
            batch = keys[i : i + _SCAN_BATCH]
            for key, value in zip(batch, self.client.mget(batch), strict=True):
                found[key.decode("utf-8", "replace")[start:]] = value
        return found

    def update(self, reducer: Reducer, org_id: str | None = None) -> UpdateResult:
        if org_id is None:
            return UpdateResult(
                UpdateStatus.WRITE_FAILED, "the redis store updates one organization at a time"
            )
        key = self.entry_key(org_id)
        try:
            with self.client.pipeline() as pipe:
                for _ in range(self.max_attempts):
                    try:
                        pipe.watch(key)
                        prev = self._view({org_id: pipe.get(key)})
                        nxt = reducer(prev)
                        if nxt is prev:
                            pipe.unwatch()
                            return UpdateResult(UpdateStatus.UNCHANGED)
                        entry = self._entry_in(nxt, org_id)
                        pipe.multi()
                        if entry is None:
                            pipe.delete(key)
                        else:
                            pipe.set(key, json.dumps(entry), px=self.entry_expiry_ms)
                        pipe.execute()
                        return UpdateResult(UpdateStatus.WRITTEN)
                    except self._redis.WatchError:
                        continue
        except self._errors() as exc:
            return UpdateResult(UpdateStatus.UNAVAILABLE, self._unavailable(exc).detail)
        except (TypeError, ValueError) as exc:
            return UpdateResult(
                UpdateStatus.WRITE_FAILED, f"entry cannot be written as JSON ({type(exc).__name__})"
            )
        return UpdateResult(
            UpdateStatus.LOCK_TIMEOUT,
            f"gave up after {self.max_attempts} transactions conflicting with other writers",
        )

    @contextlib.contextmanager
    def lease(self, org_id: str) -> Iterator[LeaseStatus]:
        key = self._lease_key(org_id)
        import secrets  # noqa: PLC0415

        owner = secrets.token_hex(16)
        try:
            acquired = self.client.set(key, owner, nx=True, px=self.lease_ms)
        except self._errors():
            yield LeaseStatus.UNAVAILABLE
            return
        if not acquired:
            yield LeaseStatus.BUSY
            return
        try:
            yield LeaseStatus.ACQUIRED
        finally:
            with contextlib.suppress(*self._errors()):  # it expires on its own anyway
                self._release(keys=[key], args=[owner])


_shared: dict[tuple[str, float], RedisStore] = {}
_shared_lock = _thread.allocate_lock()


def shared_redis_store(url: str, *, timeout_s: float = 1.0) -> RedisStore:
    """One store (and connection pool) per URL and timeout, for the whole process."""
    with _shared_lock:
        store = _shared.get((url, timeout_s))
        if store is None:
            store = _shared[(url, timeout_s)] = RedisStore.from_url(url, timeout_s=timeout_s)
        return store
