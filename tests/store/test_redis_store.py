"""The Redis store against a real redis-server on loopback: the seed's rules on Redis, bounded
trouble, secrets kept.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from pytest_httpserver import HTTPServer

from overage_credit_grant.core import CACHE_TTL_MS
from overage_credit_grant.shell import (
    InvalidateStatus,
    RedisStore,
    RefreshStatus,
    Settings,
    UpdateStatus,
    get_cached_overage_credit_grant,
    invalidate_overage_credit_grant_cache,
    refresh_overage_credit_grant_cache,
)

from ..support.backend import FIVE, GRANT_BODY, TOKEN, MakeSettings, grant_path
from ..support.clock import Clock
from ..support.monitor import commands_naming, writes
from ..support.redis_server import RedisProcess, free_port


def stored(client: redis.Redis, store: RedisStore, org: str) -> object:
    raw = client.get(store.entry_key(org))
    return None if raw is None else json.loads(raw)


@pytest.mark.parametrize("near_cache", [False, True], ids=["round-trip", "near-cache"])
def test_sections_as_a_list_or_a_tuple_are_the_same_sections(
    redis_server: RedisProcess, redis_prefix: str, org: str, near_cache: bool
) -> None:
    """The port takes any sequence of section names: a list reads and writes what the
    tuple does, and never raises."""
    store = RedisStore.from_url(redis_server.url, prefix=redis_prefix, near_cache=near_cache)
    sections = ["seats", "seatsBackoff"]
    try:
        written = store.update(lambda prev: {"seats": {org: 3}}, org, sections)
        assert written.status is UpdateStatus.WRITTEN
        for _ in range(2):  # the second time from the memo of names (and the near cache)
            assert store.read(org, sections) == {"seats": {org: 3}}
            assert store.read(org, tuple(sections)) == {"seats": {org: 3}}
            assert store.read_checked(org, sections).unwrap() == {"seats": {org: 3}}
    finally:
        store.close()


def test_first_refresh_stores_the_entry_with_an_expiry(
    on_redis: MakeSettings,
    serve_grant: Callable[..., None],
    client: redis.Redis,
    store: RedisStore,
    org: str,
    clock: Clock,
) -> None:
    serve_grant()
    assert refresh_overage_credit_grant_cache(on_redis()).status is RefreshStatus.WRITTEN
    assert stored(client, store, org) == {"info": GRANT_BODY, "timestamp": clock.now_ms}
    assert client.pttl(store.entry_key(org)) > 24 * CACHE_TTL_MS
    assert get_cached_overage_credit_grant(on_redis()) == FIVE


def test_unchanged_fresh_refresh_sends_no_write_command(
    on_redis: MakeSettings,
    serve_grant: Callable[..., None],
    client: redis.Redis,
    store: RedisStore,
    org: str,
    clock: Clock,
    httpserver: HTTPServer,
) -> None:
    """Seen by the server itself: no command but reads names the entry, and its bytes and
    expiry are untouched."""
    serve_grant()
    assert refresh_overage_credit_grant_cache(on_redis()).ok
    before = (client.get(store.entry_key(org)), client.pttl(store.entry_key(org)))
    with commands_naming(client, store.entry_key(org)) as seen:
        for _ in range(5):
            clock.advance(60_000)
            status = refresh_overage_credit_grant_cache(on_redis()).status
            assert status is RefreshStatus.UNCHANGED
    assert writes(seen) == []
    assert seen  # the reads were seen: the watch works
    after = (client.get(store.entry_key(org)), client.pttl(store.entry_key(org)))
    assert after[0] == before[0]
    assert before[1] - 5000 < after[1] <= before[1]
    assert len(httpserver.log) == 6


def test_stale_equal_refresh_changes_only_the_timestamp(
    on_redis: MakeSettings,
    serve_grant: Callable[..., None],
    client: redis.Redis,
    store: RedisStore,
    org: str,
    clock: Clock,
) -> None:
    odd = {**GRANT_BODY, "extra": "kept"}
    client.set(store.entry_key(org), json.dumps({"info": odd, "timestamp": 1}))
    serve_grant()
    assert refresh_overage_credit_grant_cache(on_redis()).status is RefreshStatus.WRITTEN
    assert stored(client, store, org) == {"info": odd, "timestamp": clock.now_ms}


def test_freshness_boundaries_and_no_org(
    on_redis: MakeSettings,
    client: redis.Redis,
    store: RedisStore,
    org: str,
    clock: Clock,
    httpserver: HTTPServer,
) -> None:
    for age, fresh in ((CACHE_TTL_MS, True), (CACHE_TTL_MS + 1, False), (-1, False)):
        entry = {"info": GRANT_BODY, "timestamp": clock.now_ms - age}
        client.set(store.entry_key(org), json.dumps(entry))
        assert (get_cached_overage_credit_grant(on_redis()) == FIVE) is fresh
    nobody = on_redis(organization=None, claude_config_path=None)
    assert get_cached_overage_credit_grant(nobody) is None
    assert refresh_overage_credit_grant_cache(nobody).status is (
        RefreshStatus.SKIPPED_NO_ORGANIZATION
    )
    assert invalidate_overage_credit_grant_cache(nobody).status is (
        InvalidateStatus.NO_ORGANIZATION
    )
    essential = on_redis(env={"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"})
    assert refresh_overage_credit_grant_cache(essential).status is (
        RefreshStatus.SKIPPED_ESSENTIAL_TRAFFIC
    )
    assert httpserver.log == []


def test_invalidate_removes_only_the_current_org(
    on_redis: MakeSettings, client: redis.Redis, store: RedisStore, org: str, clock: Clock
) -> None:
    other = str(uuid.uuid4())
    for one in (org, other):
        client.set(store.entry_key(one), json.dumps({"info": GRANT_BODY, "timestamp": 1}))
    client.set("unrelated:key", "keep")
    assert invalidate_overage_credit_grant_cache(on_redis()).status is InvalidateStatus.REMOVED
    assert client.get(store.entry_key(org)) is None
    assert client.get(store.entry_key(other)) is not None
    assert client.get("unrelated:key") == b"keep"
    with commands_naming(client, store.entry_key(org)) as seen:
        assert invalidate_overage_credit_grant_cache(on_redis()).status is (
            InvalidateStatus.NOTHING_TO_REMOVE
        )
    assert writes(seen) == []
    assert seen


def test_failed_fetch_writes_nothing(
    on_redis: MakeSettings,
    serve_grant: Callable[..., None],
    client: redis.Redis,
    store: RedisStore,
    org: str,
) -> None:
    serve_grant({"available": "yes"})
    assert refresh_overage_credit_grant_cache(on_redis()).fetch_failed
    assert client.get(store.entry_key(org)) is None


def test_malformed_entries_are_never_trusted_and_get_replaced(
    on_redis: MakeSettings,
    serve_grant: Callable[..., None],
    client: redis.Redis,
    store: RedisStore,
    org: str,
    clock: Clock,
) -> None:
    client.set(store.entry_key(org), b"\xff{not json")
    assert get_cached_overage_credit_grant(on_redis()) is None
    serve_grant()
    assert refresh_overage_credit_grant_cache(on_redis()).status is RefreshStatus.WRITTEN
    assert stored(client, store, org) == {"info": GRANT_BODY, "timestamp": clock.now_ms}


def test_the_token_never_goes_to_redis(
    on_redis: MakeSettings, serve_grant: Callable[..., None], client: redis.Redis
) -> None:
    serve_grant()
    assert refresh_overage_credit_grant_cache(on_redis()).ok
    for key in client.scan_iter(count=1000):
        assert TOKEN.encode() not in key
        if client.type(key) == b"string":
            assert TOKEN.encode() not in (client.get(key) or b"")


def test_redis_killed_mid_run_and_restarted(
    make_settings: MakeSettings, serve_grant: Callable[..., None], clock: Clock
) -> None:
    server = RedisProcess().start()
    try:
        s = make_settings(redis_url=server.url, store_timeout_s=0.5)
        serve_grant()
        assert refresh_overage_credit_grant_cache(s).status is RefreshStatus.WRITTEN
        server.kill()
        started = time.monotonic()
        assert get_cached_overage_credit_grant(s) is None
        refreshed = refresh_overage_credit_grant_cache(s)
        invalidated = invalidate_overage_credit_grant_cache(s)
        assert time.monotonic() - started < 3
        assert refreshed.status is RefreshStatus.STORE_UNAVAILABLE
        assert invalidated.status is InvalidateStatus.STORE_UNAVAILABLE
        server.start()  # an empty Redis on the same port: recovery, no restart of ours
        clock.advance(1)
        assert refresh_overage_credit_grant_cache(s).status is RefreshStatus.WRITTEN
        assert get_cached_overage_credit_grant(s) == FIVE
    finally:
        server.stop()


def fake_redis(answer: bytes | None) -> tuple[int, Callable[[], None]]:
    """A loopback port that either never answers or answers `answer` to anything."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)
            if answer is not None:
                try:
                    conn.recv(65536)
                    conn.sendall(answer)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def close() -> None:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()

    return listener.getsockname()[1], close


@pytest.mark.parametrize(
    "answer", [None, b"HTTP/1.1 400 Bad Request\r\n\r\n", b"\x00\xff garbage \r\n", b"-ERR no\r\n"]
)
def test_redis_slow_or_answering_garbage(
    make_settings: MakeSettings,
    serve_grant: Callable[..., None],
    answer: bytes | None,
    httpserver: HTTPServer,
) -> None:
    """Never an exception, never past the timeout: get None, the others an outcome."""
    port, close = fake_redis(answer)
    try:
        s = make_settings(redis_url=f"redis://127.0.0.1:{port}/0", store_timeout_s=0.5)
        serve_grant()
        started = time.monotonic()
        assert get_cached_overage_credit_grant(s) is None
        assert refresh_overage_credit_grant_cache(s).status is RefreshStatus.STORE_UNAVAILABLE
        assert invalidate_overage_credit_grant_cache(s).status is (
            InvalidateStatus.STORE_UNAVAILABLE
        )
        assert time.monotonic() - started < 3 * 0.5 + 1.5
        assert httpserver.log == []
    finally:
        close()


def test_nothing_listening(make_settings: MakeSettings) -> None:
    s = make_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    assert refresh_overage_credit_grant_cache(s).status is RefreshStatus.STORE_UNAVAILABLE
    assert get_cached_overage_credit_grant(s.replace()) is None


def test_a_redis_password_is_never_shown(
    httpserver: HTTPServer, tmp_path: Path, org: str, caplog: pytest.LogCaptureFixture
) -> None:
    """In no CLI output, --json output, outcome detail or log record; with the right
    password and with a wrong one."""
    password = "hunter2-redis-secret"
    server = RedisProcess(password=password).start()
    try:
        httpserver.expect_request(grant_path(org)).respond_with_json(GRANT_BODY)
        script = str(Path(sys.executable).with_name("overage-grant"))
        wrong = server.url.replace(password, "wrong-" + password)
        seen: list[str] = []
        for url in (server.url, wrong):
            env = {
                "PATH": os.environ["PATH"],
                "HOME": str(tmp_path),
                "CLAUDE_CODE_OAUTH_TOKEN": TOKEN,
                "OVERAGE_GRANT_REDIS_URL": url,
                "CLAUDE_CODE_ORGANIZATION_UUID": org,
                "OVERAGE_GRANT_BASE_URL": httpserver.url_for("/").rstrip("/"),
            }
            for args in (
                ["show"],
                ["--json", "show", "--no-refresh"],
                ["--json", "refresh"],
                ["status"],
                ["--json", "status"],
                ["invalidate"],
                ["statusline"],
                ["--redis-url", url, "--json", "status"],
            ):
                done = subprocess.run(
                    [script, *args], env=env, capture_output=True, text=True, check=False
                )
                seen += [done.stdout, done.stderr]
                assert "Traceback" not in done.stderr
            settings = Settings(
                config_path=tmp_path / "unused.json",
                organization=org,
                token=TOKEN,
                base_url=httpserver.url_for("/").rstrip("/"),
                redis_url=url,
            )
            with caplog.at_level(logging.DEBUG, logger="overage_credit_grant"):
                outcomes = [
                    refresh_overage_credit_grant_cache(settings),
                    invalidate_overage_credit_grant_cache(settings),
                ]
            seen += [f"{o} {o!r}" for o in outcomes]
            seen.append(repr(settings))
        seen += [record.getMessage() for record in caplog.records]
        assert any('"status": "unchanged"' in text for text in seen)  # the right one works
        assert any("store unavailable" in text for text in seen)  # the wrong one does not
        for text in seen:
            assert password not in text
    finally:
        server.stop()
