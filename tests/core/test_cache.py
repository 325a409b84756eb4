"""Laws of freshness and of the per-organization reducers (core/_cache.py)."""

from __future__ import annotations

import copy
from collections.abc import Mapping

from hypothesis import assume, given
from hypothesis import strategies as st
from returns.maybe import Nothing, Some
from returns.result import Failure, Result, Success

from overage_credit_grant.core import (
    CACHE_KEY,
    CACHE_TTL_MS,
    GRANT_CACHE,
    GrantInfo,
    PerOrgCache,
    after_invalidate,
    after_refresh,
    backoff_delay_ms,
    cached_grant,
    encode_grant_info,
    freshness_window,
    is_fresh,
)

from ..strategies import (
    cache_entries,
    clocks,
    configs,
    epoch_ms,
    grant_infos,
    invalid_org_ids,
    malformed_cache_entries,
    org_ids,
    ttl_offsets,
)


def cache_of(config: Mapping[str, object]) -> dict[object, object]:
    cache = config.get(CACHE_KEY)
    return dict(cache) if isinstance(cache, Mapping) else {}


def without_cache(config: Mapping[str, object]) -> dict[str, object]:
    return {k: v for k, v in config.items() if k != CACHE_KEY}


# -- freshness -------------------------------------------------------------------------


@given(epoch_ms())
def test_fresh_at_exactly_ttl(stamp: int) -> None:
    """An entry exactly one TTL old is still fresh."""
    assert is_fresh(stamp, stamp + CACHE_TTL_MS)


@given(epoch_ms())
def test_stale_one_ms_past_ttl(stamp: int) -> None:
    """One millisecond past the TTL, an entry is stale."""
    assert not is_fresh(stamp, stamp + CACHE_TTL_MS + 1)


@given(epoch_ms(), st.integers(min_value=1, max_value=10 * CACHE_TTL_MS))
def test_stale_when_stamped_in_the_future(now: int, skew: int) -> None:
    """An entry stamped after `now` (clock skew) is stale, however small the skew."""
    assert not is_fresh(now + skew, now)


@given(clocks(), st.integers(min_value=0, max_value=10 * CACHE_TTL_MS))
def test_freshness_is_age_within_zero_and_ttl(clock: tuple[int, int], ttl: int) -> None:
    """`is_fresh` holds exactly when 0 <= age <= ttl."""
    stamp, now = clock
    assert is_fresh(stamp, now, ttl) is (0 <= now - stamp <= ttl)


@given(org_ids(), grant_infos(), epoch_ms(), ttl_offsets())
def test_read_honours_freshness(org: str, info: GrantInfo, now: int, age: int) -> None:
    """A well-formed entry is read back exactly while it is fresh."""
    config = {CACHE_KEY: {org: {"info": encode_grant_info(info), "timestamp": now - age}}}
    expected = Some(info) if 0 <= age <= CACHE_TTL_MS else Nothing
    assert cached_grant(config, org, now) == expected


# -- reading ---------------------------------------------------------------------------


@given(configs(), org_ids(), epoch_ms())
def test_read_without_an_entry_is_nothing(config: dict[str, object], org: str, now: int) -> None:
    """No entry for the org means Nothing."""
    assume(org not in cache_of(config))
    assert cached_grant(config, org, now) == Nothing


@given(configs(), org_ids(), malformed_cache_entries(), epoch_ms())
def test_read_of_a_malformed_entry_is_nothing(
    config: dict[str, object], org: str, entry: object, now: int
) -> None:
    """A malformed entry is never trusted."""
    config = {**config, CACHE_KEY: {**cache_of(config), org: entry}}
    assert cached_grant(config, org, now) == Nothing


@given(configs(), invalid_org_ids(), cache_entries(), epoch_ms())
def test_read_with_an_invalid_org_id_is_nothing(
    config: dict[str, object], org: str, entry: dict[str, object], now: int
) -> None:
    """Even a well-formed entry under a key that is not an org id is never read."""
    config = {**config, CACHE_KEY: {**cache_of(config), org: entry}}
    assert cached_grant(config, org, now) == Nothing


@given(st.dictionaries(st.text(max_size=5), st.integers()) | st.just({CACHE_KEY: [1]}), org_ids())
def test_read_of_a_config_without_a_cache_object_is_nothing(
    config: dict[str, object], org: str
) -> None:
    """A missing cache key, or one that is not an object, reads as empty."""
    assert cached_grant(config, org, 0) == Nothing


# -- refreshing ------------------------------------------------------------------------


@given(configs(), org_ids(), grant_infos(), epoch_ms())
def test_read_after_refresh_at_the_same_now_gives_the_new_info(
    config: dict[str, object], org: str, info: GrantInfo, now: int
) -> None:
    """Whatever was there, refresh then read at the same instant returns the fetched grant."""
    assert cached_grant(after_refresh(config, org, info, now), org, now) == Some(info)


@given(configs(), org_ids(), grant_infos(), epoch_ms(), st.integers(0, CACHE_TTL_MS))
def test_refresh_is_idempotent_within_ttl(
    config: dict[str, object], org: str, info: GrantInfo, now: int, later: int
) -> None:
    """A second identical refresh within the TTL returns its input object: no write."""
    once = after_refresh(config, org, info, now)
    assert after_refresh(once, org, info, now + later) is once


@given(configs(), org_ids(), grant_infos(), epoch_ms())
def test_refresh_returns_prev_exactly_when_data_equal_and_entry_fresh(
    config: dict[str, object], org: str, info: GrantInfo, now: int
) -> None:
    """`prev` comes back if and only if the stored grant equals the fetched one and is fresh."""
    skip = cached_grant(config, org, now) == Some(info)
    assert (after_refresh(config, org, info, now) is config) is skip


@given(org_ids(), grant_infos(), epoch_ms(), st.integers(1, 10 * CACHE_TTL_MS), configs())
def test_refresh_of_equal_stale_data_changes_only_the_timestamp(
    org: str, info: GrantInfo, stamp: int, extra_age: int, config: dict[str, object]
) -> None:
    """Equal data in a stale entry: a write whose only change is the timestamp."""
    stored = {**encode_grant_info(info), "extra": "kept"}
    prev = {**config, CACHE_KEY: {**cache_of(config), org: {"info": stored, "timestamp": stamp}}}
    now = stamp + CACHE_TTL_MS + extra_age
    nxt = after_refresh(prev, org, info, now)
    assert nxt is not prev
    assert cache_of(nxt)[org] == {"info": stored, "timestamp": now}
    assert {**cache_of(nxt), org: None} == {**cache_of(prev), org: None}
    assert without_cache(nxt) == without_cache(prev)


@given(configs(), org_ids(), grant_infos(), grant_infos(), epoch_ms(), ttl_offsets())
def test_refresh_with_new_data_writes_info_and_now(
    config: dict[str, object], org: str, old: GrantInfo, new: GrantInfo, now: int, age: int
) -> None:
    """New data replaces the entry with {info, timestamp: now}."""
    assume(old != new)
    entry = {"info": encode_grant_info(old), "timestamp": now - age}
    prev = {**config, CACHE_KEY: {**cache_of(config), org: entry}}
    nxt = after_refresh(prev, org, new, now)
    assert cache_of(nxt)[org] == {"info": encode_grant_info(new), "timestamp": now}


@given(configs(), org_ids(), grant_infos(), epoch_ms())
def test_refresh_preserves_unrelated_keys_and_other_orgs(
    config: dict[str, object], org: str, info: GrantInfo, now: int
) -> None:
    """Every other key, and every other org's entry (even malformed ones), is carried over."""
    nxt = after_refresh(config, org, info, now)
    assert without_cache(nxt) == without_cache(config)
    assert list(without_cache(nxt)) == list(without_cache(config))
    others = {k: v for k, v in cache_of(config).items() if k != org}
    assert {k: v for k, v in cache_of(nxt).items() if k != org} == others


@given(configs(), org_ids(), grant_infos(), epoch_ms())
def test_refresh_never_mutates_its_inputs(
    config: dict[str, object], org: str, info: GrantInfo, now: int
) -> None:
    """The previous config is left exactly as it was."""
    before = copy.deepcopy(config)
    after_refresh(config, org, info, now)
    assert config == before


@given(configs(), invalid_org_ids(), grant_infos(), epoch_ms())
def test_refresh_with_an_invalid_org_id_returns_prev(
    config: dict[str, object], org: str, info: GrantInfo, now: int
) -> None:
    """A string that is not an org id never becomes a cache key."""
    assert after_refresh(config, org, info, now) is config


# -- invalidating ----------------------------------------------------------------------


@given(configs(), org_ids(), cache_entries() | malformed_cache_entries())
def test_invalidate_removes_that_org_only(
    config: dict[str, object], org: str, entry: object
) -> None:
    """The org's entry goes; every other entry and every other key stays."""
    prev = {**config, CACHE_KEY: {**cache_of(config), org: entry}}
    nxt = after_invalidate(prev, org)
    assert org not in cache_of(nxt)
    assert cache_of(nxt) == {k: v for k, v in cache_of(prev).items() if k != org}
    assert without_cache(nxt) == without_cache(prev)


@given(configs(), org_ids())
def test_invalidate_returns_prev_when_absent(config: dict[str, object], org: str) -> None:
    """Nothing to remove: the input object itself comes back."""
    assume(org not in cache_of(config))
    assert after_invalidate(config, org) is config


@given(configs(), org_ids(), grant_infos(), epoch_ms())
def test_read_after_invalidate_is_nothing(
    config: dict[str, object], org: str, info: GrantInfo, now: int
) -> None:
    """After invalidating, the org reads as empty, even right after a refresh."""
    refreshed = after_refresh(config, org, info, now)
    assert cached_grant(after_invalidate(refreshed, org), org, now) == Nothing


@given(configs(), org_ids())
def test_invalidate_never_mutates_its_input(config: dict[str, object], org: str) -> None:
    """The previous config is left exactly as it was."""
    before = copy.deepcopy(config)
    after_invalidate(config, org)
    assert config == before


# -- listing and reuse -----------------------------------------------------------------


@given(configs())
def test_entries_lists_exactly_the_readable_entries(config: dict[str, object]) -> None:
    """`entries` yields each org whose entry is well-formed, with its value and stamp."""
    listed = {e.org_id: e for e in GRANT_CACHE.entries(config)}
    for org in cache_of(config):
        entry = GRANT_CACHE.entry(config, org) if isinstance(org, str) else Nothing
        assert listed.get(org) == entry.value_or(None)


def decode_seats(payload: object) -> Result[int, str]:
    if type(payload) is int and payload >= 0:
        return Success(payload)
    return Failure("seats must be a non-negative integer")


SEATS = PerOrgCache(key="seatCache", decode=decode_seats, encode=lambda n: {"n": n}, ttl_ms=1000)
SEATS_OF_JSON = PerOrgCache(
    key="seatCache",
    decode=lambda p: decode_seats(p.get("n")) if isinstance(p, dict) else Failure("no"),
    encode=lambda n: {"n": n},
    ttl_ms=1000,
)


@given(configs(with_cache=False), org_ids(), st.integers(0, 99), st.integers(0, 99), epoch_ms())
def test_the_reducers_are_reusable_for_another_record(
    config: dict[str, object], org: str, first: int, second: int, now: int
) -> None:
    """A second cache with its own key, record and TTL obeys the same laws."""
    assume("seatCache" not in config)
    once = SEATS_OF_JSON.after_refresh(config, org, first, now)
    assert SEATS_OF_JSON.read(once, org, now) == Some(first)
    assert SEATS_OF_JSON.read(once, org, now + 1001) == Nothing
    assert (SEATS_OF_JSON.after_refresh(once, org, second, now + 1) is once) is (first == second)
    assert SEATS_OF_JSON.after_invalidate(once, org)["seatCache"] == {}
    assert without_cache(once) == config | {"seatCache": once["seatCache"]}
    assert SEATS.read(once, org, now) == Nothing  # a decoder that rejects the stored shape


# -- backoff ---------------------------------------------------------------------------


@given(st.integers(0, 200), st.integers(1, 10**6), st.integers(1, 10**8))
def test_backoff_grows_from_base_and_never_passes_the_cap(
    failures: int, base: int, cap: int
) -> None:
    """No wait before a failure; then base, doubling each failure, never above the cap."""
    delay = backoff_delay_ms(failures, base, cap)
    if failures == 0:
        assert delay == 0
    else:
        assert delay == min(cap, base * 2 ** (failures - 1))
        assert delay <= backoff_delay_ms(failures + 1, base, cap) <= cap


@given(st.lists(epoch_ms(), max_size=4), epoch_ms(), st.integers(0, 10 * CACHE_TTL_MS))
def test_freshness_stays_put_inside_the_window_and_changes_at_its_ends(
    stamps: list[int], now: int, ttl: int
) -> None:
    """Inside ``[start, end)`` every stamp is as fresh as at `now`; at ``start - 1`` and at
    ``end`` some stamp is not."""
    start, end = freshness_window(stamps, now, ttl)
    at_now = [is_fresh(t, now, ttl) for t in stamps]
    probes = [now, *(p for p in (start, end - 1 if end is not None else None) if p is not None)]
    for probe in probes:
        assert [is_fresh(t, probe, ttl) for t in stamps] == at_now
    if start is not None:
        assert start <= now
        assert [is_fresh(t, start - 1, ttl) for t in stamps] != at_now
    if end is not None:
        assert end > now
        assert [is_fresh(t, end, ttl) for t in stamps] != at_now
    if not stamps:
        assert (start, end) == (None, None)
