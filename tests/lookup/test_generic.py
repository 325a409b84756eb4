"""The generic shell's contract, run on two lookups: the grant and a seat count.

Each test is parametrized over `tests/support/lookups.py`'s KINDS, so that "any per-org
lookup gets the whole shell" is shown, not claimed: real files, a real loopback backend.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from returns.result import Failure

from overage_credit_grant.core import PerOrgCache
from overage_credit_grant.shell import (
    FetchRequest,
    InvalidateStatus,
    PerOrgLookup,
    RefreshStatus,
)

from ..support.backend import TOKEN, MakeSettings
from ..support.clock import Clock
from ..support.files import FileState, read_json, write_json
from ..support.lookups import GRANT_KIND, KINDS, SEATS_KIND, Kind
from ..support.marks import answer, each_kind


@each_kind
def test_refresh_reads_back_skips_the_unchanged_write_and_invalidates(
    kind: Kind,
    make_settings: MakeSettings,
    httpserver: HTTPServer,
    config_path: Path,
    org: str,
    clock: Clock,
) -> None:
    """Written, read back, no write when unchanged and fresh (same inode and mtime),
    rewritten when the data changes, invalidated alone."""
    answer(httpserver, kind, org, kind.body)
    s = make_settings()
    first = kind.lookup.refresh(s)
    assert first.status is RefreshStatus.WRITTEN
    assert first.value == kind.value()
    assert kind.lookup.get(s) == kind.value()
    before = FileState.of(config_path)
    clock.advance(1000)
    assert kind.lookup.refresh(s).status is RefreshStatus.UNCHANGED
    assert FileState.of(config_path) == before
    httpserver.clear()
    answer(httpserver, kind, org, kind.other_body)
    assert kind.lookup.refresh(s).status is RefreshStatus.WRITTEN
    assert kind.lookup.get(s) == kind.value(kind.other_body)
    assert kind.lookup.invalidate(s).status is InvalidateStatus.REMOVED
    assert kind.lookup.get(s) is None
    assert kind.lookup.invalidate(s).status is InvalidateStatus.NOTHING_TO_REMOVE


def test_two_lookups_share_one_file_and_never_clobber_each_other(
    make_settings: MakeSettings, httpserver: HTTPServer, config_path: Path, org: str
) -> None:
    """Both entries sit in one file beside foreign keys; invalidating one leaves the other
    entry and every foreign key byte-for-byte as it was."""
    foreign = {"theme": "dark", "projects": {"/x": {"allowedTools": ["a", "b"]}}, "n": 1.5}
    write_json(config_path, foreign)
    for kind in KINDS:
        answer(httpserver, kind, org, kind.body)
    s = make_settings()
    assert GRANT_KIND.lookup.refresh(s).status is RefreshStatus.WRITTEN
    assert SEATS_KIND.lookup.refresh(s).status is RefreshStatus.WRITTEN
    both = read_json(config_path)
    for kind in KINDS:
        assert kind.lookup.get(s) == kind.value()
        assert both[kind.lookup.cache.key] == {org: {"info": kind.body, "timestamp": s.clock()}}
    assert {k: both[k] for k in foreign} == foreign
    assert GRANT_KIND.lookup.invalidate(s).status is InvalidateStatus.REMOVED
    after = read_json(config_path)
    assert after[GRANT_KIND.lookup.cache.key] == {}
    seats_key = SEATS_KIND.lookup.cache.key
    assert json.dumps(after[seats_key]) == json.dumps(both[seats_key])
    assert json.dumps({k: after[k] for k in foreign}) == json.dumps(foreign)
    assert SEATS_KIND.lookup.get(s) == SEATS_KIND.value()


@each_kind
def test_bad_bodies_and_errors_are_failed_fetches_never_stored(
    kind: Kind,
    make_settings: MakeSettings,
    httpserver: HTTPServer,
    config_path: Path,
    org: str,
) -> None:
    s = make_settings(backoff_base_ms=0)
    for body, status, expected in (
        (kind.bad_body, 200, RefreshStatus.FETCH_FAILED_PAYLOAD),
        ("not an object", 200, RefreshStatus.FETCH_FAILED_PAYLOAD),
        (kind.body, 503, RefreshStatus.FETCH_FAILED_HTTP),
    ):
        httpserver.clear()
        answer(httpserver, kind, org, body, status)
        outcome = kind.lookup.refresh(s)
        assert outcome.status is expected, outcome
        assert outcome.value is None
        assert TOKEN not in str(outcome)
        assert not config_path.exists()
        assert kind.lookup.get(s) is None


@each_kind
def test_privacy_switch_and_missing_credentials_send_nothing(
    kind: Kind,
    make_settings: MakeSettings,
    httpserver: HTTPServer,
    config_path: Path,
    tmp_path: Path,
) -> None:
    private = make_settings(env={"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"})
    assert kind.lookup.refresh(private).status is RefreshStatus.SKIPPED_ESSENTIAL_TRAFFIC
    no_token = make_settings(token=None, credentials_path=tmp_path / "none.json")
    assert kind.lookup.refresh(no_token).status is RefreshStatus.SKIPPED_NO_CREDENTIALS
    assert kind.lookup.start_refresh(private).result(5).skipped
    assert httpserver.log == []
    assert not config_path.exists()


def test_forty_orgs_of_two_lookups_leave_at_most_four_files_beside_the_config(
    make_settings: MakeSettings, httpserver: HTTPServer, tmp_path: Path, config_path: Path
) -> None:
    """Leases are byte ranges of one file: the folder holds the config, its lock and its
    lease file, however many orgs and lookups were refreshed."""
    orgs = [str(uuid.uuid4()) for _ in range(40)]
    for org in orgs:
        for kind in KINDS:
            answer(httpserver, kind, org, kind.body)
    for org in orgs:
        for kind in KINDS:
            assert kind.lookup.refresh(make_settings(organization=org)).ok
    beside = sorted(os.listdir(tmp_path))
    assert beside == ["config.json", "config.json.lease", "config.json.lock"]
    assert len(beside) <= 4
    assert os.path.getsize(tmp_path / "config.json.lease") == 0
    for kind in KINDS:
        assert sorted(read_json(config_path)[kind.lookup.cache.key]) == sorted(orgs)  # type: ignore[arg-type]


def test_a_callable_fetch_gets_the_whole_shell(
    make_settings: MakeSettings, config_path: Path, org: str, clock: Clock
) -> None:
    """fetch=: the payload is decoded strictly; an exception is a failed fetch named by its
    type only (its message may hold a secret); the privacy switch still holds."""
    calls: list[FetchRequest] = []
    answers: list[Any] = [
        {"seats": 3, "plan": "pro"},
        {"seats": "three"},
        RuntimeError(f"boom {TOKEN}"),
        Failure("upstream said no"),
    ]

    def fetch(request: FetchRequest) -> object:
        calls.append(request)
        got = answers.pop(0)
        if isinstance(got, Exception):
            raise got
        return got

    lookup = PerOrgLookup(SEATS_KIND.lookup.cache, fetch=fetch, name="seats", needs_token=False)
    s = make_settings(token=None, backoff_base_ms=0)
    assert lookup.refresh(s).status is RefreshStatus.WRITTEN
    assert calls[0].org_id == org
    assert calls[0].token is None
    assert 0 < calls[0].remaining_s() <= s.total_timeout_s
    assert TOKEN not in repr(calls[0])
    assert lookup.get(s) == SEATS_KIND.value({"seats": 3, "plan": "pro"})
    clock.advance(SEATS_KIND.lookup.cache.ttl_ms + 1)
    payload = lookup.refresh(s)
    assert payload.status is RefreshStatus.FETCH_FAILED_PAYLOAD
    assert "not a seats" in payload.detail
    raised = lookup.refresh(s)
    assert raised.status is RefreshStatus.FETCH_FAILED_NETWORK
    assert raised.detail == "fetch raised RuntimeError"
    assert lookup.refresh(s).detail == "upstream said no"
    private = make_settings(env={"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"})
    assert lookup.refresh(private).status is RefreshStatus.SKIPPED_ESSENTIAL_TRAFFIC
    assert len(calls) == 4


@pytest.mark.parametrize(
    "path",
    [
        "api/{org}",
        "/api/orgs",
        "/api/{org}/{org}",
        "/api/{org}?x=1",
        "/api/{org}/{other}",
        "/api/{org}#f",
    ],
)
def test_a_malformed_path_is_refused_when_the_lookup_is_built(path: str) -> None:
    with pytest.raises(ValueError, match="path"):
        PerOrgLookup(SEATS_KIND.lookup.cache, path=path)


def test_a_lookup_needs_exactly_one_source() -> None:
    cache: PerOrgCache[Any] = SEATS_KIND.lookup.cache
    with pytest.raises(ValueError, match="exactly one"):
        PerOrgLookup(cache)
    with pytest.raises(ValueError, match="exactly one"):
        PerOrgLookup(cache, path="/a/{org}", fetch=lambda _: {})
