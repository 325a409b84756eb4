"""The lock-free read of the grant: where the organization comes from, freshness, and what a read
never imports.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pytest_httpserver import HTTPServer

from overage_credit_grant.core import CACHE_KEY, CACHE_TTL_MS, GRANT_CACHE
from overage_credit_grant.shell import (
    InvalidateStatus,
    RefreshStatus,
    Settings,
    get_cached_overage_credit_grant,
    invalidate_overage_credit_grant_cache,
    refresh_overage_credit_grant_cache,
    store_for,
)

from ..support.backend import FIVE, GRANT_BODY, MakeSettings
from ..support.clock import Clock
from ..support.files import FileState, seeded, write_json


def test_without_an_org_nothing_happens(
    make_settings: MakeSettings, config_path: Path, httpserver: HTTPServer
) -> None:
    """No org: get is None; refresh and invalidate send no request and write nothing."""
    s = make_settings(organization=None, claude_config_path=config_path.parent / "none.json")
    assert get_cached_overage_credit_grant(s) is None
    assert refresh_overage_credit_grant_cache(s).status is RefreshStatus.SKIPPED_NO_ORGANIZATION
    assert invalidate_overage_credit_grant_cache(s).status is InvalidateStatus.NO_ORGANIZATION
    assert httpserver.log == []
    assert not config_path.exists()


def test_org_comes_from_claude_codes_config_which_is_only_read(
    make_settings: MakeSettings, tmp_path: Path, serve_grant: Callable[..., None], org: str
) -> None:
    """oauthAccount.organizationUuid in Claude Code's config is used; that file never changes."""
    claude = tmp_path / ".claude.json"
    write_json(claude, {"oauthAccount": {"organizationUuid": org}, "numStartups": 3})
    before = FileState.of(claude)
    serve_grant()
    s = make_settings(organization=None, claude_config_path=claude, protected_paths=(claude,))
    assert refresh_overage_credit_grant_cache(s).status is RefreshStatus.WRITTEN
    assert get_cached_overage_credit_grant(s) == FIVE
    assert FileState.of(claude) == before
    assert not (tmp_path / ".claude.json.lock").exists()


def test_entry_older_than_ttl_reads_none_and_exactly_ttl_is_fresh(
    make_settings: MakeSettings, config_path: Path, org: str, clock: Clock
) -> None:
    """The TTL boundary and a future stamp, through the lock-free read."""
    seeded(config_path, org, GRANT_BODY, clock.now_ms - CACHE_TTL_MS)
    assert get_cached_overage_credit_grant(make_settings()) == FIVE
    clock.advance(1)
    assert get_cached_overage_credit_grant(make_settings()) is None
    seeded(config_path, org, GRANT_BODY, clock.now_ms + 60_000)
    assert get_cached_overage_credit_grant(make_settings()) is None


def test_reading_a_cached_grant_imports_neither_requests_nor_filelock(
    tmp_path: Path, org: str
) -> None:
    """The hot path stays light: checked in a fresh interpreter."""
    config = tmp_path / "config.json"
    write_json(config, {CACHE_KEY: {org: {"info": GRANT_BODY, "timestamp": 1}}})
    code = (
        "import sys\n"
        "from overage_credit_grant.shell import Settings, get_cached_overage_credit_grant\n"
        f"s = Settings(config_path={str(config)!r}, organization={org!r}, clock=lambda: 2)\n"
        "assert get_cached_overage_credit_grant(s) is not None\n"
        "print(sorted(m for m in ('requests', 'filelock', 'urllib3') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_long_lived_get_sees_a_change_by_another_writer_within_the_bound(
    tmp_path: Path, org: str
) -> None:
    """With the default `file_check_s` (0.25 s), a long-lived process's `get` trusts its
    last look at a file that long: a change another writer makes to Claude Code's file or
    to ours is seen within it (the README says within 1 s); this process's own write is
    seen at once."""
    claude, ours = tmp_path / "claude.json", tmp_path / "config.json"
    s = Settings(config_path=ours, claude_config_path=claude, env={})
    assert s.file_check_s == 0.25

    def claude_code_says(amount: int) -> None:
        entry = {"info": {**GRANT_BODY, "amount_minor_units": amount}, "timestamp": wall_ms()}
        write_json(claude, {"oauthAccount": {"organizationUuid": org}, CACHE_KEY: {org: entry}})

    def seen_within(amount: int) -> float:
        started = time.monotonic()
        while (info := get_cached_overage_credit_grant(s)) is None or (
            info.amount_minor_units != amount
        ):
            assert time.monotonic() - started < 1.0, "not seen within the bound"
            time.sleep(0.005)
        return time.monotonic() - started

    claude_code_says(500)
    assert seen_within(500) < 0.05  # nothing was read before: read at once
    time.sleep(0.002)
    claude_code_says(1250)
    assert seen_within(1250) <= 0.25 + 0.1
    time.sleep(0.002)
    write_json(ours, {CACHE_KEY: {org: {"info": GRANT_BODY, "timestamp": wall_ms() + 1}}})
    assert seen_within(500) <= 0.25 + 0.1  # ours is newer now
    time.sleep(0.01)  # a stamp later than the last, and not in the future (never fresh)
    store_for(s).update(
        lambda prev: GRANT_CACHE.after_refresh(
            prev, org, FIVE.replace(amount_minor_units=2000), wall_ms()
        )
    )
    assert get_cached_overage_credit_grant(s) == FIVE.replace(amount_minor_units=2000)  # at once


def wall_ms() -> int:
    return time.time_ns() // 1_000_000
