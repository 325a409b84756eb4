"""``overage-grant statusline`` as Claude Code runs it: the installed script, a JSON object
on stdin, its pipes captured, a real loopback backend counting requests.

A render that returns while its detached refresh is still fetching proves the refresh
holds none of the render's pipes: `subprocess.run` waits for every writer of the pipes
it captures to close them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from overage_credit_grant.core import CACHE_KEY, GrantInfo
from overage_credit_grant.shell._cli.lines import fill, statusline_text

from ..support.backend import GRANT_BODY, TOKEN, grant_path
from ..support.files import read_json, write_json

SCRIPT = str(Path(sys.executable).with_name("overage-grant"))
ORG = "0f8fad5b-d9cb-469f-a165-70867728950e"
CLAUDE_INPUT = json.dumps(
    {
        "session_id": "abc",
        "model": {"id": "claude-opus", "display_name": "Opus"},
        "workspace": {"current_dir": "/tmp", "project_dir": "/tmp"},
        "cost": {"total_cost_usd": 0.01},
    }
).encode()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Render:
    def __init__(self, done: subprocess.CompletedProcess[bytes], seconds: float) -> None:
        self.code, self.seconds = done.returncode, seconds
        self.out, self.err = done.stdout.decode(), done.stderr.decode()


@pytest.fixture
def env(tmp_path: Path, httpserver: HTTPServer) -> dict[str, str]:
    """No real account, a HOME of its own, the loopback backend, a token from the env."""
    home = tmp_path / "home"
    home.mkdir()
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "OVERAGE_GRANT_CONFIG": str(tmp_path / "config.json"),
        "OVERAGE_GRANT_BASE_URL": httpserver.url_for("/").rstrip("/"),
        "CLAUDE_CODE_ORGANIZATION_UUID": ORG,
        "CLAUDE_CODE_OAUTH_TOKEN": TOKEN,
    }


def render(env: dict[str, str], *args: str, stdin: bytes = CLAUDE_INPUT) -> Render:
    started = time.monotonic()
    done = subprocess.run(
        [SCRIPT, "statusline", *args],
        input=stdin,
        env=env,
        capture_output=True,
        timeout=30,
        check=False,
    )
    result = Render(done, time.monotonic() - started)
    assert result.code == 0
    assert result.err == ""
    assert TOKEN not in result.out
    assert result.out.count("\n") == 1, "one line"
    return result


def seed(path: Path, info: dict[str, object], stamp: int, org: str = ORG) -> None:
    write_json(path, {"theme": "dark", CACHE_KEY: {org: {"info": info, "timestamp": stamp}}})


def wait_for(check: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_fresh_cache_is_one_line_with_no_request(
    env: dict[str, str], tmp_path: Path, httpserver: HTTPServer
) -> None:
    seed(tmp_path / "config.json", GRANT_BODY, now_ms())
    assert render(env).out == "$5 in extra usage for third-party apps\n"
    assert render(env, "--format", "{amount} extra").out == "$5 extra\n"
    assert render(env, "--format={{grant}} {state}: {line}").out == (
        "{grant} available: $5 in extra usage for third-party apps\n"
    )
    seed(tmp_path / "config.json", {**GRANT_BODY, "granted": True}, now_ms())
    assert render(env).out == "$5 extra usage granted\n"
    seed(tmp_path / "config.json", {**GRANT_BODY, "available": False}, now_ms())
    assert render(env).out == "\n"
    assert httpserver.log == []


def test_an_empty_cache_and_a_slow_backend_never_hold_the_render(
    env: dict[str, str], tmp_path: Path, httpserver: HTTPServer
) -> None:
    """The render returns at once; a detached process fetches (one request) and stores the
    grant; the next render shows it."""

    def slow(_: Request) -> Response:
        time.sleep(3)
        return Response(json.dumps(GRANT_BODY), content_type="application/json")

    httpserver.expect_request(grant_path(ORG)).respond_with_handler(slow)
    first = render(env)
    assert first.out == "\n"
    assert first.seconds < 1.5
    again = render(env)  # while the fetch is in flight: the lease says so, nothing starts
    assert again.out == "\n"
    config = tmp_path / "config.json"
    wait_for(lambda: config.exists() and CACHE_KEY in read_json(config))
    assert render(env).out == "$5 in extra usage for third-party apps\n"
    time.sleep(0.5)
    assert len(httpserver.log) == 1


def test_renders_at_once_start_one_fetch(
    env: dict[str, str], tmp_path: Path, threaded_httpserver: HTTPServer
) -> None:
    server = threaded_httpserver
    server.expect_request(grant_path(ORG)).respond_with_handler(
        lambda _: (
            time.sleep(1),
            Response(json.dumps(GRANT_BODY), content_type="application/json"),
        )[1]
    )
    env = {**env, "OVERAGE_GRANT_BASE_URL": server.url_for("/").rstrip("/")}
    renders: list[Render] = []
    threads = [threading.Thread(target=lambda: renders.append(render(env))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    config = tmp_path / "config.json"
    wait_for(lambda: config.exists() and CACHE_KEY in read_json(config))
    time.sleep(1.5)  # any late starter would have fetched by now
    assert len(server.log) == 1
    assert all(r.seconds < 1.5 for r in renders)


@pytest.mark.parametrize(
    "stdin",
    [b"", b"not json", b"[1,2", b"[1, 2, 3]", bytes(range(256)) * 8, b"{" * 100_000, b"\x00"],
    ids=["empty", "not-json", "cut", "array", "binary", "deep", "nul"],
)
def test_garbage_on_stdin_changes_nothing(
    env: dict[str, str], tmp_path: Path, stdin: bytes
) -> None:
    seed(tmp_path / "config.json", GRANT_BODY, now_ms())
    result = render(env, stdin=stdin)
    assert result.out == "$5 in extra usage for third-party apps\n"
    assert "Traceback" not in result.err


def test_a_failing_backend_is_asked_at_most_twice_in_ten_renders(
    env: dict[str, str], tmp_path: Path, httpserver: HTTPServer
) -> None:
    """Each render is a new process; the backoff is kept in the config, so it holds."""
    httpserver.expect_request(grant_path(ORG)).respond_with_data("down", status=503)
    config = tmp_path / "config.json"
    for _ in range(10):
        assert render(env).out == "\n"
        time.sleep(0.3)
    wait_for(lambda: config.exists() and CACHE_KEY + "Backoff" in read_json(config))
    assert 1 <= len(httpserver.log) <= 2


def test_a_lease_it_cannot_take_says_nothing_on_stderr(
    env: dict[str, str], tmp_path: Path, httpserver: HTTPServer
) -> None:
    """A directory where the lease file goes: the library logs that the lease cannot be
    taken, and the render, as every command does, sends its records to no handler: its
    line, exit 0, nothing on stderr (`render` checks), and the directory left as it was."""
    lease = tmp_path / "config.json.lease"
    lease.mkdir()
    for _ in range(2):
        assert render(env).out == "\n"
    assert lease.is_dir()
    assert list(lease.iterdir()) == []


@pytest.mark.parametrize(
    "extra",
    [{"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}, {"CLAUDE_CODE_ORGANIZATION_UUID": ""}],
    ids=["privacy", "no-org"],
)
def test_privacy_and_no_account_start_nothing(
    env: dict[str, str], tmp_path: Path, httpserver: HTTPServer, extra: dict[str, str]
) -> None:
    env = {**env, **extra, "CLAUDE_CONFIG_DIR": str(tmp_path / "no-claude")}
    assert render(env).out == "\n"
    time.sleep(1.0)
    assert httpserver.log == []
    assert not (tmp_path / "config.json").exists()


def test_the_statusline_path_imports_only_what_it_needs(
    env: dict[str, str], tmp_path: Path
) -> None:
    seed(tmp_path / "config.json", GRANT_BODY, now_ms())
    code = (
        "import sys\n"
        "from overage_credit_grant.shell._cli.entry import main\n"
        "main(['statusline'])\n"
        "heavy = ('argparse', 'requests', 'filelock', 'logging', 'urllib3', 'subprocess',\n"
        "         'dataclasses', 'http.server', 'asyncio')\n"
        "print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input=b"{}", env=env, capture_output=True, check=True
    )
    assert done.stdout == b"$5 in extra usage for third-party apps\n"
    assert done.stderr.decode().strip() == "[]"


def test_a_replayed_render_loads_nothing_but_the_fast_path(
    env: dict[str, str], tmp_path: Path
) -> None:
    """The second render, nothing changed: the answer recorded by the first, with none of
    the core, `returns`, `typing` or `json` loaded."""
    seed(tmp_path / "config.json", GRANT_BODY, now_ms())
    first = render(env)
    code = (
        "import sys\n"
        "from overage_credit_grant.shell._cli.entry import main\n"
        "main(['statusline'])\n"
        "ours = sorted(m for m in sys.modules if m.startswith('overage_credit_grant'))\n"
        "heavy = ('returns', 'typing', 'json', 'overage_credit_grant.core')\n"
        "print(ours, sorted(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [SCRIPT.replace("overage-grant", "python"), "-c", code],
        input=b"{}",
        env=env,
        capture_output=True,
        check=True,
    )
    assert done.stdout.decode() == first.out
    ours, heavy = done.stderr.decode().strip().split("] [")
    assert heavy == "]"
    assert "overage_credit_grant.shell._cli.statusline" not in ours
    assert "overage_credit_grant.shell._cli.fastline" in ours


@given(st.text(max_size=40))
def test_any_template_fills_without_error_and_stays_one_line(template: str) -> None:
    info = GrantInfo(True, True, False, 1250, "USD")
    line = statusline_text(info, template)
    assert "\n" not in line
    assert "\r" not in line
    assert fill("{amount}", amount="$12.50") == "$12.50"
    if "{" not in template and "}" not in template:
        assert line == " ".join(template.split("\n")).replace("\r", " ")
