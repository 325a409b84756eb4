"""The Redis store behind a real Sentinel on loopback (`redis+sentinel://`): a master, a
replica and one Sentinel; the master killed, and a manual failover in which the old
master stays up until Sentinel demotes it."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from overage_credit_grant.core import GRANT_CACHE
from overage_credit_grant.shell import GRANT, RedisStore, Settings, UpdateStatus
from overage_credit_grant.shell._store.glance import glance_store

from ..support.redis_topologies import SentinelProcesses, put_grant


@pytest.fixture
def sentinel() -> Iterator[SentinelProcesses]:
    found = SentinelProcesses().start()
    try:
        yield found
    finally:
        found.stop()


def amount_on(port: int, prefix: str, org: str) -> int | None:
    """What the server at `port` holds for `org`, read directly."""
    client = redis.Redis(port=port, socket_timeout=1)
    try:
        store = RedisStore(client, prefix=prefix, near_cache=False)
        entry = GRANT_CACHE.entry(store.read(org), org).value_or(None)
        return None if entry is None else entry.value.amount_minor_units
    finally:
        client.close()


def wait(check: Callable[[], bool], seconds: float) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, "timed out"
        time.sleep(0.02)
    return time.monotonic() - started


def test_the_master_killed_is_served_again_within_the_failover_plus_two_seconds(
    sentinel: SentinelProcesses,
) -> None:
    org, prefix = str(uuid.uuid4()), "killed:"
    store = RedisStore.from_url(sentinel.url, prefix=prefix)
    try:
        assert put_grant(store, org, 100) is UpdateStatus.WRITTEN
        s = Settings(config_path="unused.json", organization=org, store=store)
        assert GRANT.get(s) is not None
        old = sentinel.master.port
        sentinel.master.kill()
        switched = wait(lambda: sentinel.master_port() not in (0, old), 30)
        back = wait(lambda: put_grant(store, org, 200) is UpdateStatus.WRITTEN, 30)
        read_back = wait(lambda: (i := GRANT.get(s)) is not None and i.amount_minor_units == 200, 5)
        view = glance_store(sentinel.url, 1.0, prefix)  # the status line's reader
        assert view is not None
        assert GRANT_CACHE.entry(view.read(org), org).unwrap().value.amount_minor_units == 200
        view.close()
        print(f"\nSentinel switched after {switched:.2f} s; writes back {back:.2f} s later")
        assert back <= 2.0
        assert read_back <= 2.0
    finally:
        store.close()


def test_after_a_manual_failover_no_acknowledged_write_is_lost(
    sentinel: SentinelProcesses,
) -> None:
    """Two hosts: one writes every 50 ms (each write to an org of its own, and to one org
    that the other host reads through its near cache). Every write acknowledged, before,
    during or after the failover, is on the new master in the end; none goes to the
    demoted one; and the reader sees each within 1 s."""
    org, prefix = str(uuid.uuid4()), "manual:"
    writer = RedisStore.from_url(sentinel.url, prefix=prefix, near_cache=False)
    reader = RedisStore.from_url(sentinel.url, prefix=prefix)
    s = Settings(config_path="unused.json", organization=org, store=reader)
    new = sentinel.replica.port
    acknowledged: list[str] = []
    late: list[int] = []
    refused: list[float] = []

    def seen(amount: int) -> bool:
        info = GRANT.get(s)
        return info is not None and info.amount_minor_units >= amount

    try:
        assert put_grant(writer, org, 1) is UpdateStatus.WRITTEN
        assert GRANT.get(s) is not None
        old = sentinel.master.port
        sentinel.failover()
        amount = 1
        # Write until 1 s past the moment Sentinel demotes the old master (20 s at most).
        started, demoted = time.monotonic(), math.inf
        while time.monotonic() < min(started + 20, demoted + 1):
            amount += 1
            if demoted == math.inf and amount % 4 == 0 and sentinel.role(old) == "slave":
                demoted = time.monotonic()
            one = str(uuid.uuid4())
            if put_grant(writer, one, amount) is not UpdateStatus.WRITTEN:
                refused.append(time.monotonic())
                time.sleep(0.05)
                continue
            acknowledged.append(one)
            if put_grant(writer, org, amount) is UpdateStatus.WRITTEN:
                try:
                    wait(lambda a=amount: seen(a), 1)  # type: ignore[misc]
                except AssertionError:
                    late.append(amount)
            time.sleep(0.05)
        assert sentinel.master_port() == new, "the failover did not happen"
        assert demoted < math.inf, "the old master was never demoted"
        missing = [o for o in acknowledged if amount_on(new, prefix, o) is None]
        print(
            f"\n{len(acknowledged)} writes acknowledged, {len(missing)} lost; refused for "
            f"{(refused[-1] - refused[0]) if refused else 0:.2f} s during the failover"
        )
        assert missing == []
        assert late == []
    finally:
        writer.close()
        reader.close()
