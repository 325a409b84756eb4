"""A fleet of hosts (real processes) on one real redis-server: one request per org, nothing lost,
one backoff and one view for all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import redis
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from overage_credit_grant.shell import (
    InvalidateStatus,
    RedisStore,
    RefreshStatus,
    get_cached_overage_credit_grant,
    invalidate_overage_credit_grant_cache,
    refresh_overage_credit_grant_cache,
)

from ..support.backend import FIVE, GRANT_BODY, TOKEN, MakeSettings, grant_path
from ..support.redis_server import RedisProcess
from ..support.workers import collect, spawn_worker, start_together


def test_an_invalidate_on_one_host_is_seen_by_all(
    on_redis: MakeSettings,
    serve_grant: Callable[..., None],
    redis_server: RedisProcess,
    redis_prefix: str,
) -> None:
    """Separate stores (separate connection pools), as on separate hosts."""
    hosts = [
        on_redis(store=RedisStore.from_url(redis_server.url, prefix=redis_prefix, near_cache=False))
        for _ in range(3)
    ]
    serve_grant()
    assert refresh_overage_credit_grant_cache(hosts[0]).ok
    assert [get_cached_overage_credit_grant(h) for h in hosts] == [FIVE] * 3
    assert invalidate_overage_credit_grant_cache(hosts[1]).status is InvalidateStatus.REMOVED
    assert [get_cached_overage_credit_grant(h) for h in hosts] == [None] * 3


def test_status_lists_every_org_from_redis(
    redis_server: RedisProcess, redis_prefix: str, client: redis.Redis
) -> None:
    store = RedisStore.from_url(redis_server.url, prefix=redis_prefix, near_cache=False)
    orgs = sorted(str(uuid.uuid4()) for _ in range(1200))
    pipe = client.pipeline()
    for org in orgs:
        pipe.set(store.entry_key(org), json.dumps({"info": GRANT_BODY, "timestamp": 1}))
    pipe.execute()
    cache = store.read()["overageCreditGrantCache"]
    assert isinstance(cache, dict)
    assert sorted(cache) == orgs


def fleet_host(orgs: str, base_url: str, url: str, prefix: str, tmp: Path) -> subprocess.Popen[str]:
    """A host of the fleet: a worker process on the shared Redis."""
    return spawn_worker(
        "refresh",
        tmp / f"{uuid.uuid4()}.json",
        orgs,
        base_url,
        env={"REDIS_URL": url, "REDIS_PREFIX": prefix},
    )


def fleet_statuses(procs: list[subprocess.Popen[str]]) -> list[list[str]]:
    start_together(procs)
    found = [r["statuses"] for r in collect(procs)]
    assert all(isinstance(s, list) for s in found)
    return [[str(x) for x in s] for s in found if isinstance(s, list)]


def test_eight_hosts_by_eight_orgs_lose_nothing(
    threaded_httpserver: HTTPServer,
    redis_server: RedisProcess,
    redis_prefix: str,
    client: redis.Redis,
    tmp_path: Path,
) -> None:
    import re

    threaded_httpserver.expect_request(
        re.compile(r"/api/oauth/organizations/[^/]+/overage_credit_grant")
    ).respond_with_json(GRANT_BODY)
    client.set("unrelated:key", "keep")
    plan = [[str(uuid.uuid4()) for _ in range(8)] for _ in range(8)]
    base = threaded_httpserver.url_for("/").rstrip("/")
    hosts = [
        fleet_host(",".join(orgs), base, redis_server.url, redis_prefix, tmp_path) for orgs in plan
    ]
    assert fleet_statuses(hosts) == [["written"] * 8] * 8
    store = RedisStore.from_url(redis_server.url, prefix=redis_prefix, near_cache=False)
    cache = store.read()["overageCreditGrantCache"]
    assert isinstance(cache, dict)
    assert sorted(cache) == sorted(org for orgs in plan for org in orgs)
    assert client.get("unrelated:key") == b"keep"
    assert not list(tmp_path.glob("*.json"))  # no host wrote a file: all went to Redis


def test_hosts_refreshing_one_org_send_one_request(
    threaded_httpserver: HTTPServer,
    redis_server: RedisProcess,
    redis_prefix: str,
    tmp_path: Path,
    org: str,
) -> None:
    def slow(_: Request) -> Response:
        time.sleep(0.5)
        return Response(json.dumps(GRANT_BODY), content_type="application/json")

    threaded_httpserver.expect_request(grant_path(org)).respond_with_handler(slow)
    base = threaded_httpserver.url_for("/").rstrip("/")
    hosts = [fleet_host(org, base, redis_server.url, redis_prefix, tmp_path) for _ in range(8)]
    statuses = sorted(s for [s] in fleet_statuses(hosts))
    assert statuses == ["skipped_in_flight"] * 7 + ["written"]
    assert len(threaded_httpserver.log) == 1


def test_cli_works_unchanged_on_redis(
    redis_server: RedisProcess, httpserver: HTTPServer, tmp_path: Path, org: str
) -> None:
    httpserver.expect_request(grant_path(org)).respond_with_json(GRANT_BODY)
    prefix_free_url = redis_server.url  # the CLI uses the default prefix
    script = str(Path(sys.executable).with_name("overage-grant"))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "CLAUDE_CODE_OAUTH_TOKEN": TOKEN}
    common = [
        "--redis-url",
        prefix_free_url,
        "--org",
        org,
        "--base-url",
        httpserver.url_for("/").rstrip("/"),
    ]
    shown = subprocess.run(
        [script, "show", *common], env=env, capture_output=True, text=True, check=False
    )
    assert shown.returncode == 0, shown.stderr
    assert "$5 in extra usage" in shown.stdout
    status = subprocess.run(
        [script, "--json", "status", *common], env=env, capture_output=True, text=True, check=False
    )
    data = json.loads(status.stdout)
    assert data["store"].startswith("redis://127.0.0.1")
    assert org in [e["organization"] for e in data["entries"]]
    removed = subprocess.run(
        [script, "invalidate", *common], env=env, capture_output=True, text=True, check=False
    )
    assert removed.stdout.strip() == "removed"
    assert not (tmp_path / ".config").exists()


def test_backoff_is_kept_in_redis_and_holds_for_every_host(
    make_settings: MakeSettings,
    httpserver: HTTPServer,
    redis_server: RedisProcess,
    redis_prefix: str,
    client: redis.Redis,
    org: str,
) -> None:
    """A failure on one host backs off the whole fleet: the state is a key of its own."""
    httpserver.expect_request(grant_path(org)).respond_with_data("down", status=503)
    hosts = [
        make_settings(
            store=RedisStore.from_url(redis_server.url, prefix=redis_prefix, near_cache=False),
            backoff_base_ms=60_000,
        )
        for _ in range(3)
    ]
    assert refresh_overage_credit_grant_cache(hosts[0]).status is RefreshStatus.FETCH_FAILED_HTTP
    stored = client.get(f"{redis_prefix}overageCreditGrantCacheBackoff:{{{org}}}")
    assert stored is not None
    assert json.loads(stored)["failures"] == 1
    for host in hosts:
        assert refresh_overage_credit_grant_cache(host).status is RefreshStatus.BACKING_OFF
    assert len(httpserver.log) == 1
