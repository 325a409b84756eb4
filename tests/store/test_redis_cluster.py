"""The Redis store on a real 3-master Redis Cluster on loopback (`redis+cluster://`): one
request per org across hosts, every primary's invalidations heard, errors as outcomes,
and a failover followed."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from redis.crc import key_slot

from overage_credit_grant.core import CACHE_KEY, GRANT_CACHE
from overage_credit_grant.shell import (
    GRANT,
    InvalidateStatus,
    RedisStore,
    RefreshStatus,
    Settings,
    UpdateStatus,
)

from ..support.backend import GRANT_BODY, TOKEN, grant_path
from ..support.fleet_host import FleetHost
from ..support.near_hosts import NearHosts
from ..support.redis_topologies import ClusterProcesses, put_grant


@pytest.fixture(scope="module")
def cluster() -> Iterator[ClusterProcesses]:
    found = ClusterProcesses(masters=3).start()
    try:
        yield found
    finally:
        found.stop()


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}:"


def answer_every_org(server: HTTPServer) -> None:
    server.expect_request(
        re.compile(r"/api/oauth/organizations/[^/]+/overage_credit_grant")
    ).respond_with_json(GRANT_BODY)


def orgs_on_every_slot_range(count: int) -> list[str]:
    """`count` orgs whose keys spread over the three masters' slot ranges."""
    found: dict[int, list[str]] = {0: [], 1: [], 2: []}
    while sum(len(v) for v in found.values()) < count:
        org = str(uuid.uuid4())
        third = key_slot(org.encode()) * 3 // 16384
        if len(found[third]) < (count + 2) // 3:
            found[third].append(org)
    return [org for orgs in found.values() for org in orgs][:count]


def base_of(server: HTTPServer) -> str:
    return server.url_for("/").rstrip("/")


def test_twenty_orgs_two_hosts_one_request_each_and_an_invalidation_within_a_second(
    cluster: ClusterProcesses, threaded_httpserver: HTTPServer, prefix: str
) -> None:
    answer_every_org(threaded_httpserver)
    orgs = orgs_on_every_slot_range(20)
    base = base_of(threaded_httpserver)
    hosts = [FleetHost(cluster.url, prefix, base, orgs) for _ in range(2)]
    try:
        for host in hosts:  # both at once: the lease lets one of them fetch each org
            assert host.proc.stdin is not None
            host.proc.stdin.write("go\n")
            host.proc.stdin.flush()
        for host in hosts:
            host.proc.stdout.readline()  # type: ignore[union-attr]
        rounds = [host.round() for host in hosts]
    finally:
        for host in hosts:
            host.close()
    assert len(threaded_httpserver.log) == 20
    assert sorted(r.path for r, _ in threaded_httpserver.log) == sorted(grant_path(o) for o in orgs)
    for said in rounds:  # the second round: every host reads every value, none refreshes
        assert said["amounts"] == dict.fromkeys(orgs, 500)
        assert said["refreshes"] == {}

    org = orgs[0]
    reader = NearHosts(cluster.url, prefix, org, count=1)
    store = RedisStore.from_url(cluster.url, prefix=prefix, near_cache=False)
    try:
        reader.wait_ready()
        written_at = time.time()
        s = Settings(config_path="unused.json", organization=org, store=store)
        assert GRANT.invalidate(s).status is InvalidateStatus.REMOVED
        [latency] = reader.latencies(None, written_at)
    finally:
        reader.close()
        store.close()
    assert latency < 1.0


def test_the_command_line_on_a_cluster(
    cluster: ClusterProcesses, httpserver: HTTPServer, tmp_path: Path
) -> None:
    """The CLI takes the cluster's URL; `status` lists the orgs of every master."""
    orgs = orgs_on_every_slot_range(6)
    answer_every_org(httpserver)
    script = str(Path(sys.executable).with_name("overage-grant"))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "CLAUDE_CODE_OAUTH_TOKEN": TOKEN}
    env["OVERAGE_GRANT_REDIS_URL"] = cluster.url

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        common = ["--base-url", base_of(httpserver)]
        return subprocess.run(
            [script, *argv, *common], env=env, capture_output=True, text=True, check=False
        )

    for org in orgs:
        done = run("--json", "refresh", "--org", org)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["status"] == "written"
    status = json.loads(run("--json", "status").stdout)
    assert status["store"].startswith("redis+cluster://127.0.0.1")
    assert set(orgs) <= {e["organization"] for e in status["entries"]}
    assert run("invalidate", "--org", orgs[0]).stdout.strip() == "removed"
    assert not (tmp_path / ".config").exists()  # nothing went to a file


def test_every_masters_writes_reach_the_near_cache(cluster: ClusterProcesses, prefix: str) -> None:
    orgs = orgs_on_every_slot_range(3)
    reader = RedisStore.from_url(cluster.url, prefix=prefix)
    writer = RedisStore.from_url(cluster.url, prefix=prefix, near_cache=False)
    near = reader.near
    assert near is not None
    try:
        for org in orgs:
            reader.read(org)
        deadline = time.monotonic() + 5
        while not near.serving:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert set(near.tracker.trackers) == set(cluster_primaries(cluster))
        for org in orgs:
            reader.read(org)  # kept now
        for amount, org in enumerate(orgs, start=700):
            write(writer, org, amount)
        assert near.sync()
        for amount, org in enumerate(orgs, start=700):
            assert (
                GRANT_CACHE.entry(reader.read(org), org).unwrap().value.amount_minor_units == amount
            )
    finally:
        reader.close()
        writer.close()


def cluster_primaries(cluster: ClusterProcesses) -> list[str]:
    return [f"127.0.0.1:{p}" for p in cluster.master_ports()]


def write(store: RedisStore, org: str, amount: int) -> None:
    assert put_grant(store, org, amount) is UpdateStatus.WRITTEN


def test_a_cluster_that_does_not_answer_gives_outcomes_not_exceptions(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """Down when the store is made, and down after: every call an outcome, no traceback."""
    caplog.set_level(logging.DEBUG)
    dead = ClusterProcesses(masters=3)  # ports chosen, nothing started
    s = Settings(
        config_path=tmp_path / "unused.json",
        organization=str(uuid.uuid4()),
        token=TOKEN,
        redis_url=dead.url,
        store_timeout_s=0.2,
    )
    started = time.monotonic()
    assert GRANT.get(s) is None
    assert GRANT.refresh(s).status is RefreshStatus.STORE_UNAVAILABLE
    assert GRANT.invalidate(s).status is InvalidateStatus.STORE_UNAVAILABLE
    assert time.monotonic() - started < 5
    assert "Traceback" not in caplog.text


def test_a_master_that_fails_over_is_followed(tmp_path: Path) -> None:
    """A master killed: its replica takes over; reads and writes on its slots come back
    within the cluster's failover time plus 2 s, and the near cache listens to the new
    master (a write made through it reaches the cache)."""
    ha = ClusterProcesses(masters=3, replicas=1).start()
    prefix = "failover:"
    try:
        [org] = orgs_on_every_slot_range(1)  # on the first master's slots
        store = RedisStore.from_url(ha.url, prefix=prefix)
        writer = RedisStore.from_url(ha.url, prefix=prefix, near_cache=False)
        near = store.near
        assert near is not None
        write(writer, org, 100)
        store.read(org)
        wait(lambda: near.serving, 5)
        owner = next(p for p in ha.master_ports() if key_slot(org.encode()) in ha.owned_slots(p))
        ha.kill(owner)
        killed_at = time.monotonic()
        wait(lambda: write_ok(writer, org, 200), 15)
        back_after = time.monotonic() - killed_at
        wait(lambda: near.serving and set(near.tracker.trackers) == set(cluster_primaries(ha)), 5)
        write(writer, org, 300)
        assert near.sync()
        assert amount_in(store, org) == 300
        print(f"\nfailover: writes back {back_after:.2f} s after the master was killed")
        assert back_after < ha.node_timeout_ms / 1000 * 2 + 2 + 2
        store.close()
        writer.close()
    finally:
        ha.stop()


def write_ok(store: RedisStore, org: str, amount: int) -> bool:
    return put_grant(store, org, amount) is UpdateStatus.WRITTEN


def wait(check: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def amount_in(store: RedisStore, org: str) -> int:
    return GRANT_CACHE.entry(store.read(org), org).unwrap().value.amount_minor_units


def test_the_status_lines_reader_follows_the_slot_map(
    cluster: ClusterProcesses, prefix: str
) -> None:
    """The status line's reader (no redis-py) reads every master's orgs, following the
    redirections of the node it asked first, and takes leases on any slot."""
    from overage_credit_grant.shell._store.glance import glance_store

    orgs = orgs_on_every_slot_range(6)
    store = RedisStore.from_url(cluster.url, prefix=prefix, near_cache=False)
    for amount, org in enumerate(orgs, start=100):
        write(store, org, amount)
    view = glance_store(cluster.url, 1.0, prefix)
    assert view is not None
    try:
        for org in orgs:
            assert view.read(org) == store.read(org)
            status, owner = view.hand_over_lease(org, CACHE_KEY)
            assert status.value == "acquired"
            with store.lease(org, CACHE_KEY) as held:
                assert held.value == "busy"
            view.give_back_lease(org, CACHE_KEY, owner)
    finally:
        view.close()
        store.close()
