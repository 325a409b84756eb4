"""Invalidating the grant: one organization's entry goes, every other byte of meaning stays."""

from __future__ import annotations

from pathlib import Path

from overage_credit_grant.core import CACHE_KEY
from overage_credit_grant.shell import (
    InvalidateStatus,
    get_cached_overage_credit_grant,
    invalidate_overage_credit_grant_cache,
)

from ..support.backend import GRANT_BODY, MakeSettings
from ..support.clock import Clock
from ..support.files import FileState, read_json, seeded


def test_invalidate_removes_only_the_current_org(
    make_settings: MakeSettings, config_path: Path, org: str, clock: Clock
) -> None:
    """One entry goes; everything else keeps its value; a second call writes nothing."""
    config = seeded(config_path, org, GRANT_BODY, clock.now_ms)
    outcome = invalidate_overage_credit_grant_cache(make_settings())
    assert outcome.status is InvalidateStatus.REMOVED
    del config[CACHE_KEY][org]  # type: ignore[attr-defined]
    assert read_json(config_path) == config
    before = FileState.of(config_path)
    assert invalidate_overage_credit_grant_cache(make_settings()).status is (
        InvalidateStatus.NOTHING_TO_REMOVE
    )
    assert FileState.of(config_path) == before
    assert get_cached_overage_credit_grant(make_settings()) is None
