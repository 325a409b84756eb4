"""Real processes refreshing through one config file: nothing lost, a stuck lock bounded."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from pathlib import Path

from pytest_httpserver import HTTPServer

from overage_credit_grant.core import CACHE_KEY
from overage_credit_grant.shell import (
    InvalidateStatus,
    RefreshStatus,
    Settings,
    invalidate_overage_credit_grant_cache,
    refresh_overage_credit_grant_cache,
)

from ..support.backend import GRANT_BODY, TOKEN, grant_path, per_org_grant
from ..support.files import FileState, read_json, write_json
from ..support.workers import collect, spawn_worker, start_together


def test_many_processes_refreshing_different_orgs_lose_nothing(
    threaded_httpserver: HTTPServer, tmp_path: Path
) -> None:
    """12 processes, 12 orgs, one file, all at once: every entry and every other key survives."""
    server = threaded_httpserver
    server.expect_request(
        re.compile(r"/api/oauth/organizations/[^/]+/overage_credit_grant")
    ).respond_with_handler(per_org_grant(0.05))
    config = tmp_path / "config.json"
    unrelated = {f"key{i}": {"value": "x" * 1000, "n": i} for i in range(50)}
    write_json(config, unrelated)
    orgs = [str(uuid.uuid4()) for _ in range(12)]
    base_url = server.url_for("/").rstrip("/")
    procs = [spawn_worker("refresh", config, org, base_url) for org in orgs]
    start_together(procs)
    assert [r["status"] for r in collect(procs)] == ["written"] * 12
    final = read_json(config)
    cache = final.pop(CACHE_KEY)
    assert final == unrelated
    assert isinstance(cache, dict)
    assert sorted(cache) == sorted(orgs)
    for org in orgs:
        assert cache[org]["info"]["amount_minor_units"] == int(org[:4], 16)
    assert len(server.log) == 12
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_a_stuck_lock_gives_lock_timeout_within_the_bound(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """Another process holds the lock forever: outcomes in bounded time, nothing written."""
    org = str(uuid.uuid4())
    httpserver.expect_request(grant_path(org)).respond_with_json(GRANT_BODY)
    config = tmp_path / "config.json"
    write_json(config, {"keep": 1, CACHE_KEY: {org: {"info": GRANT_BODY, "timestamp": 1}}})
    before = FileState.of(config)
    holder = spawn_worker("hold-lock", config, org, "-", "60")
    try:
        assert holder.stdout is not None
        assert json.loads(holder.stdout.readline())["status"] == "holding"
        settings = Settings(
            config_path=config,
            organization=org,
            token=TOKEN,
            base_url=httpserver.url_for("/").rstrip("/"),
            lock_timeout_s=0.5,
        )
        started = time.monotonic()
        refreshed = refresh_overage_credit_grant_cache(settings)
        invalidated = invalidate_overage_credit_grant_cache(settings)
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert refreshed.status is RefreshStatus.LOCK_TIMEOUT
    assert invalidated.status is InvalidateStatus.LOCK_TIMEOUT
    assert elapsed < 0.5 * 2 + 1.5
    assert FileState.of(config) == before
