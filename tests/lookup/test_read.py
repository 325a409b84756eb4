"""The lock-free read of the grant: where the organization comes from, freshness, and what a read
never imports.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from pytest_httpserver import HTTPServer

from overage_credit_grant.core import CACHE_KEY, CACHE_TTL_MS
from overage_credit_grant.shell import (
    InvalidateStatus,
    RefreshStatus,
    get_cached_overage_credit_grant,
    invalidate_overage_credit_grant_cache,
    refresh_overage_credit_grant_cache,
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
