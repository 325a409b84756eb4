"""Backing off after failed fetches: doubling from a base, capped, kept beside the cache.

Theory of operation
-------------------
Each short-lived process (a statusline render, a cron job) starts with no memory, so
the backoff state lives in the config next to the cached entries, under a section of
its own (``<cache key>Backoff``): per organization ``{"failures": n, "retry_at": ms}``.
These reducers decide, from explicit inputs only, what that state becomes after a
failure or a success, and how long a caller must still wait.

* `after_failure` counts one more failure and sets ``retry_at`` one backoff delay ahead.
* `after_success` drops the org's state; it returns `prev` itself when there is none,
  so a healthy refresh never writes for it.
* `retry_wait_ms` trusts a stored ``retry_at`` only while it lies within one cap of
  now: a stamp further ahead (a clock that jumped back, a hand-edited or hostile file)
  is ignored, so no stored value can silence refreshes for longer than the cap.
* A failure may be recorded against a *target* (for an HTTP lookup, the backend's base
  URL), kept as ``"target"``. A state recorded against one target holds back only
  refreshes aimed at that target: a corrected backend URL is tried at once, and its own
  first failure counts from one again. A state without a target (or a caller without
  one) holds back every refresh of the org.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ._grant import is_valid_org_id
from ._record import Record

__all__ = [
    "BackoffState",
    "after_failure",
    "after_success",
    "backoff_delay_ms",
    "backoff_section",
    "backoff_states",
    "failure_count",
    "retry_wait_ms",
]

_FAILURES: Final = "failures"
_RETRY_AT: Final = "retry_at"
_TARGET: Final = "target"
_MAX_COUNT: Final = 1 << 20  # a count past this says nothing more about the delay


def backoff_delay_ms(failures: int, base_ms: int, cap_ms: int) -> int:
    """The wait after `failures` consecutive failures: 0, base, 2*base, 4*base, ... <= cap."""
    if failures <= 0 or base_ms <= 0 or cap_ms <= 0:
        return 0
    # Doubling past the cap is pointless; bounding the exponent keeps the integer small.
    doublings = min(failures - 1, max(cap_ms // base_ms, 1).bit_length())
    return min(cap_ms, base_ms << doublings)


def backoff_section(cache_key: str) -> str:
    """The config key holding the backoff state of the cache stored under `cache_key`."""
    return cache_key + "Backoff"


class BackoffState(Record):
    """One organization's failures in a row, when its next try may go, and what failed
    (None: any target)."""

    org_id: str
    failures: int
    retry_at_ms: int
    target: str | None = None

    def applies_to(self, target: str | None) -> bool:
        """Whether this state holds back a refresh aimed at `target`."""
        return self.target is None or target is None or self.target == target


def _state_of(org_id: object, raw: object) -> BackoffState | None:
    if not isinstance(raw, Mapping) or not isinstance(org_id, str):
        return None
    count, retry_at, target = raw.get(_FAILURES), raw.get(_RETRY_AT), raw.get(_TARGET)
    if type(count) is not int or type(retry_at) is not int or count < 1:
        return None
    if target is not None and not isinstance(target, str):
        return None
    return BackoffState(org_id, count, retry_at, target)


def _state(
    config: Mapping[str, object], section: str, org_id: str, target: str | None
) -> BackoffState | None:
    table = config.get(section) if isinstance(config, Mapping) else None
    raw = table.get(org_id) if isinstance(table, Mapping) else None
    state = _state_of(org_id, raw)
    return state if state is not None and state.applies_to(target) else None


def backoff_states(config: Mapping[str, object], section: str) -> tuple[BackoffState, ...]:
    """Every well-formed backoff state of the section with a valid org id, in order."""
    table = config.get(section) if isinstance(config, Mapping) else None
    if not isinstance(table, Mapping):
        return ()
    found = (_state_of(org, raw) for org, raw in table.items() if is_valid_org_id(org))
    return tuple(state for state in found if state is not None)


def failure_count(
    config: Mapping[str, object], section: str, org_id: str, target: str | None = None
) -> int:
    """Consecutive failed fetches recorded for `org_id` against `target` (0 when none,
    malformed, or recorded against another target)."""
    state = _state(config, section, org_id, target)
    return 0 if state is None else state.failures


def retry_wait_ms(
    config: Mapping[str, object],
    section: str,
    org_id: str,
    now_ms: int,
    cap_ms: int,
    target: str | None = None,
) -> int:
    """How long a refresh of `org_id` aimed at `target` must still wait at `now_ms`; 0
    when it may go. A ``retry_at`` more than `cap_ms` ahead of now is not trusted (see the
    module notes)."""
    state = _state(config, section, org_id, target)
    if state is None:
        return 0
    wait = state.retry_at_ms - now_ms
    return wait if 0 < wait <= cap_ms else 0


def after_failure(
    prev: Mapping[str, object],
    section: str,
    org_id: str,
    now_ms: int,
    base_ms: int,
    cap_ms: int,
    target: str | None = None,
) -> Mapping[str, object]:
    """The config after one more failed fetch of `org_id` at `now_ms`, aimed at `target`.

    `prev` itself for an invalid org id or when backoff is off (a zero base or cap).
    Failures against another target do not count: the count starts again at one. Other
    keys and other orgs' states are carried over untouched.
    """
    if not is_valid_org_id(org_id) or backoff_delay_ms(1, base_ms, cap_ms) == 0:
        return prev
    count = min(failure_count(prev, section, org_id, target) + 1, _MAX_COUNT)
    state: dict[str, object] = {
        _FAILURES: count,
        _RETRY_AT: now_ms + backoff_delay_ms(count, base_ms, cap_ms),
    }
    if target is not None:
        state[_TARGET] = target
    table = prev.get(section)
    kept = dict(table) if isinstance(table, Mapping) else {}
    return {**prev, section: {**kept, org_id: state}}


def after_success(prev: Mapping[str, object], section: str, org_id: str) -> Mapping[str, object]:
    """The config without `org_id`'s backoff state; `prev` itself when there is none."""
    table = prev.get(section) if isinstance(prev, Mapping) else None
    if not isinstance(table, Mapping) or org_id not in table:
        return prev
    rest = {k: v for k, v in table.items() if k != org_id}
    if rest:
        return {**prev, section: rest}
    return {k: v for k, v in prev.items() if k != section}
