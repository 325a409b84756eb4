"""A store on Redis, for a fleet of hosts sharing one cache (optional extra ``redis``):
one server, a Redis Cluster, or a master behind Sentinel (`redisurl` names each by URL).

Theory of operation
-------------------
Each (section, organization) is one key (`rediskeys`): the grant of an org is
``<prefix>overageCreditGrantCache:{<org>}``, holding the same JSON as the file store's
entry (``{"info": {...}, "timestamp": <ms>}``); its backoff state is under
``<prefix>overageCreditGrantCacheBackoff:{<org>}``, its fetch lease under
``<prefix>lease:overageCreditGrantCache:{<org>}``: one hash slot per org. The service and
the pure reducers see a *view*: ``{section: {org: entry}}`` holding just the sections and
orgs asked for, so the very same `after_refresh` / `after_invalidate` decide what to write.

* A lock-free `read` is served from the near cache (`nearcache`: the records this process
  has read, kept coherent by Redis's invalidation messages), else one ``GET`` (``MGET``
  for several sections); an unscoped read, for ``status``, is a ``SCAN`` of the section
  (on every primary of a cluster). ``near_cache=False`` sends every read to Redis, and
  `read_checked`, which the write paths decide on, always asks Redis.
* `update` reads the org's records, reduces; when the reducer returned ``prev`` itself
  (or changed none of them), no write command at all; otherwise one compare-and-set
  script (`rediskeys.COMPARE_AND_SET`) writes the changed records (``SET PX`` or
  ``DEL``) only if none changed since the read, retried a bounded number of times when
  another host got there first. Entries expire well past the TTL (`entry_expiry_ms`, a
  week by default), so abandoned orgs disappear.
* The fetch lease is ``SET ... NX PX``, released only by its owner (a compare-and-delete
  script), so one host in the fleet fetches per org. A process may take it for another
  it starts (`hand_over_lease` / `adopt_lease`: the status line's background refresh).
* **Clock**: `now_ms` is the server's clock (`serverclock`), the same on every host.
* **Sentinel**: every update and lease first asks the Sentinels which master they name
  (`redisnodes.Nodes.follow_master`), so no write goes to a demoted master.
* Every call is bounded by the client's socket timeouts. A Redis that is down, slow,
  not Redis, or a cluster without a node for the slot gives
  `StoreErrorKind.UNAVAILABLE`, never an exception. Nothing but cache entries, backoff
  states, random lease ids and the dataset token is ever sent to Redis.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from returns.result import Failure, Result, Success

from overage_credit_grant.core import CACHE_KEY, CACHE_TTL_MS

from . import rediskeys as rk
from .port import (
    Config,
    LeaseStatus,
    Reducer,
    StoreError,
    StoreErrorKind,
    UpdateResult,
    UpdateStatus,
)
from .redislease import Leases
from .redisnodes import Nodes
from .serverclock import ServerClock

if TYPE_CHECKING:
    from .nearcache import NearCache

__all__ = ["RedisStore"]

DEFAULT_PREFIX: Final = rk.DEFAULT_PREFIX
_SCAN_BATCH: Final = 500


def _no_brace(what: str, text: str) -> None:
    if "{" in text or "}" in text:  # it would move the hash tag: an org's keys in two slots
        raise ValueError(f"a Redis store's {what} has no brace: {text!r}")


class RedisStore(rk.Named):
    """The store port on Redis (see the module docstring). `client` is any redis-py
    client: `redis.Redis`, `redis.cluster.RedisCluster`, or a Sentinel's
    ``master_for(...)``; `from_url` builds the right one from a URL."""

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
        from redis.exceptions import RedisClusterException  # noqa: PLC0415

        from .nearcache import NearCache  # noqa: PLC0415

        self._errors: tuple[type[BaseException], ...] = (
            redis.RedisError,
            RedisClusterException,  # not a RedisError
            OSError,
        )
        _no_brace("prefix", prefix)
        _no_brace("section", cache_key)
        self.client = client
        self._names: dict[tuple[str, ...], tuple[str, ...]] = {}
        self.nodes = Nodes(client)
        self.clock = ServerClock(client, cluster=self.nodes.kind == "cluster")
        self.prefix = prefix
        self.cache_key = cache_key
        self.entry_expiry_ms = entry_expiry_ms
        self.lease_ms = lease_ms
        self.max_attempts = max_attempts
        self._location = location
        self._cas = client.register_script(rk.COMPARE_AND_SET)
        self.leases = Leases(client, prefix, lease_ms, self.nodes, self._errors)
        epoch = None if self.nodes.kind == "cluster" else self._epoch  # no SWAPDB there
        self.near: NearCache | None = (
            NearCache(self.nodes, prefix, epoch=epoch, max_entries=near_cache_size)
            if near_cache
            else None
        )

    def close(self) -> None:
        """Stop the near cache's listeners and close the connections."""
        if self.near is not None:
            self.near.close()
        self.client.close()

    @classmethod
    def from_url(cls, url: str, *, timeout_s: float = 1.0, **options: Any) -> RedisStore:
        """A store on the Redis `url` names (`redisurl`: one server, a cluster, Sentinel),
        every call bounded by `timeout_s`."""
        from .redisurl import client_for, public_url  # noqa: PLC0415

        return cls(client_for(url, timeout_s), location=public_url(url), **options)

    def now_ms(self) -> int:
        """The fleet's clock: the Redis server's, read through this host's (`serverclock`)."""
        return self.clock.now_ms()

    def entry_key(self, org_id: str, section: str | None = None) -> str:
        """The key of one (section, org) record; the section defaults to `cache_key`."""
        return rk.entry_key(self.prefix, section or self.cache_key, org_id)

    def _sections(self, sections: Sequence[str]) -> tuple[str, ...]:
        given = sections if type(sections) is tuple else tuple(sections)  # a list is a key too
        names = self._names.get(given)
        if names is None:
            names = given or (self.cache_key,)
            for name in names:
                _no_brace("section", name)
            if len(self._names) < 64:  # a lookup's sections: a handful per process
                self._names[given] = names
        return names

    def _keys(self, org_id: str, names: tuple[str, ...]) -> tuple[str, ...]:
        if len(names) == 1:
            return (rk.entry_key(self.prefix, names[0], org_id),)
        return tuple(rk.entry_key(self.prefix, name, org_id) for name in names)

    def _unavailable(self, exc: BaseException) -> StoreError:
        return StoreError(StoreErrorKind.UNAVAILABLE, f"redis unavailable ({type(exc).__name__})")

    def _epoch(self) -> object:
        """The dataset token (made when missing): another value means another dataset."""
        key = rk.epoch_key(self.prefix)
        token = self.client.get(key)
        if token is None:
            self.client.set(key, secrets.token_hex(8), nx=True)
            token = self.client.get(key)
        return token

    # -- the port -----------------------------------------------------------------------

    def read_checked(
        self, org_id: str | None = None, sections: Sequence[str] = ()
    ) -> Result[Config, StoreError]:
        """Always asks Redis (the write paths decide on it); the near cache is refreshed
        with the answer."""
        return self._read(org_id, sections, cached=False)

    def _read(
        self, org_id: str | None, sections: Sequence[str], *, cached: bool
    ) -> Result[Config, StoreError]:
        names = self._sections(sections)
        try:
            if org_id is None:
                return Success(rk.view(self._scan_all(names)))
            keys = self._keys(org_id, names)
            near = self.near
            if near is None:
                return Success(self._fetch(org_id, names, keys))
            view = near.get(keys) if cached else None
            if view is None:
                view = near.load(keys, lambda: self._fetch(org_id, names, keys))
            return Success(view)  # type: ignore[arg-type]
        except self._errors as exc:
            return Failure(self._unavailable(exc))

    def _values(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values of one org's keys (one slot), in one round trip."""
        if len(keys) == 1:
            return [self.client.get(keys[0])]
        return list(self.client.mget(list(keys)))

    def _fetch(self, org_id: str, names: tuple[str, ...], keys: tuple[str, ...]) -> Config:
        self.clock.measure_if_due()
        values = self._values(keys)
        return rk.view({(n, org_id): v for n, v in zip(names, values, strict=True)})

    def read(self, org_id: str | None = None, sections: Sequence[str] = ()) -> Config:
        """The hot path: from the near cache while it serves (`nearcache`'s bound)."""
        near = self.near
        if near is not None and org_id is not None:
            view = near.get(self._keys(org_id, self._sections(sections)))
            if view is not None:
                return view  # type: ignore[return-value]
        return self._read(org_id, sections, cached=False).value_or({})

    def _scan_all(self, sections: tuple[str, ...]) -> dict[tuple[str, str], bytes | None]:
        found: dict[tuple[str, str], bytes | None] = {}
        mget = getattr(self.client, "mget_nonatomic", self.client.mget)  # a cluster's: any slots
        for section in sections:
            match = rk.section_pattern(self.prefix, section)
            keys = list(self.client.scan_iter(match=match, count=_SCAN_BATCH))
            for i in range(0, len(keys), _SCAN_BATCH):
                batch = keys[i : i + _SCAN_BATCH]
                for key, value in zip(batch, mget(batch), strict=True):
                    org = rk.org_of(key, self.prefix, section)
                    if org is not None:
                        found[(section, org)] = value
        return found

    def update(
        self, reducer: Reducer, org_id: str | None = None, sections: Sequence[str] = ()
    ) -> UpdateResult:
        if org_id is None:
            return UpdateResult(
                UpdateStatus.WRITE_FAILED, "the redis store updates one organization at a time"
            )
        names = self._sections(sections)
        keys = [self.entry_key(org_id, name) for name in names]
        try:
            self.nodes.follow_master()
            self.clock.measure_if_due()
            for _ in range(self.max_attempts):
                values = self._values(keys)
                prev = rk.view({(n, org_id): v for n, v in zip(names, values, strict=True)})
                nxt = reducer(prev)
                args = [] if nxt is prev else rk.changes(prev, nxt, names, org_id, values)
                if not args:
                    return UpdateResult(UpdateStatus.UNCHANGED)
                if self._cas(keys=keys, args=[self.entry_expiry_ms, *args]):
                    if self.near is not None:  # before Redis's own message arrives
                        self.near.invalidate(keys)
                    return UpdateResult(UpdateStatus.WRITTEN)
        except self._errors as exc:
            return UpdateResult(UpdateStatus.UNAVAILABLE, self._unavailable(exc).detail)
        except (TypeError, ValueError) as exc:
            return UpdateResult(
                UpdateStatus.WRITE_FAILED, f"entry cannot be written as JSON ({type(exc).__name__})"
            )
        return UpdateResult(
            UpdateStatus.LOCK_TIMEOUT,
            f"gave up after {self.max_attempts} writes conflicting with other writers",
        )

    # -- the fetch lease (`redislease`) ------------------------------------------------

    def lease(
        self, org_id: str, section: str = ""
    ) -> contextlib.AbstractContextManager[LeaseStatus]:
        return self.leases.lease(org_id, section or self.cache_key)

    def hand_over_lease(self, org_id: str, section: str = "") -> tuple[LeaseStatus, str]:
        """Take the fetch lease for another process (`redislease.Leases.hand_over`)."""
        return self.leases.hand_over(org_id, section or self.cache_key)

    def adopt_lease(self, org_id: str, section: str, owner: str) -> None:
        """This process's next lease of (`section`, org) is the one handed over to it."""
        self.leases.adopt(org_id, section or self.cache_key, owner)

    def give_back_lease(self, org_id: str, section: str, owner: str) -> None:
        """Release a handed-over lease that no process will adopt."""
        self.leases.give_back(org_id, section or self.cache_key, owner)
