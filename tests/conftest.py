"""Shared test settings: hypothesis profiles, registered once.

``HYPOTHESIS_PROFILE=long`` runs every property with ten times the examples.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from pytest_httpserver import HTTPServer

from overage_credit_grant.shell import Settings

from .support.backend import GRANT_BODY, TOKEN, grant_path
from .support.clock import Clock
from .support.redis_server import RedisProcess

settings.register_profile(
    "default",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# -- shell fixtures --------------------------------------------------------------------


@pytest.fixture
def org() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def clock() -> Clock:
    return Clock(1_764_000_000_000)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return tmp_path / "config.json"


@pytest.fixture
def make_settings(
    config_path: Path, org: str, clock: Clock, httpserver: HTTPServer
) -> Callable[..., Settings]:
    """Settings for a temp config, a fixed org and token, the loopback server, a fake clock."""

    def make(**overrides: object) -> Settings:
        base = {
            "config_path": config_path,
            "organization": org,
            "token": TOKEN,
            "base_url": httpserver.url_for("/").rstrip("/"),
            "clock": clock,
            "lock_timeout_s": 2.0,
            "connect_timeout_s": 1.0,
            "read_timeout_s": 1.0,
            "total_timeout_s": 2.0,
            "env": {},
            # The tests rewrite files by hand and read them back at once: look every time
            # (tests/lookup/test_read.py checks the default, a look every 0.25 s).
            "file_check_s": 0.0,
        }
        return Settings(**{**base, **overrides})  # type: ignore[arg-type]

    return make


@pytest.fixture
def serve_grant(httpserver: HTTPServer, org: str) -> Callable[..., None]:
    """Make the loopback backend answer `org`'s grant with `body` (default: $5 available)."""

    def serve(body: object = GRANT_BODY, status: int = 200, for_org: str | None = None) -> None:
        httpserver.clear()
        httpserver.expect_request(grant_path(for_org or org)).respond_with_data(
            json.dumps(body), status=status, content_type="application/json"
        )

    return serve


@pytest.fixture
def threaded_httpserver() -> Iterator[HTTPServer]:
    """A loopback backend that answers requests concurrently (the default one is serial)."""
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        default=False,
        help="run the torture tests at full length (see docs/reliability.md)",
    )


@pytest.fixture
def long_run(request: pytest.FixtureRequest) -> bool:
    """True under --long: torture tests run their full-length version."""
    return bool(request.config.getoption("--long"))


@pytest.fixture(autouse=True)
def _no_token_in_any_log(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Across the whole suite: the token never appears in a log record, tracebacks included."""
    caplog.set_level(logging.DEBUG, logger="overage_credit_grant")
    yield
    formatter = logging.Formatter()
    for when in ("setup", "call", "teardown"):
        for record in caplog.get_records(when):
            assert TOKEN not in formatter.format(record), "the token reached a log record"


@pytest.fixture(autouse=True)
def _close_shared_redis_stores() -> Iterator[None]:
    """A test's shared Redis stores end with it: no listener outlives its Redis and
    reconnects to whatever takes the port next."""
    yield
    module = sys.modules.get("overage_credit_grant.shell._store_choice")
    if module is not None:
        module.close_shared_redis_stores()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisProcess]:
    """One real redis-server for the session (tests keep apart by key prefix)."""
    server = RedisProcess().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}:"
