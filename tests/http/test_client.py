"""The HTTP request against a real loopback server (shell/_http/client.py)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from returns.result import Failure, Success
from werkzeug import Request, Response

from overage_credit_grant.core import GRANT_CACHE, GrantInfo
from overage_credit_grant.shell import FetchError, FetchErrorKind, FetchRequest, Settings
from overage_credit_grant.shell._fetch import HttpFetch, fetch_value
from overage_credit_grant.shell._grant import GRANT_PATH
from overage_credit_grant.shell._http.client import check_base_url

from ..strategies import invalid_org_ids
from ..support.backend import GRANT_BODY, TOKEN, grant_path

FIVE_DOLLARS = GrantInfo(True, True, False, 500, "USD")


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def fetch_grant(
    base_url: str,
    org: str,
    token: str,
    *,
    connect_timeout_s: float = 3.05,
    read_timeout_s: float = 10.0,
    total_timeout_s: float = 20.0,
    max_bytes: int = 64 * 1024,
) -> object:
    """The grant's HTTP fetch and strict decode, as a refresh runs them."""
    settings = Settings(
        config_path="unused.json",
        base_url=base_url,
        connect_timeout_s=connect_timeout_s,
        read_timeout_s=read_timeout_s,
        max_response_bytes=max_bytes,
    )
    request = FetchRequest(org, token, settings, time.monotonic() + total_timeout_s)
    return fetch_value(HttpFetch(GRANT_PATH), GRANT_CACHE, request, "grant")


def fetch(httpserver: HTTPServer, org: str, **options: float) -> object:
    return fetch_grant(
        base(httpserver),
        org,
        TOKEN,
        connect_timeout_s=options.get("connect", 1.0),
        read_timeout_s=options.get("read", 1.0),
        total_timeout_s=options.get("total", 2.0),
        max_bytes=int(options.get("max_bytes", 65536)),
    )


def failure_of(result: object) -> FetchError:
    assert isinstance(result, Failure), result
    error = result.failure()
    assert isinstance(error, FetchError)
    assert TOKEN not in error.detail
    return error


def test_request_has_the_seeds_url_and_headers(httpserver: HTTPServer, org: str) -> None:
    """GET /api/oauth/organizations/{org}/overage_credit_grant with the three headers."""
    httpserver.expect_request(
        grant_path(org),
        method="GET",
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "Content-Type": "application/json",
            "anthropic-version": "2023-06-01",
        },
    ).respond_with_json(GRANT_BODY)
    assert fetch(httpserver, org) == Success(FIVE_DOLLARS)
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 429, 500, 502, 503])
def test_http_error_statuses_fail_with_the_status(
    httpserver: HTTPServer, org: str, status: int
) -> None:
    """Any non-200 answer is a failed fetch carrying its status."""
    httpserver.expect_request(grant_path(org)).respond_with_json(GRANT_BODY, status=status)
    error = failure_of(fetch(httpserver, org))
    assert error.kind is FetchErrorKind.HTTP
    assert error.http_status == status


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"", "application/json", "not valid JSON"),
        (b"<html>oops</html>", "application/json", "not valid JSON"),
        (b'{"available": 1}', "application/json", "not a grant"),
        (json.dumps({**GRANT_BODY, "available": "yes"}).encode(), "application/json", "boolean"),
        (
            json.dumps({**GRANT_BODY, "amount_minor_units": 5.0}).encode(),
            "application/json",
            "integer",
        ),
        (b"[]", "application/json", "not a grant"),
        (json.dumps(GRANT_BODY).encode(), "text/html", "not application/json"),
        (json.dumps(GRANT_BODY).encode(), "", "not application/json"),
        (b"[" * 200_000 + b"]" * 200_000, "application/json", "not valid JSON"),
        (b'{"amount_minor_units": ' + b"9" * 5000 + b"}", "application/json", "not valid JSON"),
        (
            json.dumps(GRANT_BODY).replace(": 500,", ": 1" + "0" * 5000 + ",").encode(),
            "application/json",
            "not valid JSON",
        ),
    ],
)
def test_bad_bodies_are_payload_failures(
    httpserver: HTTPServer, org: str, body: bytes, content_type: str, reason: str
) -> None:
    """Malformed, mistyped or wrongly labelled bodies never become a grant."""
    httpserver.expect_request(grant_path(org)).respond_with_response(
        Response(body, status=200, headers={"Content-Type": content_type} if content_type else {})
    )
    started = time.monotonic()
    error = failure_of(fetch(httpserver, org, max_bytes=1_000_000))
    assert error.kind is FetchErrorKind.PAYLOAD
    assert reason in error.detail
    assert time.monotonic() - started < 2


def test_oversized_body_is_refused(httpserver: HTTPServer, org: str) -> None:
    """A body past the cap is refused, whether or not it declares its length."""
    big = json.dumps({**GRANT_BODY, "pad": "x" * 100_000}).encode()
    httpserver.expect_request(grant_path(org)).respond_with_data(
        big, content_type="application/json"
    )
    error = failure_of(fetch(httpserver, org, max_bytes=65536))
    assert error.kind is FetchErrorKind.PAYLOAD
    assert "larger than" in error.detail

    def chunked(_: Request) -> Response:
        return Response(
            iter([big[i : i + 4096] for i in range(0, len(big), 4096)]),
            content_type="application/json",
        )

    httpserver.clear()
    httpserver.expect_request(grant_path(org)).respond_with_handler(chunked)
    assert "larger than" in failure_of(fetch(httpserver, org, max_bytes=65536)).detail


def test_redirects_are_never_followed(httpserver: HTTPServer, org: str) -> None:
    """A 3xx is a failure; the token never travels to the Location."""
    httpserver.expect_request(grant_path(org)).respond_with_response(
        Response(status=302, headers={"Location": "https://attacker.invalid/steal"})
    )
    error = failure_of(fetch(httpserver, org))
    assert error.kind is FetchErrorKind.HTTP
    assert error.http_status == 302
    assert len(httpserver.log) == 1


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def test_a_backend_that_never_answers_times_out_in_bounds(org: str, silent_port: int) -> None:
    """A silent server gives a timeout failure within the read timeout."""
    started = time.monotonic()
    result = fetch_grant(
        f"http://127.0.0.1:{silent_port}", org, TOKEN, connect_timeout_s=0.5, read_timeout_s=0.5
    )
    assert failure_of(result).kind is FetchErrorKind.TIMEOUT
    assert time.monotonic() - started < 3


def test_slow_drip_is_cut_at_the_total_timeout(httpserver: HTTPServer, org: str) -> None:
    """A body dripped slower than the total timeout allows is abandoned."""

    def drip(_: Request) -> Response:
        def body() -> Iterator[bytes]:
            for _ in range(40):
                yield b" "
                time.sleep(0.1)
            yield json.dumps(GRANT_BODY).encode()

        return Response(body(), content_type="application/json")

    httpserver.expect_request(grant_path(org)).respond_with_handler(drip)
    started = time.monotonic()
    error = failure_of(fetch(httpserver, org, read=1.0, total=1.0))
    assert error.kind is FetchErrorKind.TIMEOUT
    assert time.monotonic() - started < 2.5


def test_connection_refused_is_a_network_failure(org: str) -> None:
    """Nobody listening: a network failure, no exception."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = failure_of(fetch_grant(f"http://127.0.0.1:{port}", org, TOKEN))
    assert error.kind is FetchErrorKind.NETWORK


INSECURE, MALFORMED = FetchErrorKind.INSECURE_URL, FetchErrorKind.MALFORMED_URL


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://api.anthropic.com", INSECURE),
        ("http://10.0.0.1:8080", INSECURE),
        ("https://user:pw@api.anthropic.com", INSECURE),
        ("ftp://127.0.0.1", MALFORMED),
        ("https://api.anthropic.com/?x=1", MALFORMED),
        ("not a url", MALFORMED),
        ("https://", MALFORMED),
        ("http://127.0.0.1:99999", MALFORMED),
    ],
)
def test_insecure_or_malformed_base_urls_are_refused_before_any_request(
    url: str, kind: FetchErrorKind, org: str
) -> None:
    """No token over plain http except to loopback, nor in a URL carrying credentials
    (insecure); nothing but an http(s) URL with a host and no query (malformed). The
    message never shows a password."""
    checked = check_base_url(url)
    assert isinstance(checked, Failure)
    assert checked.failure().kind is kind
    assert "pw" not in checked.failure().detail
    assert failure_of(fetch_grant(url, org, TOKEN)).kind is kind


@pytest.mark.parametrize(
    "url",
    [
        "https://api.anthropic.com",
        "https://api.anthropic.com/",
        "http://127.0.0.1:8080",
        "http://localhost:1",
        "http://[::1]:80",
    ],
)
def test_https_and_loopback_http_are_allowed(url: str) -> None:
    assert check_base_url(url) == Success(url.rstrip("/"))


def test_hostile_org_ids_never_reach_the_network(httpserver: HTTPServer) -> None:
    """Path tricks, newlines and homoglyphs are refused before a socket is opened."""
    from hypothesis import given, settings

    @settings(max_examples=100)
    @given(invalid_org_ids())
    def check(text: str) -> None:
        assert failure_of(fetch_grant(base(httpserver), text, TOKEN)).kind is (
            FetchErrorKind.INVALID_ORG
        )

    check()
    assert httpserver.log == []


@pytest.mark.parametrize("token", ["abc\r\nX-Evil: 1", "with space", "tab\t", "", "ünïcode"])
def test_tokens_that_could_split_a_header_are_refused(
    httpserver: HTTPServer, org: str, token: str
) -> None:
    """A malformed token is refused locally, and its text is never echoed."""
    result = fetch_grant(base(httpserver), org, token)
    assert isinstance(result, Failure)
    assert result.failure().kind is FetchErrorKind.BAD_TOKEN
    if token:
        assert token not in result.failure().detail
    assert httpserver.log == []


def test_concurrent_fetches_are_independent(httpserver: HTTPServer, org: str) -> None:
    """The function holds no shared state: parallel calls each get their answer."""
    httpserver.expect_request(grant_path(org)).respond_with_json(GRANT_BODY)
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(fetch(httpserver, org))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [Success(FIVE_DOLLARS)] * 4
