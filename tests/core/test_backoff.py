"""The backoff state kept beside the cache (core/_backoff.py): laws over any config."""

from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st

from overage_credit_grant.core import (
    after_failure,
    after_success,
    backoff_delay_ms,
    backoff_section,
    backoff_states,
    failure_count,
    retry_wait_ms,
)

from ..strategies import configs, epoch_ms, invalid_org_ids, json_values, org_ids

SECTION = backoff_section("overageCreditGrantCache")
bases = st.integers(1, 10**6)
caps = st.integers(1, 10**8)


@given(configs(), org_ids(), epoch_ms(), bases, caps, st.integers(1, 6))
def test_n_failures_wait_the_nth_delay_and_keep_everything_else(
    config: dict[str, object], org: str, now: int, base: int, cap: int, n: int
) -> None:
    frozen = copy.deepcopy(config)
    state = config
    for _ in range(n):
        state = after_failure(state, SECTION, org, now, base, cap)
    assert config == frozen  # inputs are never mutated
    assert failure_count(state, SECTION, org) == n
    assert retry_wait_ms(state, SECTION, org, now, cap) == backoff_delay_ms(n, base, cap)
    assert {k: v for k, v in state.items() if k != SECTION} == {
        k: v for k, v in config.items() if k != SECTION
    }


@given(configs(), org_ids(), org_ids(), epoch_ms(), bases, caps)
def test_success_clears_one_org_only_and_is_identity_without_state(
    config: dict[str, object], org: str, other: str, now: int, base: int, cap: int
) -> None:
    assert after_success(config, SECTION, org) is config or SECTION in config
    both = after_failure(
        after_failure(config, SECTION, org, now, base, cap), SECTION, other, now, base, cap
    )
    cleared = after_success(both, SECTION, org)
    assert failure_count(cleared, SECTION, org) == 0
    assert retry_wait_ms(cleared, SECTION, org, now, cap) == 0
    if other != org:
        assert failure_count(cleared, SECTION, other) == 1
    again = after_success(after_success(cleared, SECTION, other), SECTION, org)
    assert after_success(again, SECTION, org) is again
    assert SECTION not in again  # no empty table is left behind


@given(org_ids(), epoch_ms(), caps, json_values())
def test_no_stored_value_makes_a_wait_longer_than_the_cap(
    org: str, now: int, cap: int, stored: object
) -> None:
    """Whatever the file holds (hand-edited, hostile, from a skewed clock)."""
    for config in (
        {SECTION: {org: stored}},
        {SECTION: {org: {"failures": 3, "retry_at": stored}}},
        {SECTION: stored},
        {SECTION: {org: {"failures": 3, "retry_at": now + cap + 1}}},
    ):
        assert 0 <= retry_wait_ms(config, SECTION, org, now, cap) <= cap  # type: ignore[arg-type]
    far = {SECTION: {org: {"failures": 3, "retry_at": now + cap + 1}}}
    assert retry_wait_ms(far, SECTION, org, now, cap) == 0


@given(configs(), invalid_org_ids(), epoch_ms(), bases, caps)
def test_an_invalid_org_id_never_becomes_a_key(
    config: dict[str, object], org: str, now: int, base: int, cap: int
) -> None:
    assert after_failure(config, SECTION, org, now, base, cap) is config


@given(configs(), org_ids(), epoch_ms(), st.integers(-5, 0), caps)
def test_backoff_off_writes_nothing(
    config: dict[str, object], org: str, now: int, base: int, cap: int
) -> None:
    assert after_failure(config, SECTION, org, now, base, cap) is config


targets = st.sampled_from(["https://api.example", "http://127.0.0.1:9", "https://other.example"])


@given(configs(), org_ids(), epoch_ms(), bases, caps, st.integers(1, 5), targets, targets)
def test_failures_against_one_target_hold_back_only_that_target(
    config: dict[str, object],
    org: str,
    now: int,
    base: int,
    cap: int,
    n: int,
    failed: str,
    other: str,
) -> None:
    """A corrected backend is tried at once, and its own failures count from one."""
    state = config
    for _ in range(n):
        state = after_failure(state, SECTION, org, now, base, cap, failed)
    delay = backoff_delay_ms(n, base, cap)
    assert retry_wait_ms(state, SECTION, org, now, cap, failed) == delay
    assert retry_wait_ms(state, SECTION, org, now, cap) == delay  # a caller of any target
    assert failure_count(state, SECTION, org, failed) == n
    if other != failed:
        assert retry_wait_ms(state, SECTION, org, now, cap, other) == 0
        assert failure_count(state, SECTION, org, other) == 0
        moved = after_failure(state, SECTION, org, now, base, cap, other)
        assert failure_count(moved, SECTION, org, other) == 1
        assert retry_wait_ms(moved, SECTION, org, now, cap, failed) == 0


@given(org_ids(), epoch_ms(), bases, caps, targets)
def test_a_state_without_a_target_holds_back_every_target(
    org: str, now: int, base: int, cap: int, target: str
) -> None:
    """Files written before targets were recorded keep working as they did."""
    state = after_failure({}, SECTION, org, now, base, cap)
    assert retry_wait_ms(state, SECTION, org, now, cap, target) == backoff_delay_ms(1, base, cap)


@given(configs(), st.lists(st.tuples(org_ids(), st.none() | targets), max_size=4), epoch_ms())
def test_backoff_states_lists_each_recorded_org_once(
    config: dict[str, object], failures: list[tuple[str, str | None]], now: int
) -> None:
    state = config
    for org, target in failures:
        state = after_failure(state, SECTION, org, now, 1000, 60_000, target)
    listed = {s.org_id: s for s in backoff_states(state, SECTION)}
    assert set(listed) == {org for org, _ in failures}
    for org, _ in failures:
        assert listed[org].failures == failure_count(state, SECTION, org, listed[org].target)
        last = [t for o, t in failures if o == org][-1]
        assert listed[org].target == last
