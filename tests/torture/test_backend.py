"""A hostile backend: whatever it answers, nothing is written, raised, leaked or hung.

Every case checks the same four things: the config file is untouched (0 writes), the
outcome is a failure rather than an exception, the call ends within its time bound, and
the token never reaches any host but the one it was meant for.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from returns.result import Failure
from werkzeug import Request, Response

from overage_credit_grant.core import CACHE_KEY, decode_grant_info
from overage_credit_grant.shell import RefreshOutcome, refresh_overage_credit_grant_cache

from ..strategies import invalid_grant_payloads, json_values
from ..support.backend import GRANT_BODY, TOKEN, MakeSettings, grant_path
from ..support.files import FileState, write_json

pytestmark = pytest.mark.torture
TIME_BOUND_S = 4.0  # total timeout 2 s + read timeout 1 s + slack


@pytest.fixture
def other_host() -> Iterator[HTTPServer]:
    """A second server standing for another host: it must never hear from us."""
    server = HTTPServer(host="127.0.0.2")
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Harness:
    """Seeded config, one org, a backend told what to answer; checks the four laws."""

    def __init__(
        self,
        make_settings: MakeSettings,
        config: Path,
        org: str,
        server: HTTPServer,
        other: HTTPServer,
    ) -> None:
        self.config, self.org, self.server, self.other = config, org, server, other
        # Backoff off: every case must reach the server, not be skipped after a failure.
        self.settings = make_settings(backoff_base_ms=0, backoff_cap_ms=0)
        write_json(
            config,
            {"keep": list(range(100)), CACHE_KEY: {org: {"info": GRANT_BODY, "timestamp": 1}}},
        )
        self.before = FileState.of(config)
        self.cases = 0

    def answer(self, respond: Callable[[Request], Response]) -> RefreshOutcome:
        self.server.clear()
        self.server.expect_request(grant_path(self.org)).respond_with_handler(respond)
        started = time.monotonic()
        outcome = refresh_overage_credit_grant_cache(self.settings)
        assert time.monotonic() - started < TIME_BOUND_S
        assert not outcome.ok, outcome
        assert outcome.fetch_failed, outcome
        assert TOKEN not in str(outcome)
        assert FileState.of(self.config) == self.before
        assert self.other.log == []
        self.cases += 1
        return outcome


@pytest.fixture
def harness(
    make_settings: MakeSettings,
    config_path: Path,
    org: str,
    httpserver: HTTPServer,
    other_host: HTTPServer,
    request: pytest.FixtureRequest,
) -> Iterator[Harness]:
    h = Harness(make_settings, config_path, org, httpserver, other_host)
    yield h
    assert h.cases > 0, "the test never reached the backend"
    print(f"\nhostile-backend {request.node.name}: {h.cases} answers, 0 writes")


def examples(long_run: bool, short: int = 40, long: int = 400) -> settings:
    return settings(
        max_examples=long if long_run else short,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def json_response(
    body: bytes, status: int = 200, ctype: str = "application/json"
) -> Callable[[Request], Response]:
    return lambda _: Response(body, status=status, headers={"Content-Type": ctype})


def test_random_json_that_is_not_a_grant(harness: Harness, long_run: bool) -> None:
    @examples(long_run)
    @given(json_values(max_leaves=30) | invalid_grant_payloads())
    def case(body: object) -> None:
        if not isinstance(decode_grant_info(body), Failure):
            return  # a valid grant is not hostile
        harness.answer(json_response(json.dumps(body).encode()))

    case()


def test_random_bytes(harness: Harness, long_run: bool) -> None:
    @examples(long_run)
    @given(st.binary(max_size=2048))
    def case(body: bytes) -> None:
        try:
            if not isinstance(decode_grant_info(json.loads(body)), Failure):
                return
        except ValueError:
            pass
        harness.answer(json_response(body))

    case()


def test_every_non_200_status(harness: Harness, long_run: bool) -> None:
    """201-599 with a perfectly valid grant body: still no write."""
    valid = json.dumps(GRANT_BODY).encode()

    @examples(long_run, short=40, long=399)
    @given(st.integers(201, 599).filter(lambda s: s not in (204, 304)))
    def case(status: int) -> None:
        assert harness.answer(json_response(valid, status=status)).http_status == status

    case()


def test_wrong_content_types(harness: Harness, long_run: bool) -> None:
    valid = json.dumps(GRANT_BODY).encode()

    @examples(long_run)
    @given(
        st.sampled_from(
            [
                "text/html",
                "text/plain",
                "application/xml",
                "",
                "application/octet-stream",
                "multipart/form-data",
            ]
        )
        # Values a server can send: a header that cannot be sent would test the server.
        | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30).filter(
            lambda t: "json" not in t.lower()
        )
    )
    def case(ctype: str) -> None:
        harness.answer(lambda _: Response(valid, headers={"Content-Type": ctype}))

    case()


@pytest.mark.parametrize("size", [65_537, 1_000_000, 20_000_000])
def test_huge_bodies(harness: Harness, size: int) -> None:
    body = json.dumps({**GRANT_BODY, "pad": "x" * size}).encode()
    outcome = harness.answer(json_response(body))
    assert "larger than" in outcome.detail


def test_huge_body_without_a_length(harness: Harness) -> None:
    def endless(_: Request) -> Response:
        return Response((b"x" * 65536 for _ in range(10_000)), content_type="application/json")

    assert "larger than" in harness.answer(endless).detail


def test_slow_drip(harness: Harness) -> None:
    def drip(_: Request) -> Response:
        def body() -> Iterator[bytes]:
            for _ in range(100):
                yield b" "
                time.sleep(0.05)
            yield json.dumps(GRANT_BODY).encode()

        return Response(body(), content_type="application/json")

    assert harness.answer(drip).status.value == "fetch_failed_timeout"


@pytest.fixture
def other_port() -> Iterator[HTTPServer]:
    """A server on this very host, another port: requests keeps auth for such redirects,
    so only never following them keeps the token home."""
    server = HTTPServer(host="127.0.0.1")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("where", ["other-host", "other-port", "localhost-name"])
def test_redirects_to_another_host_or_port_carry_nothing(
    harness: Harness, other_port: HTTPServer, status: int, where: str
) -> None:
    target_server = harness.other if where == "other-host" else other_port
    target = target_server.url_for(grant_path(harness.org))
    if where == "localhost-name":
        target = target.replace("127.0.0.1", "localhost")
    target_server.expect_request(grant_path(harness.org)).respond_with_json(GRANT_BODY)
    outcome = harness.answer(lambda _: Response(status=status, headers={"Location": target}))
    assert outcome.http_status == status
    assert harness.other.log == []
    assert other_port.log == []
