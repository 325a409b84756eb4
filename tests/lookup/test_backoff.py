"""Backing off after failed fetches: growing, capped, kept in the config, and seen by every
process."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from pytest_httpserver import HTTPServer

from overage_credit_grant.core import CACHE_KEY
from overage_credit_grant.shell import (
    RefreshStatus,
    refresh_overage_credit_grant_cache,
)

from ..support.backend import GRANT_BODY, MakeSettings, grant_path
from ..support.clock import Clock
from ..support.files import cached_section, read_json
from ..support.lookups import Kind
from ..support.marks import answer, each_kind
from ..support.workers import collect, spawn_worker, start_together

BACKOFF_KEY = CACHE_KEY + "Backoff"


def test_failures_back_off_growing_and_capped(
    make_settings: MakeSettings, httpserver: HTTPServer, org: str, clock: Clock, config_path: Path
) -> None:
    """A failing backend is asked once per backoff window, the window doubling to a cap."""
    httpserver.expect_request(grant_path(org)).respond_with_data("down", status=503)
    s = make_settings(backoff_base_ms=1000, backoff_cap_ms=4000)
    sent = []
    for _ in range(200):  # 200 refreshes, 100 ms apart: 20 s of renders
        outcome = refresh_overage_credit_grant_cache(s)
        assert outcome.status in (RefreshStatus.FETCH_FAILED_HTTP, RefreshStatus.BACKING_OFF)
        sent.append(len(httpserver.log))
        clock.advance(100)
    # waits of 1 s, 2 s, 4 s, 4 s, ...: about 7 requests in 20 s instead of 200
    assert len(httpserver.log) <= 8
    gaps = [i for i in range(1, len(sent)) if sent[i] != sent[i - 1]]
    assert [b - a for a, b in itertools.pairwise(gaps)][:3] == [20, 40, 40]
    assert cached_section(config_path) is None  # nothing cached (backoff may be)
    httpserver.clear()
    httpserver.expect_request(grant_path(org)).respond_with_json(GRANT_BODY)
    clock.advance(4000)
    assert refresh_overage_credit_grant_cache(s).status is RefreshStatus.WRITTEN
    assert refresh_overage_credit_grant_cache(s).status is RefreshStatus.UNCHANGED


@each_kind
def test_failures_back_off_and_the_backoff_is_kept_in_the_config(
    kind: Kind,
    make_settings: MakeSettings,
    httpserver: HTTPServer,
    config_path: Path,
    org: str,
) -> None:
    """A failing backend is asked once per window; the window is stored beside the entry,
    so another process (another worker) sees it; a success clears it in the same write."""
    answer(httpserver, kind, org, "down", 503)
    clock = Clock(int(time.time() * 1000))  # near the worker's wall clock
    s = make_settings(backoff_base_ms=60_000, backoff_cap_ms=240_000, clock=clock)
    assert kind.lookup.refresh(s).status is RefreshStatus.FETCH_FAILED_HTTP
    assert kind.lookup.refresh(s).status is RefreshStatus.BACKING_OFF
    section = kind.lookup.backoff_section
    failed = {"failures": 1, "retry_at": clock() + 60_000, "target": s.base_url}
    assert read_json(config_path)[section] == {org: failed}
    worker = spawn_worker(
        "refresh", config_path, org, make_settings().base_url, env={"LOOKUP": kind.name}
    )
    start_together([worker])
    assert collect([worker])[0]["status"] == "backing_off"
    assert len(httpserver.log) == 1
    clock.advance(60_000)
    httpserver.clear()
    answer(httpserver, kind, org, kind.body)
    assert kind.lookup.refresh(s).status is RefreshStatus.WRITTEN
    assert section not in read_json(config_path)
