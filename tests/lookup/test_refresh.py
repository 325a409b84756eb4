"""Refreshing the grant against real files and a real loopback backend: what is written, when
nothing is, and every refusal.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from overage_credit_grant.core import CACHE_KEY, CACHE_TTL_MS
from overage_credit_grant.shell import (
    InvalidateStatus,
    RefreshStatus,
    format_grant_amount,
    get_cached_overage_credit_grant,
    invalidate_overage_credit_grant_cache,
    refresh_overage_credit_grant_cache,
)

from ..support.backend import FIVE, GRANT_BODY, TOKEN, MakeSettings, grant_path
from ..support.clock import Clock
from ..support.files import FileState, cached_section, read_json, seeded, write_json

BACKOFF_KEY = CACHE_KEY + "Backoff"


def test_config_path_pointing_at_claude_codes_files_is_refused(
    make_settings: MakeSettings, tmp_path: Path, serve_grant: Callable[..., None]
) -> None:
    """Our cache must never be written into Claude Code's own config or credentials."""
    serve_grant()
    for name in (".claude.json", ".credentials.json"):
        claude = tmp_path / name
        write_json(claude, {"keep": True})
        before = FileState.of(claude)
        link = tmp_path / f"innocent-{name[1:]}"
        link.symlink_to(claude)
        for path in (claude, link):
            s = make_settings(config_path=path)
            assert refresh_overage_credit_grant_cache(s).status is (
                RefreshStatus.REFUSED_UNSAFE_CONFIG
            )
            assert invalidate_overage_credit_grant_cache(s).status is (
                InvalidateStatus.REFUSED_UNSAFE_CONFIG
            )
        assert FileState.of(claude) == before
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".lock")]


@pytest.mark.parametrize("value", ["1", "0", "true", "anything"])
def test_essential_traffic_only_sends_nothing(
    make_settings: MakeSettings, config_path: Path, httpserver: HTTPServer, value: str
) -> None:
    """With the privacy switch set, refresh neither asks nor writes."""
    s = make_settings(env={"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": value})
    assert refresh_overage_credit_grant_cache(s).status is RefreshStatus.SKIPPED_ESSENTIAL_TRAFFIC
    assert httpserver.log == []
    assert not config_path.exists()


def test_first_refresh_writes_info_and_now(
    make_settings: MakeSettings,
    config_path: Path,
    serve_grant: Callable[..., None],
    org: str,
    clock: Clock,
) -> None:
    """New data: one write of {info, timestamp: now}; get returns it."""
    serve_grant()
    outcome = refresh_overage_credit_grant_cache(make_settings())
    assert outcome.status is RefreshStatus.WRITTEN
    assert outcome.info == FIVE
    assert read_json(config_path) == {
        CACHE_KEY: {org: {"info": GRANT_BODY, "timestamp": clock.now_ms}}
    }
    assert get_cached_overage_credit_grant(make_settings()) == FIVE
    assert format_grant_amount(FIVE) == "$5"


def test_unchanged_fresh_refresh_does_not_touch_the_file(
    make_settings: MakeSettings,
    config_path: Path,
    serve_grant: Callable[..., None],
    org: str,
    clock: Clock,
    httpserver: HTTPServer,
) -> None:
    """Equal data, fresh entry: a request but no write; bytes, inode and mtime unchanged."""
    seeded(config_path, org, GRANT_BODY, clock.now_ms - 1000)
    before = FileState.of(config_path)
    serve_grant()
    for _ in range(5):
        clock.advance(1000)
        assert refresh_overage_credit_grant_cache(make_settings()).status is (
            RefreshStatus.UNCHANGED
        )
    assert len(httpserver.log) == 5
    assert FileState.of(config_path) == before


def test_unchanged_stale_refresh_rewrites_only_the_timestamp(
    make_settings: MakeSettings,
    config_path: Path,
    serve_grant: Callable[..., None],
    org: str,
    clock: Clock,
) -> None:
    """Equal data in a stale entry: one write; only the timestamp differs."""
    config = seeded(config_path, org, GRANT_BODY, clock.now_ms - CACHE_TTL_MS - 1)
    serve_grant()
    assert refresh_overage_credit_grant_cache(make_settings()).status is RefreshStatus.WRITTEN
    after = read_json(config_path)
    config[CACHE_KEY][org]["timestamp"] = clock.now_ms  # type: ignore[index]
    assert after == config


def test_refresh_with_new_data_keeps_everything_else(
    make_settings: MakeSettings,
    config_path: Path,
    serve_grant: Callable[..., None],
    org: str,
    clock: Clock,
) -> None:
    """Other keys and other orgs' entries stay exactly as they were."""
    config = seeded(config_path, org, {**GRANT_BODY, "amount_minor_units": 100}, clock.now_ms)
    serve_grant()
    assert refresh_overage_credit_grant_cache(make_settings()).status is RefreshStatus.WRITTEN
    after = read_json(config_path)
    assert after[CACHE_KEY][org] == {"info": GRANT_BODY, "timestamp": clock.now_ms}  # type: ignore[index]
    del after[CACHE_KEY][org], config[CACHE_KEY][org]  # type: ignore[attr-defined]
    assert after == config


def test_the_timestamp_is_read_under_the_lock(
    make_settings: MakeSettings, config_path: Path, serve_grant: Callable[..., None], org: str
) -> None:
    """The stored stamp is the clock's last reading, taken inside the write."""
    readings = iter(range(1_764_000_000_000, 1_764_000_000_000 + 1000, 10))
    last: list[int] = []

    def ticking() -> int:
        last.append(next(readings))
        return last[-1]

    serve_grant()
    assert refresh_overage_credit_grant_cache(make_settings(clock=ticking)).ok
    assert read_json(config_path)[CACHE_KEY][org]["timestamp"] == last[-1]  # type: ignore[index]


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (500, GRANT_BODY, RefreshStatus.FETCH_FAILED_HTTP),
        (401, {"error": "unauthorized"}, RefreshStatus.FETCH_FAILED_HTTP),
        (200, {"available": True}, RefreshStatus.FETCH_FAILED_PAYLOAD),
        (200, {**GRANT_BODY, "granted": 0}, RefreshStatus.FETCH_FAILED_PAYLOAD),
        (200, "not an object", RefreshStatus.FETCH_FAILED_PAYLOAD),
    ],
)
def test_failed_fetch_writes_nothing_and_logs_without_the_token(
    make_settings: MakeSettings,
    config_path: Path,
    serve_grant: Callable[..., None],
    org: str,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
    status: int,
    body: object,
    expected: RefreshStatus,
) -> None:
    """HTTP errors and bad bodies: a failed outcome, a log line, no token; the config keeps
    every value and only gains the org's backoff state (with backoff off: no write at all)."""
    config = seeded(config_path, org, {**GRANT_BODY, "amount_minor_units": 1}, clock.now_ms - 1)
    before = FileState.of(config_path)
    serve_grant(body, status=status)
    with caplog.at_level(logging.DEBUG, logger="overage_credit_grant"):
        outcome = refresh_overage_credit_grant_cache(make_settings())
        assert refresh_overage_credit_grant_cache(make_settings()).status is (
            RefreshStatus.BACKING_OFF
        )
    assert outcome.status is expected
    assert outcome.fetch_failed
    after = read_json(config_path)
    failed = {"failures": 1, "retry_at": clock.now_ms + 60_000, "target": make_settings().base_url}
    assert after.pop(BACKOFF_KEY) == {org: failed}
    assert after == config
    seeded(config_path, org, {**GRANT_BODY, "amount_minor_units": 1}, clock.now_ms - 1)
    before = FileState.of(config_path)
    outcome = refresh_overage_credit_grant_cache(
        make_settings(backoff_base_ms=0, organization=str(uuid.uuid4()))
    )
    assert outcome.fetch_failed or outcome.status is RefreshStatus.FETCH_FAILED_HTTP
    assert FileState.of(config_path) == before
    assert caplog.records, "the failure is logged"
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
    assert TOKEN not in str(outcome)
    assert TOKEN not in repr(outcome)


def test_empty_body_fails_without_a_write(
    make_settings: MakeSettings, config_path: Path, httpserver: HTTPServer, org: str
) -> None:
    httpserver.expect_request(grant_path(org)).respond_with_data(
        b"", content_type="application/json"
    )
    assert refresh_overage_credit_grant_cache(make_settings()).status is (
        RefreshStatus.FETCH_FAILED_PAYLOAD
    )
    assert cached_section(config_path) is None  # nothing cached (backoff may be)


def test_a_backend_that_never_answers_gives_a_timeout_outcome(
    make_settings: MakeSettings, config_path: Path
) -> None:
    """A silent server: a timeout outcome within bounds, no write."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        s = make_settings(
            base_url=f"http://127.0.0.1:{listener.getsockname()[1]}", read_timeout_s=0.5
        )
        started = time.monotonic()
        outcome = refresh_overage_credit_grant_cache(s)
    assert outcome.status is RefreshStatus.FETCH_FAILED_TIMEOUT
    assert time.monotonic() - started < 3
    assert cached_section(config_path) is None  # nothing cached (backoff may be)


def test_corrupt_config_is_never_overwritten_and_costs_no_request(
    make_settings: MakeSettings,
    config_path: Path,
    serve_grant: Callable[..., None],
    httpserver: HTTPServer,
) -> None:
    """An unreadable config: refresh and invalidate refuse, before any request."""
    config_path.write_bytes(b'{"theme": "dark", ')
    before = FileState.of(config_path)
    serve_grant()
    outcome = refresh_overage_credit_grant_cache(make_settings())
    assert outcome.status is RefreshStatus.CONFIG_UNREADABLE
    assert "not valid JSON" in outcome.detail
    assert invalidate_overage_credit_grant_cache(make_settings()).status is (
        InvalidateStatus.CONFIG_UNREADABLE
    )
    assert get_cached_overage_credit_grant(make_settings()) is None
    assert httpserver.log == []
    assert FileState.of(config_path) == before


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"token": None}, RefreshStatus.SKIPPED_NO_CREDENTIALS),
        ({"token": "bad token\r\n"}, RefreshStatus.SKIPPED_NO_CREDENTIALS),
        ({"organization": "../../etc/passwd"}, RefreshStatus.REFUSED_INVALID_ORG),
        (
            {"organization": "0f8fad5b-d9cb-469f-a165-70867728950e\n"},
            RefreshStatus.REFUSED_INVALID_ORG,
        ),
        ({"base_url": "http://api.anthropic.com"}, RefreshStatus.REFUSED_INSECURE_URL),
    ],
)
def test_refused_settings_never_reach_the_network(
    make_settings: MakeSettings,
    config_path: Path,
    httpserver: HTTPServer,
    tmp_path: Path,
    overrides: dict[str, object],
    expected: RefreshStatus,
) -> None:
    """Missing or malformed credentials, hostile org ids and plain-http hosts: no request."""
    s = make_settings(credentials_path=tmp_path / "missing.json", **overrides)
    outcome = refresh_overage_credit_grant_cache(s)
    assert outcome.status is expected
    assert httpserver.log == []
    assert not config_path.exists()
