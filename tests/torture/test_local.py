"""Hostile local conditions: full disks, stuck locks, bad files, unwritable folders.

Each case: the config is never overwritten (same bytes, inode and mtime), no temp file
is left behind, and the entry point returns one clear outcome instead of raising.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from overage_credit_grant.core import CACHE_KEY
from overage_credit_grant.shell import (
    InvalidateStatus,
    RefreshStatus,
    get_cached_overage_credit_grant,
    invalidate_overage_credit_grant_cache,
    refresh_overage_credit_grant_cache,
)

from ..support.backend import GRANT_BODY, TOKEN, MakeSettings, grant_path
from ..support.files import FileState, write_json
from ..support.workers import ROOT, run_module

pytestmark = pytest.mark.torture


def big_config(org: str) -> dict[str, object]:
    stale = {"info": {**GRANT_BODY, "amount_minor_units": 1}, "timestamp": 1}
    return {
        **{f"key{i}": "v" * 1000 for i in range(100)},
        CACHE_KEY: {org: stale},
    }


def temp_files(folder: Path) -> list[str]:
    return [n for n in os.listdir(folder) if n.endswith(".tmp")]


# -- full disk -------------------------------------------------------------------------


def test_file_size_limit_fails_the_write_and_keeps_the_old_file(
    httpserver: HTTPServer, tmp_path: Path, org: str
) -> None:
    """RLIMIT_FSIZE below the new file's size: write_failed, old bytes intact, no temp."""
    httpserver.expect_request(grant_path(org)).respond_with_json(GRANT_BODY)
    config = tmp_path / "config.json"
    write_json(config, big_config(org))
    before = FileState.of(config)
    limit = before.data.__len__() // 2

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        run_module(
            "tests.support.workers",
            "refresh",
            str(config),
            org,
            httpserver.url_for("/").rstrip("/"),
            "0",
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "CLAUDE_CODE_OAUTH_TOKEN": TOKEN},
        preexec_fn=limit_file_size,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "write_failed"
    assert "too large" in outcome["detail"].lower()
    assert FileState.of(config) == before
    assert temp_files(tmp_path) == []


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs (needs root; skipped elsewhere)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_full_disk_fails_the_write_and_keeps_the_old_file(
    tiny_disk: Path, make_settings: MakeSettings, serve_grant: Callable[..., None], org: str
) -> None:
    """A real ENOSPC: write_failed, the old config intact, no temp file, no traceback."""
    config = tiny_disk / "config.json"
    write_json(config, big_config(org))
    filler = tiny_disk / "filler"
    with contextlib.suppress(OSError), open(filler, "wb") as handle:
        while True:
            handle.write(b"\0" * 4096)
            handle.flush()
    before = FileState.of(config)
    serve_grant()
    outcome = refresh_overage_credit_grant_cache(make_settings(config_path=config))
    assert outcome.status is RefreshStatus.WRITE_FAILED
    assert "space" in outcome.detail.lower()
    assert FileState.of(config) == before
    assert temp_files(tiny_disk) == []
    filler.unlink()
    assert refresh_overage_credit_grant_cache(make_settings(config_path=config)).ok


# -- unwritable places -----------------------------------------------------------------


@contextlib.contextmanager
def frozen(folder: Path) -> Iterator[None]:
    """No file may be added to or removed from `folder` (chattr +i as root, 0555 otherwise)."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("chattr is not installed")
        froze = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
        if froze.returncode != 0:
            pytest.skip("chattr +i is not available here")
        undo = ["chattr", "-i", str(folder)]
    else:
        folder.chmod(0o555)
        undo = ["chmod", "755", str(folder)]
    try:
        yield
    finally:
        subprocess.run(undo, check=False)


@pytest.fixture
def frozen_folder(tmp_path: Path) -> Iterator[Path]:
    """A frozen folder holding a config."""
    folder = tmp_path / "frozen"
    folder.mkdir()
    write_json(folder / "config.json", {"keep": 1})
    with frozen(folder):
        yield folder


def test_unwritable_folder_gives_a_clear_outcome(
    frozen_folder: Path,
    make_settings: MakeSettings,
    serve_grant: Callable[..., None],
    httpserver: HTTPServer,
    org: str,
) -> None:
    config = frozen_folder / "config.json"
    before = FileState.of(config)
    serve_grant()
    s = make_settings(config_path=config)
    refreshed = refresh_overage_credit_grant_cache(s)
    assert refreshed.status is RefreshStatus.WRITE_FAILED
    assert httpserver.log == []  # refused before asking: the lease could not be taken
    invalidated = invalidate_overage_credit_grant_cache(s)
    assert invalidated.status is InvalidateStatus.NOTHING_TO_REMOVE
    assert FileState.of(config) == before


def test_unwritable_folder_with_an_entry_to_remove(
    tmp_path: Path, make_settings: MakeSettings, org: str
) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    config = folder / "config.json"
    write_json(config, {CACHE_KEY: {org: {"info": GRANT_BODY, "timestamp": 1}}})
    before = FileState.of(config)
    with frozen(folder):
        outcome = invalidate_overage_credit_grant_cache(make_settings(config_path=config))
    assert outcome.status is InvalidateStatus.WRITE_FAILED
    assert FileState.of(config) == before


# -- hostile files ---------------------------------------------------------------------

HOSTILE_CONFIGS: dict[str, bytes] = {
    "corrupt": b'{"theme": "dark", "x": ',
    "truncated": json.dumps({f"k{i}": "v" * 50 for i in range(500)}).encode()[:9000],
    "array": b"[1, 2, 3]",
    "string": b'"config"',
    "number": b"42",
    "null": b"null",
    "deeply nested": b'{"a": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",
    "not UTF-8": b'{"name": "\xff\xfe\xfa"}',
    "binary": bytes(range(256)) * 64,
    "NUL bytes": b"\0" * 1024,
}


@pytest.mark.parametrize("name", sorted(HOSTILE_CONFIGS))
def test_hostile_configs_are_never_overwritten(
    name: str,
    make_settings: MakeSettings,
    config_path: Path,
    serve_grant: Callable[..., None],
    httpserver: HTTPServer,
) -> None:
    config_path.write_bytes(HOSTILE_CONFIGS[name])
    before = FileState.of(config_path)
    serve_grant()
    s = make_settings()
    assert get_cached_overage_credit_grant(s) is None
    refreshed = refresh_overage_credit_grant_cache(s)
    assert refreshed.status is RefreshStatus.CONFIG_UNREADABLE
    assert refreshed.detail
    invalidated = invalidate_overage_credit_grant_cache(s)
    assert invalidated.status is InvalidateStatus.CONFIG_UNREADABLE
    assert httpserver.log == []
    assert FileState.of(config_path) == before
    assert temp_files(config_path.parent) == []


def test_a_huge_valid_config_is_kept_whole(
    make_settings: MakeSettings, config_path: Path, serve_grant: Callable[..., None], org: str
) -> None:
    """An 8 MB config with thousands of keys: the refresh writes, every key survives."""
    config = {f"project-{i}": {"history": [f"cmd {j}" for j in range(40)]} for i in range(20_000)}
    write_json(config_path, config)
    assert config_path.stat().st_size > 8_000_000
    serve_grant()
    assert refresh_overage_credit_grant_cache(make_settings()).status is RefreshStatus.WRITTEN
    after = json.loads(config_path.read_bytes())
    cache = after.pop(CACHE_KEY)
    assert after == config
    assert list(cache) == [org]


def test_a_config_that_is_a_directory(
    make_settings: MakeSettings, config_path: Path, serve_grant: Callable[..., None]
) -> None:
    config_path.mkdir()
    serve_grant()
    s = make_settings()
    assert refresh_overage_credit_grant_cache(s).status is RefreshStatus.CONFIG_UNREADABLE
    assert invalidate_overage_credit_grant_cache(s).status is InvalidateStatus.CONFIG_UNREADABLE
    assert get_cached_overage_credit_grant(s) is None
    assert config_path.is_dir()


def test_a_read_only_config(
    make_settings: MakeSettings, config_path: Path, serve_grant: Callable[..., None], org: str
) -> None:
    write_json(config_path, big_config(org))
    config_path.chmod(0o444)
    before = FileState.of(config_path)
    serve_grant()
    s = make_settings()
    refreshed = refresh_overage_credit_grant_cache(s)
    assert refreshed.status is RefreshStatus.WRITE_FAILED
    assert "read-only" in refreshed.detail
    assert invalidate_overage_credit_grant_cache(s).status is InvalidateStatus.WRITE_FAILED
    assert FileState.of(config_path) == before


@pytest.mark.parametrize("name", sorted(HOSTILE_CONFIGS))
def test_hostile_credentials_mean_no_credentials(
    name: str,
    make_settings: MakeSettings,
    tmp_path: Path,
    httpserver: HTTPServer,
    config_path: Path,
) -> None:
    creds = tmp_path / ".credentials.json"
    creds.write_bytes(HOSTILE_CONFIGS[name])
    outcome = refresh_overage_credit_grant_cache(make_settings(token=None, credentials_path=creds))
    assert outcome.status is RefreshStatus.SKIPPED_NO_CREDENTIALS
    assert httpserver.log == []
    assert not config_path.exists()


@pytest.mark.parametrize("name", sorted(HOSTILE_CONFIGS))
def test_hostile_claude_config_means_no_organization(
    name: str, make_settings: MakeSettings, tmp_path: Path, httpserver: HTTPServer
) -> None:
    claude = tmp_path / ".claude.json"
    claude.write_bytes(HOSTILE_CONFIGS[name])
    s = make_settings(organization=None, claude_config_path=claude)
    assert refresh_overage_credit_grant_cache(s).status is RefreshStatus.SKIPPED_NO_ORGANIZATION
    assert invalidate_overage_credit_grant_cache(s).status is InvalidateStatus.NO_ORGANIZATION
    assert get_cached_overage_credit_grant(s) is None
    assert httpserver.log == []
    assert claude.read_bytes() == HOSTILE_CONFIGS[name]


def test_stuck_lock_bound_holds_for_every_entry_point(
    make_settings: MakeSettings, config_path: Path, serve_grant: Callable[..., None], org: str
) -> None:
    """A lock held forever by another process: lock_timeout within the bound, no write."""
    write_json(config_path, {CACHE_KEY: {org: {"info": GRANT_BODY, "timestamp": 1}}})
    before = FileState.of(config_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import filelock, sys, time\n"
            f"lock = filelock.FileLock({str(config_path) + '.lock'!r})\n"
            "lock.acquire()\n"
            "print('held', flush=True)\n"
            "time.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        s = make_settings(lock_timeout_s=0.3)
        serve_grant()
        for call, expected in (
            (refresh_overage_credit_grant_cache, RefreshStatus.LOCK_TIMEOUT),
            (invalidate_overage_credit_grant_cache, InvalidateStatus.LOCK_TIMEOUT),
        ):
            started = time.monotonic()
            assert call(s).status is expected  # type: ignore[operator]
            assert time.monotonic() - started < 0.3 + 1.0
        assert get_cached_overage_credit_grant(make_settings()) is None  # stale; reads never wait
    finally:
        holder.kill()
        holder.wait()
    assert FileState.of(config_path) == before
