"""What Redis does not announce, and what hosts disagree on: a `SWAPDB` reaches a near
cache within 1 s, and hosts whose clocks are hours apart share one clock (the server's),
so they make one request per org per TTL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from pytest_httpserver import HTTPServer

from overage_credit_grant.core import CACHE_KEY, GRANT_CACHE, GrantInfo
from overage_credit_grant.shell import RedisStore, UpdateStatus

from ..support.backend import GRANT_BODY, grant_path
from ..support.fleet_host import FleetHost, faketime
from ..support.redis_server import RedisProcess


@pytest.fixture
def own_server() -> Iterator[RedisProcess]:
    """A redis-server of this test's own: SWAPDB swaps every key of the database."""
    server = RedisProcess().start()
    try:
        yield server
    finally:
        server.stop()


def test_a_swapdb_stops_the_near_cache_serving_the_old_value_within_a_second(
    own_server: RedisProcess,
) -> None:
    org = str(uuid.uuid4())
    store = RedisStore.from_url(own_server.url, prefix="swap:")
    near = store.near
    assert near is not None
    info = GrantInfo(True, True, False, 900, "USD")
    now = store.now_ms()
    reducer = lambda prev: GRANT_CACHE.after_refresh(prev, org, info, now)  # noqa: E731
    assert store.update(reducer, org, (CACHE_KEY,)).status is UpdateStatus.WRITTEN
    try:
        store.read(org)
        deadline = time.monotonic() + 5
        while not near.serving:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        store.read(org)
        assert near.get((store.entry_key(org),)) is not None  # kept: hot reads from memory
        client = redis.Redis.from_url(own_server.url)
        client.swapdb(0, 1)  # Redis sends no invalidation for this
        swapped = time.monotonic()
        while GRANT_CACHE.entry(store.read(org), org).value_or(None) is not None:
            assert time.monotonic() - swapped < 1.0, "still serving the swapped-out value"
            time.sleep(0.005)
        gone_after = time.monotonic() - swapped
        client.swapdb(0, 1)
        while GRANT_CACHE.entry(store.read(org), org).value_or(None) is None:
            assert time.monotonic() - swapped < 3.0, "the value did not come back"
            time.sleep(0.005)
        client.close()
        print(f"\nSWAPDB: the near cache stopped serving the old value after {gone_after:.3f} s")
    finally:
        store.close()


def test_hosts_two_hours_apart_make_one_request(
    redis_server: RedisProcess, httpserver: HTTPServer
) -> None:
    """An app that refreshes when `get()` finds nothing, on two hosts whose clocks are two
    hours apart (``faketime``), reading in turn: 20 reads, 1 request."""
    skewed = faketime("+2h")
    org, prefix = str(uuid.uuid4()), f"clock-{uuid.uuid4().hex[:8]}:"
    httpserver.expect_request(grant_path(org)).respond_with_json(GRANT_BODY)
    base = httpserver.url_for("/").rstrip("/")
    hosts = [
        FleetHost(redis_server.url, prefix, base, [org]),
        FleetHost(redis_server.url, prefix, base, [org], wrapper=skewed),
    ]
    try:
        rounds = [hosts[i % 2].round() for i in range(20)]
    finally:
        for host in hosts:
            host.close()
    clocks = [int(r["clock_ms"]) for r in rounds[:2]]  # type: ignore[call-overload]
    assert abs(clocks[1] - clocks[0] - 2 * 3600 * 1000) < 60_000, "the second host is not skewed"
    assert all(r["amounts"] == {org: 500} for r in rounds)
    assert len(httpserver.log) == 1
