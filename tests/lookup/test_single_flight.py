"""One fetch at a time: threads, `start_refresh` and processes refreshing one org share one
request; different orgs never wait on each other.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

from pytest_httpserver import HTTPServer

from overage_credit_grant.shell import (
    RefreshStatus,
    refresh_overage_credit_grant_cache,
    start_refresh,
)

from ..support.backend import GRANT_BODY, MakeSettings, grant_path, per_org_grant, slowly
from ..support.files import OTHER_ORG, read_json
from ..support.lookups import Kind
from ..support.marks import each_kind
from ..support.workers import collect, spawn_worker, start_together


def test_start_refresh_returns_at_once_and_joins_the_flight(
    make_settings: MakeSettings, httpserver: HTTPServer, org: str
) -> None:
    """The fire-and-forget form: immediate return, one request for many starts."""
    httpserver.expect_request(grant_path(org)).respond_with_handler(slowly(GRANT_BODY, 0.5))
    s = make_settings()
    started = time.monotonic()
    futures = [start_refresh(s) for _ in range(8)]
    assert time.monotonic() - started < 0.4
    assert len({id(f) for f in futures}) == 1
    assert futures[0].result(timeout=5).status is RefreshStatus.WRITTEN
    assert len(httpserver.log) == 1


def test_start_refresh_reports_skips_without_a_thread(make_settings: MakeSettings) -> None:
    future = start_refresh(make_settings(organization=None, claude_config_path=None))
    assert future.done()
    assert future.result().status is RefreshStatus.SKIPPED_NO_ORGANIZATION


def test_different_orgs_do_not_wait_on_each_other(
    make_settings: MakeSettings, threaded_httpserver: HTTPServer, org: str
) -> None:
    """A slow fetch for one org does not delay another org's refresh."""
    server = threaded_httpserver
    server.expect_request(grant_path(org)).respond_with_handler(slowly(GRANT_BODY, 1.5))
    server.expect_request(grant_path(OTHER_ORG)).respond_with_json(GRANT_BODY)
    base_url = server.url_for("/").rstrip("/")
    slow = start_refresh(make_settings(base_url=base_url, read_timeout_s=3, total_timeout_s=3))
    time.sleep(0.1)
    started = time.monotonic()
    fast = refresh_overage_credit_grant_cache(
        make_settings(organization=OTHER_ORG, base_url=base_url)
    )
    assert fast.status is RefreshStatus.WRITTEN
    assert time.monotonic() - started < 1.0
    assert slow.result(timeout=5).ok


@each_kind
def test_thirty_two_threads_share_one_request(
    kind: Kind, make_settings: MakeSettings, httpserver: HTTPServer, org: str
) -> None:
    httpserver.expect_request(kind.path(org)).respond_with_handler(slowly(kind.body, 0.3))
    s = make_settings()
    barrier = threading.Barrier(32)
    outcomes: list[RefreshStatus] = []

    def run() -> None:
        barrier.wait()
        outcomes.append(kind.lookup.refresh(s).status)

    threads = [threading.Thread(target=run) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(httpserver.log) == 1
    assert outcomes == [RefreshStatus.WRITTEN] * 32


@each_kind
def test_six_processes_share_one_request(
    kind: Kind, threaded_httpserver: HTTPServer, tmp_path: Path
) -> None:
    org = str(uuid.uuid4())
    server = threaded_httpserver
    server.expect_request(kind.path(org)).respond_with_handler(slowly(kind.body, 0.5))
    config = tmp_path / "config.json"
    base_url = server.url_for("/").rstrip("/")
    procs = [
        spawn_worker("refresh", config, org, base_url, env={"LOOKUP": kind.name}) for _ in range(6)
    ]
    start_together(procs)
    statuses = sorted(str(r["status"]) for r in collect(procs))
    assert len(server.log) == 1
    assert statuses == ["skipped_in_flight"] * 5 + ["written"]
    assert read_json(config)[kind.lookup.cache.key][org]["info"] == kind.body  # type: ignore[index]


def test_processes_refreshing_one_org_send_one_request(
    threaded_httpserver: HTTPServer, tmp_path: Path
) -> None:
    """The cross-process lease: 6 processes, one org, one request; the rest skip."""
    org = str(uuid.uuid4())
    server = threaded_httpserver
    server.expect_request(grant_path(org)).respond_with_handler(per_org_grant(0.5))
    config = tmp_path / "config.json"
    base_url = server.url_for("/").rstrip("/")
    procs = [spawn_worker("refresh", config, org, base_url) for _ in range(6)]
    start_together(procs)
    statuses = [r["status"] for r in collect(procs)]
    assert len(server.log) == 1
    assert sorted(statuses) == ["skipped_in_flight"] * 5 + ["written"]
