"""A store on Redis, for a fleet of hosts sharing one cache (optional extra ``redis``).

Theory of operation
-------------------
Each (section, organization) is one key, ``<prefix><section>:<org>``: the grant of an
org is ``<prefix>overageCreditGrantCache:<org>``, holding the same JSON as the file
store's entry (``{"info": {...}, "timestamp": <ms>}``); its backoff state is under
``<prefix>overageCreditGrantCacheBackoff:<org>``. The service and the pure reducers
see a *view*: ``{section: {org: entry}}`` holding just the sections and orgs asked for,
so the very same `after_refresh` / `after_invalidate` decide what to write.

* A lock-free read is served from the near cache (`nearcache`: the records this process
  has read, kept coherent by Redis's invalidation messages), else one ``GET`` (``MGET``
  for several sections); an unscoped read, for ``status``, is a ``SCAN`` of the section.
  ``near_cache=False`` sends every read to Redis.
* `update` is an optimistic transaction: ``WATCH`` the keys, ``GET`` them, reduce; when
  the reducer returned ``prev`` itself (or changed none of the keys), ``UNWATCH`` and no
  write command at all; otherwise ``MULTI`` / ``SET PX`` (or ``DEL``) for each changed key
  / ``EXEC``, retried a bounded number of times when another host changed a key in
  between. Entries expire well past the TTL (`entry_expiry_ms`, a week by default), so
  abandoned orgs disappear.
* The fetch lease is ``SET <prefix>lease:<section>:<org> <random> NX PX``, released only
  by its owner (a compare-and-delete script), so one host in the fleet fetches per org.
* Every call is bounded by the client's socket timeouts, with no hidden retries. A
  Redis that is down, slow or not Redis gives `StoreErrorKind.UNAVAILABLE`, never an
  exception. Nothing but cache entries, backoff states and random lease ids is ever
  sent to Redis.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from returns.result import Failure, Result, Success

from overage_credit_grant.core import CACHE_KEY, CACHE_TTL_MS

from .port import (
    Config,
    LeaseStatus,
    Reducer,
    StoreError,
    StoreErrorKind,
    UpdateResult,
    UpdateStatus,
)

if TYPE_CHECKING:
    from .nearcache import NearCache

__all__ = ["RedisStore"]

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


def _glob_escape(text: str) -> str:
    """`text` as a literal in a Redis glob pattern."""
    for special in ("\\", "*", "?", "[", "]"):
        text = text.replace(special, "\\" + special)
    return text


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
        near_cache: bool = True,
        near_cache_size: int = 10_000,
    ) -> None:
        import redis  # noqa: PLC0415

        from .nearcache import NearCache  # noqa: PLC0415

        self._redis = redis
        self.client = client
        self.prefix = prefix
        self.cache_key = cache_key
        self.entry_expiry_ms = entry_expiry_ms
        self.lease_ms = lease_ms
        self.max_attempts = max_attempts
        self._location = location
        self._release = client.register_script(_RELEASE)
        self.near: NearCache | None = (
            NearCache(self._listener_connection, prefix, max_entries=near_cache_size)
            if near_cache
            else None
        )

    def _listener_connection(self) -> Any:
        """A new connection like the pool's, in RESP2, for the near cache's listener."""
        pool = self.client.connection_pool
        # The pool's own extras (RESP3 maintenance notices, bookkeeping) do not apply here.
        skip = ("maint_notifications", "orig_", "himport")
        kwargs = {k: v for k, v in pool.connection_kwargs.items() if not k.startswith(skip)}
        return pool.connection_class(**{**kwargs, "protocol": 2})

    def close(self) -> None:
        """Stop the near cache's listener and close the connections."""
        if self.near is not None:
            self.near.close()
        self.client.close()

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

    def entry_key(self, org_id: str, section: str | None = None) -> str:
        """The key of one (section, org) record; the section defaults to `cache_key`."""
        return f"{self.prefix}{section or self.cache_key}:{org_id}"

    def _lease_key(self, org_id: str, section: str) -> str:
        return f"{self.prefix}lease:{section or self.cache_key}:{org_id.lower()}"

    def _sections(self, sections: Sequence[str]) -> tuple[str, ...]:
        return tuple(sections) or (self.cache_key,)

    def _errors(self) -> tuple[type[BaseException], ...]:
        return (self._redis.RedisError, OSError)

    def _unavailable(self, exc: BaseException) -> StoreError:
        return StoreError(StoreErrorKind.UNAVAILABLE, f"redis unavailable ({type(exc).__name__})")

    # -- the view the reducers see ------------------------------------------------------

    @staticmethod
    def _view(raw: Mapping[tuple[str, str], bytes | None]) -> Config:
        view: dict[str, dict[str, object]] = {}
        for (section, org), data in raw.items():
            if data is None:
                continue
            try:
                entry: object = json.loads(data)
            except (ValueError, RecursionError):
                entry = data.decode("utf-8", "replace")  # malformed: never trusted
            view.setdefault(section, {})[org] = entry
        return view

    @staticmethod
    def _entry_in(config: Config, section: str, org_id: str) -> object | None:
        table = config.get(section)
        return table.get(org_id) if isinstance(table, Mapping) else None

    @classmethod
    def _changed(
        cls, prev: Config, nxt: Config, sections: tuple[str, ...], org_id: str
    ) -> list[tuple[str, object | None]]:
        """The (section, new entry) pairs the reducer changed; None means delete."""
        found = []
        for section in sections:
            entry = cls._entry_in(nxt, section, org_id)
            if entry != cls._entry_in(prev, section, org_id):
                found.append((section, entry))
        return found

    # -- the port -----------------------------------------------------------------------

    def read_checked(
        self, org_id: str | None = None, sections: Sequence[str] = ()
    ) -> Result[Config, StoreError]:
        names = self._sections(sections)
        try:
            if org_id is None:
                return Success(self._view(self._scan_all(names)))
            keys = tuple(self.entry_key(org_id, n) for n in names)
            near = self.near
            if near is None:
                return Success(self._fetch(org_id, names, keys))
            view = near.get(keys)
            if view is None:
                view = near.load(keys, lambda: self._fetch(org_id, names, keys))
            return Success(view)  # type: ignore[arg-type]
        except self._errors() as exc:
            return Failure(self._unavailable(exc))

    def _fetch(self, org_id: str, names: tuple[str, ...], keys: tuple[str, ...]) -> Config:
        if len(keys) == 1:
            return self._view({(names[0], org_id): self.client.get(keys[0])})
        values = self.client.mget(list(keys))
        return self._view({(n, org_id): v for n, v in zip(names, values, strict=True)})

    def read(self, org_id: str | None = None, sections: Sequence[str] = ()) -> Config:
        return self.read_checked(org_id, sections).value_or({})

    def _scan_all(self, sections: tuple[str, ...]) -> dict[tuple[str, str], bytes | None]:
        found: dict[tuple[str, str], bytes | None] = {}
        for section in sections:
            start = len(f"{self.prefix}{section}:")
            match = _glob_escape(f"{self.prefix}{section}:") + "*"
            keys = list(self.client.scan_iter(match=match, count=_SCAN_BATCH))
            for i in range(0, len(keys), _SCAN_BATCH):
                batch = keys[i : i + _SCAN_BATCH]
                for key, value in zip(batch, self.client.mget(batch), strict=True):
                    found[(section, key.decode("utf-8", "replace")[start:])] = value
        return found

    def update(
        self, reducer: Reducer, org_id: str | None = None, sections: Sequence[str] = ()
    ) -> UpdateResult:
        if org_id is None:
            return UpdateResult(
                UpdateStatus.WRITE_FAILED, "the redis store updates one organization at a time"
            )
        names = self._sections(sections)
        keys = {name: self.entry_key(org_id, name) for name in names}
        try:
            with self.client.pipeline() as pipe:
                for _ in range(self.max_attempts):
                    try:
                        pipe.watch(*keys.values())
                        prev = self._view({(n, org_id): pipe.get(k) for n, k in keys.items()})
                        nxt = reducer(prev)
                        changed = [] if nxt is prev else self._changed(prev, nxt, names, org_id)
                        if not changed:
                            pipe.unwatch()
                            return UpdateResult(UpdateStatus.UNCHANGED)
                        pipe.multi()
                        for name, entry in changed:
                            if entry is None:
                                pipe.delete(keys[name])
                            else:
                                pipe.set(keys[name], json.dumps(entry), px=self.entry_expiry_ms)
                        pipe.execute()
                        if self.near is not None:  # before Redis's own message arrives
                            self.near.invalidate(list(keys.values()))
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
    def lease(self, org_id: str, section: str = "") -> Iterator[LeaseStatus]:
        key = self._lease_key(org_id, section)
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
