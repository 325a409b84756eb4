"""The Redis store as a one-shot process sees it: a status line render reads one org's
records, and may take the fetch lease for the background refresh it starts. That is two
or three commands, sent over `resp.Connection` without importing redis-py (150 ms, most
of a render's budget: 30 renders at once on two cores took 4 s with it).

`GlanceStore` reads exactly what `RedisStore` reads (the same keys, `rediskeys.view`,
the server's clock), takes and gives back the same leases, and never writes an entry:
`update` refuses. It speaks to every topology a URL names (`redisurl`): one server
(TCP, TLS, Unix socket), a cluster (following ``MOVED`` and ``ASK``), Sentinel (asking
``GET-MASTER-ADDR-BY-NAME``, and taking no lease while a failover is under way).
`glance_store` gives None for a URL it does not handle fully (query options redis-py
would read): the caller then uses `RedisStore`. The store has `timeout_s` in all, for
every operation of its (one-shot) life, and after one failed, the next fail at once:
a status line waits for Redis at most once. Every trouble is an outcome
(`StoreErrorKind.UNAVAILABLE`).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator, Sequence
from typing import Final
from urllib.parse import unquote, urlsplit

from returns.result import Failure, Result, Success

from overage_credit_grant.core import CACHE_KEY

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
from .redisurl import Topology, public_url
from .resp import Connection, Reply, RespError
from .serverclock import ServerClock

__all__ = ["GlanceStore", "glance_store"]

_REDIRECTS: Final = 5
Address = tuple[str, int] | str


def glance_store(url: str, timeout_s: float, prefix: str = rk.DEFAULT_PREFIX) -> GlanceStore | None:
    """A `GlanceStore` for `url`, or None when the URL asks for what it does not do."""
    try:
        topology = Topology(url)
        parts = urlsplit(url)
        extra = [q for q in parts.query.split("&") if q and not q.startswith("sentinel_password=")]
        if extra or (topology.kind == "plain" and parts.scheme == "unix" and parts.query):
            return None
        return GlanceStore(url, topology, timeout_s, prefix)
    except ValueError:
        return None


class GlanceStore(rk.Named):
    """A read-only view of the Redis store for one-shot processes (module docstring)."""

    def __init__(
        self,
        url: str,
        topology: Topology,
        timeout_s: float,
        prefix: str = rk.DEFAULT_PREFIX,
        *,
        cache_key: str = CACHE_KEY,
        lease_ms: int = 60_000,
    ) -> None:
        self.topology = topology
        self.timeout_s = timeout_s
        self.prefix = prefix
        self.cache_key = cache_key
        self.lease_ms = lease_ms
        self._location = public_url(url)
        self._servers = self._server_addresses(url)
        self._conns: dict[Address, Connection] = {}
        self._handed: dict[str, str] = {}
        self._deadline = time.monotonic() + timeout_s
        self._trouble: BaseException | None = None
        self.clock = ServerClock()  # set by the TIME sent with every read

    def _server_addresses(self, url: str) -> list[Address]:
        if self.topology.kind != "plain":
            return list(self.topology.hosts)
        parts = urlsplit(url)
        if parts.scheme == "unix":
            return [unquote(parts.path)]
        path = parts.path.strip("/")
        self.topology.db = int(path) if path else 0
        return [(parts.hostname or "localhost", parts.port or 6379)]

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def close(self) -> None:
        for conn in self._conns.values():
            with contextlib.suppress(OSError):
                conn.close()
        self._conns.clear()

    # -- connections ----------------------------------------------------------------------

    def _connect(self, address: Address, deadline: float, *, sentinel: bool = False) -> Connection:
        conn = self._conns.get(address)
        if conn is not None:
            conn.deadline = deadline
            return conn
        conn = Connection(address, deadline=deadline, tls=self.topology.tls)
        t = self.topology
        password = t.sentinel_password if sentinel else t.password
        hello: list[tuple[object, ...]] = []
        if password:
            hello.append(
                ("AUTH", t.username, password)
                if t.username and not sentinel
                else ("AUTH", password)
            )
        if t.db and not sentinel:
            hello.append(("SELECT", t.db))
        for reply in conn.pipeline(hello) if hello else ():
            if isinstance(reply, RespError):
                conn.close()
                raise reply
        self._conns[address] = conn
        return conn

    def _master(self, deadline: float, *, writing: bool) -> Address:
        """The server to ask: the only one, the master a Sentinel names, or (a cluster)
        the first node given; a cluster's redirections are followed by `_run`."""
        if self.topology.kind != "sentinel":
            return self._servers[0]
        service = self.topology.service
        for host in self._servers:
            try:
                conn = self._connect(host, deadline, sentinel=True)
                asks: list[tuple[object, ...]] = [("SENTINEL", "GET-MASTER-ADDR-BY-NAME", service)]
                if writing:
                    asks.append(("SENTINEL", "MASTER", service))
                replies = conn.pipeline(asks)
            except (OSError, RespError):
                continue
            named = replies[0]
            if writing and b"failover_in_progress" in _flags(replies[1]):
                raise ConnectionError("a Sentinel failover is under way")
            if isinstance(named, list) and len(named) == 2:
                return (_text(named[0]), int(_text(named[1])))
        raise ConnectionError("no Sentinel named the master")

    def _run(self, commands: list[tuple[object, ...]], *, writing: bool = False) -> list[Reply]:
        """`commands` on the server that holds their keys; replies in order (the first
        trouble is raised again by every later call)."""
        if self._trouble is not None:
            raise ConnectionError(f"unavailable ({type(self._trouble).__name__})")
        try:
            return self._redirected(commands, writing, self._deadline)
        except (OSError, RespError, ValueError) as exc:
            self._trouble = exc
            raise

    def _redirected(
        self, commands: list[tuple[object, ...]], writing: bool, deadline: float
    ) -> list[Reply]:
        address = self._master(deadline, writing=writing)
        asking = False
        for _ in range(_REDIRECTS):
            conn = self._connect(address, deadline)
            sent = [("ASKING",), *commands] if asking else commands
            try:
                replies = conn.pipeline(sent)[1:] if asking else conn.pipeline(sent)
            except OSError:
                self._conns.pop(address, None)
                raise
            moved = next(
                (r for r in replies if isinstance(r, RespError) and r.code in ("MOVED", "ASK")),
                None,
            )
            if moved is None or self.topology.kind != "cluster":
                return replies
            host, _, port = str(moved).split(" ")[2].rpartition(":")
            address, asking = (host or "127.0.0.1", int(port)), moved.code == "ASK"
        raise ConnectionError("too many cluster redirections")

    # -- the port -------------------------------------------------------------------------

    def read_checked(
        self, org_id: str | None = None, sections: Sequence[str] = ()
    ) -> Result[Config, StoreError]:
        if org_id is None:
            return Failure(StoreError(StoreErrorKind.UNAVAILABLE, "reads one organization"))
        names = tuple(sections) or (self.cache_key,)
        keys = [rk.entry_key(self.prefix, name, org_id) for name in names]
        try:
            before = time.time_ns()
            clock, values = self._run([("TIME",), ("MGET", *keys)])
            after = time.time_ns()
            if isinstance(values, RespError) or not isinstance(values, list):
                raise OSError("an unexpected reply to MGET")
            if isinstance(clock, list) and len(clock) == 2:
                self.clock.observe(int(_text(clock[0])), int(_text(clock[1])), before, after)
            raw = {
                (n, org_id): v if isinstance(v, bytes) else None
                for n, v in zip(names, values, strict=True)
            }
            return Success(rk.view(raw))
        except (OSError, RespError, ValueError) as exc:
            return Failure(
                StoreError(StoreErrorKind.UNAVAILABLE, f"redis unavailable ({type(exc).__name__})")
            )

    def read(self, org_id: str | None = None, sections: Sequence[str] = ()) -> Config:
        return self.read_checked(org_id, sections).value_or({})

    def update(
        self, reducer: Reducer, org_id: str | None = None, sections: Sequence[str] = ()
    ) -> UpdateResult:
        return UpdateResult(UpdateStatus.WRITE_FAILED, "a one-shot reader does not write")

    # -- the fetch lease ------------------------------------------------------------------

    def _lease_key(self, org_id: str, section: str) -> str:
        return rk.lease_key(self.prefix, section or self.cache_key, org_id)

    def hand_over_lease(self, org_id: str, section: str = "") -> tuple[LeaseStatus, str]:
        owner = secrets.token_hex(16)
        key = self._lease_key(org_id, section)
        try:
            [taken] = self._run([("SET", key, owner, "NX", "PX", self.lease_ms)], writing=True)
        except (OSError, RespError, ValueError):
            return LeaseStatus.UNAVAILABLE, ""
        if isinstance(taken, RespError):
            return LeaseStatus.UNAVAILABLE, ""
        return (LeaseStatus.ACQUIRED, owner) if taken == b"OK" else (LeaseStatus.BUSY, "")

    def adopt_lease(self, org_id: str, section: str, owner: str) -> None:
        self._handed[self._lease_key(org_id, section)] = owner

    def give_back_lease(self, org_id: str, section: str, owner: str) -> None:
        key = self._lease_key(org_id, section)
        with contextlib.suppress(OSError, RespError, ValueError):
            self._run([("EVAL", rk.RELEASE, 1, key, owner)], writing=True)

    @contextlib.contextmanager
    def lease(self, org_id: str, section: str = "") -> Iterator[LeaseStatus]:
        key = self._lease_key(org_id, section)
        handed = self._handed.pop(key, None)
        if handed is not None:
            command: tuple[object, ...] = ("EVAL", rk.EXTEND, 1, key, handed, self.lease_ms)
            owner = handed
        else:
            owner = secrets.token_hex(16)
            command = ("SET", key, owner, "NX", "PX", self.lease_ms)
        try:
            [taken] = self._run([command], writing=True)
        except (OSError, RespError, ValueError):
            yield LeaseStatus.UNAVAILABLE
            return
        if isinstance(taken, RespError):
            yield LeaseStatus.UNAVAILABLE
            return
        if taken not in (b"OK", 1):
            yield LeaseStatus.BUSY
            return
        try:
            yield LeaseStatus.ACQUIRED
        finally:
            self.give_back_lease(org_id, section, owner)


def _text(value: Reply) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _flags(state: Reply) -> bytes:
    """The ``flags`` of a ``SENTINEL MASTER`` reply (a flat list of names and values)."""
    if isinstance(state, list):
        for name, value in zip(state[::2], state[1::2], strict=False):
            if name == b"flags" and isinstance(value, bytes):
                return value
    return b""
