"""The installed `overage-grant` command, end to end, in subprocesses (shell/_cli/)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer

from overage_credit_grant.core import CACHE_KEY
from overage_credit_grant.shell._cli.server import SAMPLE_ORG, SAMPLE_TOKEN

from ..support.backend import GRANT_BODY, TOKEN, grant_path
from ..support.cli import clean_env, one_line_error, run, start_serve
from ..support.files import write_json

OTHER_ORG = "11111111-2222-4333-8444-555555555555"
UNKNOWN_ORG = "99999999-2222-4333-8444-555555555555"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path)


@pytest.fixture
def backend(tmp_path: Path, env: dict[str, str]) -> Iterator[str]:
    """`overage-grant serve` on a free port with two orgs, each with its own token."""
    grants = tmp_path / "grants.json"
    write_json(
        grants,
        {
            "tokens": {TOKEN: SAMPLE_ORG, "other-token": OTHER_ORG},
            "grants": {SAMPLE_ORG: GRANT_BODY, OTHER_ORG: {**GRANT_BODY, "granted": True}},
        },
    )
    proc, base_url = start_serve(env, grants)
    try:
        yield base_url
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0
        assert TOKEN not in err
        assert "Traceback" not in err


def test_demo_needs_no_account_no_network_and_no_files(env: dict[str, str], tmp_path: Path) -> None:
    """The main job: the table of steps, the upsell line, exit 0, HOME left empty."""
    hostile = {
        **env,
        "OVERAGE_GRANT_BASE_URL": "http://10.255.255.1",
        "HTTP_PROXY": "http://10.255.255.1:3128",
        "http_proxy": "http://10.255.255.1:3128",
    }
    result = run(hostile, "demo")
    assert result.code == 0, result.err
    for expected in ("first fetch", "unchanged refresh", "invalidate", "refetch", "total"):
        assert expected in result.out
    assert "$10 in extra usage for third-party apps" in result.out
    assert "expected" not in result.out
    assert list((tmp_path / "home").iterdir()) == []
    assert not (tmp_path / "config.json").exists()
    data = run(hostile, "demo", "--json").json()
    assert isinstance(data, dict)
    assert data["ok"] is True
    assert [(s["requests"], s["writes"]) for s in data["steps"]] == [
        (1, 1),
        (0, 0),
        (1, 0),
        (1, 1),
        (0, 1),
        (0, 0),
        (1, 1),
    ]


def test_serve_answers_401_403_404_and_200(backend: str) -> None:
    """Bearer auth as documented, and a request counter at /status."""
    url = f"{backend}{grant_path(SAMPLE_ORG)}"
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5).status_code == 401
    other = {"Authorization": "Bearer other-token"}
    assert requests.get(url, headers=other, timeout=5).status_code == 403
    mine = {"Authorization": f"Bearer {TOKEN}"}
    assert (
        requests.get(f"{backend}{grant_path(UNKNOWN_ORG)}", headers=mine, timeout=5).status_code
        == 403
    )
    ok = requests.get(url, headers=mine, timeout=5)
    assert ok.status_code == 200
    assert ok.json() == GRANT_BODY
    assert ok.headers["Content-Type"] == "application/json"
    status = requests.get(f"{backend}/status", timeout=5).json()
    assert status["requests"] == 5


def test_serve_404_for_an_org_without_a_grant(tmp_path: Path, env: dict[str, str]) -> None:
    """A token of an org that has no grant: 404."""
    grants = tmp_path / "g.json"
    write_json(grants, {"tokens": {"t": UNKNOWN_ORG}, "grants": {}})
    proc, base = start_serve(env, grants)
    try:
        answer = requests.get(
            f"{base}{grant_path(UNKNOWN_ORG)}",
            headers={"Authorization": "Bearer t"},
            timeout=5,
        )
        assert answer.status_code == 404
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_serve_refuses_a_malformed_grants_file(tmp_path: Path, env: dict[str, str]) -> None:
    grants = tmp_path / "g.json"
    write_json(grants, {"tokens": {}, "grants": {SAMPLE_ORG: {**GRANT_BODY, "available": "yes"}}})
    result = run(env, "serve", "--port", "0", "--grants", str(grants))
    assert result.code == 1
    assert "boolean" in one_line_error(result)


def test_show_refresh_status_invalidate_against_serve(
    backend: str, env: dict[str, str], tmp_path: Path
) -> None:
    """The everyday commands, text and --json, against the reference backend."""
    opts = ["--org", SAMPLE_ORG, "--base-url", backend]
    shown = run(env, "show", *opts, token=TOKEN)
    assert shown.code == 0, shown.err
    assert "$5 in extra usage for third-party apps" in shown.out
    assert "granted       no" in shown.out

    assert f"source        cache: {tmp_path / 'config.json'}, 0m 0" in shown.out

    cached = run(env, "show", "--no-refresh", "--json", *opts)
    assert cached.code == 0
    data = cached.json()
    assert isinstance(data, dict)
    assert 0 <= time.time() * 1000 - data.pop("timestamp") < 60_000
    assert data == {
        "organization": SAMPLE_ORG,
        "grant": GRANT_BODY,
        "amount": "$5",
        "upsell": "$5 in extra usage for third-party apps",
        "source": "cache",
        "location": str(tmp_path / "config.json"),
        "refresh": None,
        "status": "ok",
        "exit_code": 0,
    }

    refreshed = run(env, "--json", "refresh", *opts, token=TOKEN)
    assert refreshed.code == 0
    assert refreshed.json() == {
        "status": "unchanged",
        "detail": "",
        "grant": GRANT_BODY,
        "amount": "$5",
        "exit_code": 0,
    }

    status = run(env, "status", "--json", *opts)
    assert status.code == 0
    data = status.json()
    assert isinstance(data, dict)
    assert data["organization"] == SAMPLE_ORG
    [entry] = data["entries"]
    assert entry["organization"] == SAMPLE_ORG
    assert entry["current"] is True
    assert entry["fresh"] is True
    assert entry["amount"] == "$5"
    assert entry["source"] == "cache"
    assert entry["in_use"] is True
    assert 0 <= entry["age_ms"] < 60_000
    text = run(env, "status", *opts)
    assert re.search(rf"\* {SAMPLE_ORG}\s+\$5\s+\d+m \d\ds\s+fresh\s+cache", text.out)

    removed = run(env, "invalidate", "--json", *opts)
    assert removed.code == 0
    assert removed.json() == {"status": "removed", "detail": "", "backoff": None, "exit_code": 0}
    assert run(env, "invalidate", *opts).out.strip() == "nothing to remove"
    missing = run(env, "show", "--no-refresh", *opts)
    assert missing.code == 3
    one_line_error(missing)
    assert json.loads((tmp_path / "config.json").read_text())[CACHE_KEY] == {}


def test_show_of_a_granted_org_has_no_upsell(backend: str, env: dict[str, str]) -> None:
    result = run(env, "show", "--org", OTHER_ORG, "--base-url", backend, token="other-token")
    assert result.code == 0
    assert "granted       yes" in result.out
    assert "extra usage" not in result.out


def test_not_logged_in_exits_3(env: dict[str, str]) -> None:
    for command in ("show", "refresh", "invalidate"):
        result = run(env, command)
        assert result.code == 3, command
        assert "organization" in one_line_error(result)


def test_missing_credentials_exit_3(env: dict[str, str]) -> None:
    result = run(env, "refresh", "--org", SAMPLE_ORG, "--base-url", "http://127.0.0.1:1")
    assert result.code == 3
    assert "no credentials" in one_line_error(result)


def test_unreachable_backend_is_one_line_and_exit_1(env: dict[str, str]) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run(
        env, "refresh", "--org", SAMPLE_ORG, "--base-url", f"http://127.0.0.1:{port}", token=TOKEN
    )
    assert result.code == 1
    assert "Connection refused" in one_line_error(result)
    assert result.out == ""


def test_backend_errors_via_pytest_httpserver(env: dict[str, str], httpserver: HTTPServer) -> None:
    httpserver.expect_request(grant_path(SAMPLE_ORG)).respond_with_data("boom", status=500)
    result = run(
        env, "show", "--org", SAMPLE_ORG, "--base-url", httpserver.url_for("/"), token=TOKEN
    )
    assert result.code == 1
    assert "HTTP 500" in one_line_error(result)


def test_corrupt_config_is_one_line_and_left_alone(env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_bytes(b'{"theme": "dark",')
    for args in (["status"], ["refresh", "--org", SAMPLE_ORG], ["invalidate", "--org", SAMPLE_ORG]):
        result = run(env, *args, token=TOKEN)
        assert result.code == 1, args
        assert "not valid JSON" in one_line_error(result)
    assert config.read_bytes() == b'{"theme": "dark",'


def test_insecure_base_url_is_refused(env: dict[str, str]) -> None:
    result = run(
        env, "refresh", "--org", SAMPLE_ORG, "--base-url", "http://example.com", token=TOKEN
    )
    assert result.code == 1
    assert "loopback" in one_line_error(result)


def test_usage_errors_exit_2(env: dict[str, str]) -> None:
    for args in (["bogus"], [], ["show", "--nope"], ["serve", "--port", "x"]):
        result = run(env, *args)
        assert result.code == 2, args
        assert result.err.strip()


def test_every_command_has_help(env: dict[str, str]) -> None:
    for command in ("show", "refresh", "invalidate", "status", "serve", "demo"):
        result = run(env, command, "--help")
        assert result.code == 0
        assert "exit codes" in result.out


def test_serve_help_shows_only_the_options_serve_uses(env: dict[str, str]) -> None:
    out = run(env, "serve", "--help").out
    for option in ("--host", "--port", "--grants"):
        assert option in out
    options = out.split("exit codes")[0]  # the epilog may name any option
    for option in ("--config", "--base-url", "--org", "--redis-url"):
        assert option not in options


def test_sample_token_is_shown_only_by_serve_with_the_sample(env: dict[str, str]) -> None:
    """The built-in sample's token is public by design; the user's token never appears."""
    proc, _ = start_serve(env, None)
    assert proc.stderr is not None
    assert SAMPLE_TOKEN in proc.stderr.readline()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=10)


def test_show_no_refresh_on_a_fresh_cache_imports_only_what_it_uses(tmp_path: Path) -> None:
    """No requests, urllib3, filelock or http.server on the cheap path."""
    config = tmp_path / "config.json"
    stamp = time.time_ns() // 1_000_000
    write_json(config, {CACHE_KEY: {SAMPLE_ORG: {"info": GRANT_BODY, "timestamp": stamp}}})
    code = (
        "import sys\n"
        "from overage_credit_grant.shell._cli.entry import main\n"
        f"args = ['show', '--no-refresh', '--json', '--config', {str(config)!r}]\n"
        f"assert main(args + ['--org', {SAMPLE_ORG!r}]) == 0\n"
        "heavy = ('requests', 'urllib3', 'filelock', 'http.server', 'platformdirs')\n"
        "print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert done.stderr.strip() == "[]"
