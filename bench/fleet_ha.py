"""Section 10: a fleet on a Redis Cluster and behind Sentinel: requests per org across
hosts, the hot read, and the failover gaps."""

from __future__ import annotations

import contextlib
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from overage_credit_grant.core import CACHE_KEY, GRANT_CACHE, GrantInfo
from overage_credit_grant.shell import GRANT, RedisStore, Settings, UpdateStatus
from overage_credit_grant.shell._cli.server import Backend, ReferenceServer

from ._common import GRANT as GRANT_BODY
from ._common import Report, fmt_s, side_by_side

if TYPE_CHECKING:
    from tests.support.redis_topologies import ClusterProcesses, SentinelProcesses

NAME = "fleet-ha"
TITLE = "10. Redis Cluster and Sentinel"


def run(report: Report, folder: Path, quick: bool, redis_url: str | None) -> None:
    if redis_url is None or shutil.which("redis-cli") is None:
        report.sections.append(f"## {TITLE}\n\nSkipped: no redis-server or redis-cli here.")
        return
    from tests.support.redis_topologies import ClusterProcesses, SentinelProcesses

    cluster = ClusterProcesses(masters=3, replicas=1).start()
    try:
        _requests(report, cluster.url, quick)
        _hot_read(report, cluster.url, redis_url, quick)
        cluster_gap = _cluster_failover(cluster)
    finally:
        cluster.stop()
    sentinel = SentinelProcesses().start()
    try:
        sentinel_gap = _sentinel_failover(sentinel)
    finally:
        sentinel.stop()
    report.add(
        "10c. Failover gaps",
        "A master killed, and how long until a host's writes succeed again (polled every "
        "20 ms). The cluster's node timeout is 1 s; the Sentinel's down-after is 1 s.",
        [
            ["topology", "killed to writes back", "of which after the new master was named"],
            ["Redis Cluster, 3 masters + 3 replicas", f"{cluster_gap:.2f} s", "-"],
            ["Sentinel, master + replica", f"{sentinel_gap[0]:.2f} s", f"{sentinel_gap[1]:.2f} s"],
        ],
        "The gap is the topology's own failover time; what the store adds is the last "
        "column (bound 2 s).",
    )
    report.summary.append(
        (
            "Sentinel: writes back after the new master is named",
            "<= 2 s",
            f"{sentinel_gap[1]:.2f} s",
            "yes" if sentinel_gap[1] <= 2 else "no",
        )
    )


class _FleetBackend(Backend):
    """Grants every org to anyone; counts the requests."""

    def answer(self, path: str, authorization: str | None) -> tuple[int, object]:
        if not path.endswith("/overage_credit_grant"):
            return super().answer(path, authorization)
        with self.lock:
            self.requests += 1
        return 200, dict(GRANT_BODY)


@contextlib.contextmanager
def _backend() -> Iterator[ReferenceServer]:
    with ReferenceServer(_FleetBackend(tokens={}, grants={})) as server:
        yield server


def _requests(report: Report, url: str, quick: bool) -> None:
    from tests.support.fleet_host import FleetHost

    count, rounds = (6, 2) if quick else (20, 5)
    orgs = [str(uuid.uuid4()) for _ in range(count)]
    prefix = f"bench-ha-{uuid.uuid4().hex[:6]}:"
    with _backend() as server:
        hosts = [FleetHost(url, prefix, server.base_url, orgs) for _ in range(2)]
        try:
            for _ in range(rounds):
                for host in hosts:  # both hosts at once, round after round
                    assert host.proc.stdin is not None
                    host.proc.stdin.write("go\n")
                    host.proc.stdin.flush()
                for host in hosts:
                    host._line()
        finally:
            for host in hosts:
                host.close()
        asked = server.backend.requests
    per_org = asked / count
    report.add(
        "10a. Requests per org across hosts (Redis Cluster)",
        f"Two host processes on a 3-master cluster (`redis+cluster://`), each reading {count} "
        f"orgs {rounds} times at the same moments as the other, as an app does: `get()`, and "
        "`refresh()` when it finds nothing. The backend counts the requests.",
        [
            ["hosts", "orgs", "reads", "requests", "requests per org per TTL"],
            ["2", str(count), str(2 * count * rounds), str(asked), f"**{per_org:.2f}**"],
        ],
    )
    report.summary.append(
        (
            "Cluster: requests per org per TTL, 2 hosts",
            "1",
            f"{per_org:.2f}",
            "yes" if asked == count else "no",
        )
    )


def _hot_read(report: Report, cluster_url: str, server_url: str, quick: bool) -> None:
    rounds, budget = (3, 0.02) if quick else (9, 0.2)
    org = str(uuid.uuid4())
    stores = {
        "cluster": RedisStore.from_url(cluster_url, prefix="bench-ha-hot:"),
        "server": RedisStore.from_url(server_url, prefix="bench-ha-hot:"),
        "cluster, no near cache": RedisStore.from_url(
            cluster_url, prefix="bench-ha-hot:", near_cache=False
        ),
    }
    info = GrantInfo(True, True, False, 500, "USD")
    for store in stores.values():
        now = store.now_ms()
        store.update(
            lambda prev, n=now: GRANT_CACHE.after_refresh(prev, org, info, n), org, (CACHE_KEY,)
        )  # type: ignore[misc]
    settings = {
        name: Settings(config_path="unused.json", organization=org, store=store)
        for name, store in stores.items()
    }
    for name, store in stores.items():
        GRANT.get(settings[name])
        if store.near is not None:
            _wait(lambda s=store: s.near is not None and s.near.serving)  # type: ignore[misc]
            GRANT.get(settings[name])
    cands: dict[str, Callable[[], object]] = {
        name: (lambda s=s: GRANT.get(s))
        for name, s in settings.items()  # type: ignore[misc]
    }
    result = side_by_side(cands, rounds, budget)
    for store in stores.values():
        store.close()
    base = result["server"]
    report.add(
        "10b. Hot read on a cluster",
        "The grant of one org read again and again (`GRANT.get`), side by side: the near "
        "cache on a 3-master cluster (one listener per master) against the near cache on "
        "one server, and the cluster without a near cache (one GET routed by slot).",
        [
            ["store", "time per read", "vs one server's near cache"],
            *[[name, fmt_s(t), f"{t / base:.2f}x"] for name, t in result.items()],
        ],
    )


def _wait(check: Callable[[], bool], seconds: float = 30.0) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > seconds:
            raise TimeoutError("timed out")
        time.sleep(0.02)
    return time.monotonic() - started


def _put(store: RedisStore, org: str, amount: int) -> bool:
    from tests.support.redis_topologies import put_grant

    return put_grant(store, org, amount) is UpdateStatus.WRITTEN


def _cluster_failover(cluster: ClusterProcesses) -> float:
    from redis.crc import key_slot

    org = str(uuid.uuid4())
    store = RedisStore.from_url(cluster.url, prefix="bench-ha-fo:", near_cache=False)
    assert _put(store, org, 1)
    owner = next(
        p for p in cluster.master_ports() if key_slot(org.encode()) in cluster.owned_slots(p)
    )
    cluster.kill(owner)
    gap = _wait(lambda: _put(store, org, 2))
    store.close()
    return gap


def _sentinel_failover(sentinel: SentinelProcesses) -> tuple[float, float]:
    org = str(uuid.uuid4())
    store = RedisStore.from_url(sentinel.url, prefix="bench-ha-fo:", near_cache=False)
    assert _put(store, org, 1)
    old = sentinel.master.port
    sentinel.master.kill()
    killed = time.monotonic()
    _wait(lambda: sentinel.master_port() not in (0, old))
    named = time.monotonic()
    _wait(lambda: _put(store, org, 2))
    store.close()
    return time.monotonic() - killed, time.monotonic() - named
