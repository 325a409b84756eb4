"""Claude Code's own cached grant, used read-only (shell/_read.py, shell/_refresh.py).

Claude Code keeps ``overageCreditGrantCache[org]`` in its global config. A fresh, valid
entry there is used by `get`, `find`, `refresh` (no request) and the command line; a
stale, future-stamped or malformed one is ignored. The file is never written or locked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from overage_credit_grant.core import CACHE_KEY, CACHE_TTL_MS, GrantInfo
from overage_credit_grant.shell import GRANT, RefreshStatus

from ..support.backend import GRANT_BODY, TOKEN, MakeSettings, grant_path
from ..support.clock import Clock
from ..support.files import FileState, write_json

TWELVE_FIFTY = {**GRANT_BODY, "amount_minor_units": 1250}
SCRIPT = str(Path(sys.executable).with_name("overage-grant"))


def claude_config(folder: Path, org: str, entry: object) -> Path:
    """Claude Code's global config, as large as a real one gets, holding `entry`."""
    path = folder / ".claude.json"
    projects = {f"/home/me/p{i}": {"history": ["x" * 200] * 20} for i in range(200)}
    write_json(
        path,
        {"oauthAccount": {"organizationUuid": org}, "projects": projects, CACHE_KEY: {org: entry}},
    )
    return path


@pytest.fixture
def claude(tmp_path: Path) -> Path:
    folder = tmp_path / "claude"
    folder.mkdir()
    return folder


def test_a_fresh_entry_of_claude_codes_is_used_with_no_request_and_never_written(
    make_settings: MakeSettings,
    claude: Path,
    org: str,
    clock: Clock,
    httpserver: HTTPServer,
    config_path: Path,
) -> None:
    path = claude_config(claude, org, {"info": TWELVE_FIFTY, "timestamp": clock() - 60_000})
    before = FileState.of(path)
    assert before.data.__len__() > 500_000
    s = make_settings(claude_config_path=path, protected_paths=(path,))
    expected = GrantInfo(True, True, False, 1250, "USD")
    assert GRANT.get(s) == expected
    found = GRANT.find(s)
    assert found is not None
    assert (found.source, found.location) == ("claude_code", str(path))
    outcome = GRANT.refresh(s)
    assert outcome.status is RefreshStatus.FRESH_IN_CLAUDE_CODE
    assert outcome.value == expected
    assert outcome.skipped
    assert httpserver.log == []
    assert not config_path.exists()  # not adopted: its invalidations are followed at once
    assert FileState.of(path) == before
    assert sorted(os.listdir(claude)) == [".claude.json"]  # no lock, no temp file


@pytest.mark.parametrize(
    "entry",
    [
        {"info": TWELVE_FIFTY, "timestamp": -1},  # stale
        {"info": TWELVE_FIFTY, "timestamp": "now"},
        {"info": TWELVE_FIFTY},
        {"info": {**TWELVE_FIFTY, "granted": "no"}, "timestamp": 0},
        {"info": {**TWELVE_FIFTY, "amount_minor_units": 12.5}, "timestamp": 0},
        "not an entry",
        None,
    ],
    ids=["stale", "stamp-text", "no-stamp", "bool-text", "float-amount", "text", "null"],
)
def test_a_stale_future_or_malformed_entry_is_ignored(
    make_settings: MakeSettings,
    claude: Path,
    org: str,
    clock: Clock,
    serve_grant: Callable[..., None],
    httpserver: HTTPServer,
    entry: object,
) -> None:
    if isinstance(entry, dict) and entry.get("timestamp") == -1:
        entry = {**entry, "timestamp": clock() - CACHE_TTL_MS - 1}
    elif isinstance(entry, dict) and entry.get("timestamp") == 0:
        entry = {**entry, "timestamp": clock()}
    path = claude_config(claude, org, entry)
    before = FileState.of(path)
    s = make_settings(claude_config_path=path)
    assert GRANT.get(s) is None
    serve_grant()
    assert GRANT.refresh(s).status is RefreshStatus.WRITTEN
    assert len(httpserver.log) == 1
    assert GRANT.find(s).source == "cache"  # type: ignore[union-attr]
    assert FileState.of(path) == before


def test_a_future_stamped_entry_is_ignored(
    make_settings: MakeSettings, claude: Path, org: str, clock: Clock
) -> None:
    path = claude_config(claude, org, {"info": TWELVE_FIFTY, "timestamp": clock() + 60_000})
    assert GRANT.get(make_settings(claude_config_path=path)) is None


def test_the_newer_fresh_entry_wins(
    make_settings: MakeSettings,
    claude: Path,
    org: str,
    clock: Clock,
    serve_grant: Callable[..., None],
    httpserver: HTTPServer,
) -> None:
    """Ours fresh and newer: ours, and a refresh asks. Claude Code's newer (it refetched
    after the grant was claimed, say): theirs, and a refresh does not ask."""
    serve_grant()
    s = make_settings(claude_config_path=claude / ".claude.json")
    assert GRANT.refresh(s).status is RefreshStatus.WRITTEN  # no file of Claude Code's yet
    claude_config(claude, org, {"info": TWELVE_FIFTY, "timestamp": clock() - 1000})
    assert GRANT.find(s).source == "cache"  # type: ignore[union-attr]
    clock.advance(1000)
    assert GRANT.refresh(s).status is RefreshStatus.UNCHANGED  # ours is the newer: it asks
    claimed = {**TWELVE_FIFTY, "granted": True}
    claude_config(claude, org, {"info": claimed, "timestamp": clock()})
    assert GRANT.get(s) == GrantInfo(True, True, True, 1250, "USD")
    assert GRANT.refresh(s).status is RefreshStatus.FRESH_IN_CLAUDE_CODE
    assert len(httpserver.log) == 2


def test_the_parse_is_reused_while_the_file_is_unchanged(
    make_settings: MakeSettings, claude: Path, org: str, clock: Clock
) -> None:
    """Memoised by stat signature: the same parsed object comes back; a new file is seen."""
    from overage_credit_grant.shell._store.files import read_json_cached

    path = claude_config(claude, org, {"info": TWELVE_FIFTY, "timestamp": clock()})
    s = make_settings(claude_config_path=path)
    assert GRANT.get(s) is not None
    first = read_json_cached(path).unwrap()
    assert GRANT.get(s) is not None
    assert read_json_cached(path).unwrap() is first
    claude_config(
        claude, org, {"info": {**TWELVE_FIFTY, "amount_minor_units": 7}, "timestamp": clock()}
    )
    assert GRANT.get(s) == GrantInfo(True, True, False, 7, "USD")


def test_show_and_statusline_show_claude_codes_grant(
    tmp_path: Path, httpserver: HTTPServer, claude: Path
) -> None:
    """The done-when of the issue, through the installed command."""
    org = "0f8fad5b-d9cb-469f-a165-70867728950e"
    stamp = time.time_ns() // 1_000_000 - 5_000
    path = claude_config(claude, org, {"info": TWELVE_FIFTY, "timestamp": stamp})
    before = FileState.of(path)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "CLAUDE_CONFIG_DIR": str(claude),
        "OVERAGE_GRANT_CONFIG": str(tmp_path / "config.json"),
        "OVERAGE_GRANT_BASE_URL": httpserver.url_for("/").rstrip("/"),
        "CLAUDE_CODE_OAUTH_TOKEN": TOKEN,
    }

    def run(*args: str) -> str:
        done = subprocess.run(
            [SCRIPT, *args], env=env, capture_output=True, text=True, timeout=30, check=True
        )
        assert "Traceback" not in done.stderr
        return done.stdout

    shown = run("show", "--no-refresh")
    assert "amount        $12.50" in shown
    assert f"source        Claude Code's cache (read-only): {path}, 0m 0" in shown
    assert json.loads(run("show", "--no-refresh", "--json"))["source"] == "claude_code"
    assert run("statusline") == "$12.50 in extra usage for third-party apps\n"
    status = json.loads(run("status", "--json"))
    assert [(e["source"], e["in_use"]) for e in status["entries"]] == [("claude_code", True)]
    assert "claude code" in run("status")
    time.sleep(0.5)
    assert httpserver.log == []
    assert FileState.of(path) == before
    assert sorted(os.listdir(claude)) == [".claude.json"]
    assert not httpserver.log
    assert grant_path(org)  # the path the backend would have been asked for


@pytest.mark.parametrize("home_name", ["home", "José Müller", "名前", os.fsdecode(b"caf\xe9")])
def test_a_home_folder_named_in_any_language_shows_the_grant(
    tmp_path: Path, httpserver: HTTPServer, home_name: str
) -> None:
    """Claude Code's file at its default place under a HOME whose name is not ASCII, or
    not even UTF-8: every render (the first, and the replays and searches kept for the
    next) shows Claude Code's grant, with no request and nothing on stderr."""
    org = "0f8fad5b-d9cb-469f-a165-70867728950e"
    home = tmp_path / home_name
    home.mkdir()
    stamp = time.time_ns() // 1_000_000 - 5_000
    path = claude_config(home, org, {"info": TWELVE_FIFTY, "timestamp": stamp})
    before = FileState.of(path)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "OVERAGE_GRANT_BASE_URL": httpserver.url_for("/").rstrip("/"),
    }
    for args in (["statusline"], ["statusline"], ["show", "--no-refresh"], ["statusline"]):
        done = subprocess.run(
            [SCRIPT, *args], env=env, capture_output=True, timeout=30, check=False
        )
        assert (done.returncode, done.stderr) == (0, b""), args
        assert b"$12.50" in done.stdout, args
        path.touch()  # Claude Code rewrote its file, keys unchanged: searched and kept again
    assert httpserver.log == []
    assert FileState.of(path).data == before.data
