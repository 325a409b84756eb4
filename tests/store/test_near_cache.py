"""The Redis store's near cache against a real redis-server (shell/_store/nearcache.py).

Hosts are separate processes (tests/support/near_hosts.py) or separate stores; Redis is killed,
restarted and made to drop the tracking connection for real.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from overage_credit_grant.core import CACHE_KEY, GRANT_CACHE, GrantInfo
from overage_credit_grant.shell import GRANT, RedisStore, Settings, UpdateStatus

from ..support.monitor import commands_naming
from ..support.near_hosts import NearHosts
from ..support.redis_server import RedisProcess


def grant(amount: int) -> GrantInfo:
    return GrantInfo(True, True, False, amount, "USD")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def write(store: RedisStore, org: str, amount: int | None) -> None:
    """Store a grant of `amount` for `org` (None: drop it), as any host would; on a store
    with a near cache, wait until Redis's own echo of the write is in (until then a read
    is answered by Redis and not kept)."""

    def reducer(prev: object) -> object:
        if amount is None:
            return GRANT_CACHE.after_invalidate(prev, org)  # type: ignore[arg-type]
        return GRANT_CACHE.after_refresh(prev, org, grant(amount), now_ms())  # type: ignore[arg-type]

    assert store.update(reducer, org, (CACHE_KEY,)).status is UpdateStatus.WRITTEN  # type: ignore[arg-type]
    if store.near is not None and store.near.serving:
        assert store.near.sync()


def wait_for(check: Callable[[], bool], seconds: float = 5.0) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, "timed out"
        time.sleep(0.002)
    return time.monotonic() - started


@pytest.fixture
def org() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def near_store(redis_server: RedisProcess, redis_prefix: str) -> Iterator[RedisStore]:
    store = RedisStore.from_url(redis_server.url, prefix=redis_prefix)
    yield store
    store.close()


def settings_on(store: RedisStore, org: str) -> Settings:
    return Settings(config_path="unused.json", organization=org, store=store)


def serving(store: RedisStore) -> None:
    assert store.near is not None
    store.read("00000000-0000-4000-8000-000000000000")  # starts the listener
    wait_for(lambda: store.near is not None and store.near.serving)


def test_a_hot_read_costs_no_round_trip(
    near_store: RedisStore, redis_server: RedisProcess, org: str
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    serving(near_store)
    write(near_store, org, 500)
    s = settings_on(near_store, org)
    assert GRANT.get(s) == grant(500)  # a miss: one GET
    with commands_naming(client, near_store.entry_key(org)) as seen:
        for _ in range(1000):
            assert GRANT.get(s) == grant(500)
    assert seen == []
    assert near_store.near is not None
    assert near_store.near.stats["hits"] >= 1000
    client.close()


def test_writes_and_invalidations_reach_three_host_processes_within_100_ms(
    near_store: RedisStore, redis_server: RedisProcess, redis_prefix: str, org: str
) -> None:
    hosts = NearHosts(redis_server.url, redis_prefix, org)
    latencies: list[float] = []
    try:
        hosts.wait_ready()
        for round_ in range(10):
            amount = None if round_ % 3 == 2 else 1000 + round_  # new grants and drops
            written_at = time.time()
            write(near_store, org, amount)
            latencies += hosts.latencies(amount, written_at)
            time.sleep(0.05)  # let the hosts serve the new value from their caches
    finally:
        hosts.close()
    latencies.sort()
    p50, p99 = statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]
    print(f"\npropagation to 3 host processes: p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms")
    assert max(latencies) < 0.100
    assert all(hits > 0 for hits in hosts.hits())


def test_when_redis_goes_down_the_near_cache_stops_serving_within_a_second(
    redis_prefix: str, org: str
) -> None:
    server = RedisProcess().start()
    store = RedisStore.from_url(server.url, prefix=redis_prefix)
    try:
        serving(store)
        write(store, org, 500)
        s = settings_on(store, org)
        assert GRANT.get(s) == grant(500)
        assert GRANT.get(s) == grant(500)  # from the near cache
        server.kill()
        stopped = wait_for(lambda: GRANT.get(s) is None, 2.0)
        print(f"\nRedis killed: the grant stopped being served after {stopped * 1000:.0f} ms")
        assert stopped < 1.0
        assert store.read_checked(org).value_or(None) is None  # store_unavailable
        server.start()  # the same port, empty
        wait_for(lambda: store.near is not None and store.near.serving, 5)
        write(store, org, 700)
        assert GRANT.get(s) == grant(700)
        assert GRANT.get(s) == grant(700)
    finally:
        store.close()
        server.stop()


def test_a_killed_tracking_connection_flushes_at_once_and_resumes(
    near_store: RedisStore, redis_server: RedisProcess, org: str
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    serving(near_store)
    write(near_store, org, 500)
    s = settings_on(near_store, org)
    GRANT.get(s)
    near = near_store.near
    assert near is not None
    assert len(near) >= 1
    killed = client.client_kill_filter(_type="pubsub")
    assert killed >= 1
    wait_for(lambda: len(near) == 0 and not near.serving, 0.5)
    assert GRANT.get(s) == grant(500)  # from Redis meanwhile
    wait_for(lambda: near.serving, 5)
    assert near.tracker.reconnects >= 1
    client.set(near_store.entry_key(org), json.dumps({"info": {"x": 1}, "timestamp": 1}))
    assert near.sync()
    assert GRANT.get(s) is None  # the malformed entry someone wrote is seen, not cached
    client.close()


def test_the_near_cache_is_bounded_least_recently_used_first(
    redis_server: RedisProcess, redis_prefix: str
) -> None:
    store = RedisStore.from_url(redis_server.url, prefix=redis_prefix, near_cache_size=5)
    try:
        serving(store)
        orgs = [str(uuid.uuid4()) for _ in range(20)]
        for org in orgs:
            write(store, org, 1)
        for org in orgs:
            store.read(org)
            store.read(orgs[0])  # kept warm
        assert store.near is not None
        assert len(store.near) == 5
        hits = store.near.stats["hits"]
        store.read(orgs[0])
        store.read(orgs[-1])
        assert store.near.stats["hits"] == hits + 2
    finally:
        store.close()


def test_a_read_overtaken_by_an_invalidation_is_never_kept(
    near_store: RedisStore, redis_server: RedisProcess, org: str
) -> None:
    """The answer left Redis before a write whose invalidation arrived first: it may be
    returned once, but never cached."""
    serving(near_store)
    write(near_store, org, 500)
    near = near_store.near
    assert near is not None
    other = RedisStore.from_url(redis_server.url, prefix=near_store.prefix, near_cache=False)
    key = (near_store.entry_key(org),)
    old = near_store._fetch(org, (CACHE_KEY,), key)

    def slow_fetch() -> object:
        write(other, org, 900)  # another host writes while our answer is on its way
        assert near.sync()
        return old

    assert near.load(key, slow_fetch) is old
    assert near.get(key) is None
    assert GRANT.get(settings_on(near_store, org)) == grant(900)
    other.close()


def test_threads_and_tasks_read_through_one_near_cache(
    near_store: RedisStore, redis_server: RedisProcess, org: str
) -> None:
    serving(near_store)
    writer = RedisStore.from_url(redis_server.url, prefix=near_store.prefix, near_cache=False)
    s = settings_on(near_store, org)
    done = threading.Event()
    problems: list[object] = []

    def reader() -> None:
        while not done.is_set():
            got = GRANT.get(s)
            if got is not None and got.amount_minor_units not in range(100, 200):
                problems.append(got)
            time.sleep(0.0001)  # let the writer and the listener have the GIL too

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for amount in range(100, 200):
        write(writer, org, amount)
    assert near_store.near is not None
    assert near_store.near.sync()
    final = GRANT.get(s)
    done.set()
    for t in threads:
        t.join()
    assert problems == []
    assert final == grant(199)
    assert asyncio.run(GRANT.aget(s)) == grant(199)
    writer.close()


def test_the_near_cache_can_be_turned_off(
    redis_server: RedisProcess, redis_prefix: str, org: str
) -> None:
    from overage_credit_grant.shell import store_for

    off = Settings.from_env(
        {"OVERAGE_GRANT_REDIS_NEAR_CACHE": "0", "OVERAGE_GRANT_REDIS_URL": redis_server.url}
    )
    on = Settings.from_env({"OVERAGE_GRANT_REDIS_URL": redis_server.url})
    assert not off.redis_near_cache
    assert on.redis_near_cache
    off_store, on_store = store_for(off), store_for(on)
    assert isinstance(off_store, RedisStore)
    assert isinstance(on_store, RedisStore)
    assert off_store.near is None
    assert on_store.near is not None
    client = redis.Redis.from_url(redis_server.url)
    store = RedisStore.from_url(redis_server.url, prefix=redis_prefix, near_cache=False)
    write(store, org, 5)
    with commands_naming(client, store.entry_key(org)) as seen:
        for _ in range(10):
            store.read(org)
    assert len(seen) == 10
    client.close()
    store.close()


def test_a_silent_redis_stops_the_near_cache_within_a_second(redis_prefix: str, org: str) -> None:
    """Redis frozen (SIGSTOP): no connection breaks, nothing is heard; the heartbeat
    notices, and cached data is served for less than a second."""
    import os
    import signal

    server = RedisProcess().start()
    store = RedisStore.from_url(server.url, prefix=redis_prefix, timeout_s=0.3)
    assert server.proc is not None
    try:
        serving(store)
        write(store, org, 500)
        s = settings_on(store, org)
        assert GRANT.get(s) == grant(500)
        near = store.near
        assert near is not None
        os.kill(server.proc.pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        last_cached = frozen_at
        while near.serving:
            if near.get((store.entry_key(org),)) is not None:
                last_cached = time.monotonic()
            time.sleep(0.01)
        served_for = last_cached - frozen_at
        print(f"\nRedis frozen: cached data served for {served_for * 1000:.0f} ms more")
        assert served_for < 1.0
        assert GRANT.get(s) is None  # from Redis, which does not answer: unavailable
        os.kill(server.proc.pid, signal.SIGCONT)
        wait_for(lambda: near.serving, 5)
        assert GRANT.get(s) == grant(500)
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
        store.close()
        server.stop()
