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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ._grant import is_valid_org_id

__all__ = [
    "after_failure",
    "after_success",
    "backoff_delay_ms",
    "backoff_section",
    "failure_count",
    "retry_wait_ms",
]

_FAILURES: Final = "failures"
_RETRY_AT: Final = "retry_at"
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


def _state(config: Mapping[str, object], section: str, org_id: str) -> tuple[int, int] | None:
    table = config.get(section) if isinstance(config, Mapping) else None
    raw = table.get(org_id) if isinstance(table, Mapping) else None
    if not isinstance(raw, Mapping):
        return None
    count, retry_at = raw.get(_FAILURES), raw.get(_RETRY_AT)
    if type(count) is not int or type(retry_at) is not int or count < 1:
        return None
    return count, retry_at


def failure_count(config: Mapping[str, object], section: str, org_id: str) -> int:
    """Consecutive failed fetches recorded for `org_id` (0 when none or malformed)."""
    state = _state(config, section, org_id)
    return 0 if state is None else state[0]


def retry_wait_ms(
    config: Mapping[str, object], section: str, org_id: str, now_ms: int, cap_ms: int
) -> int:
    """How long a refresh of `org_id` must still wait at `now_ms`; 0 when it may go.

    A ``retry_at`` more than `cap_ms` ahead of now is not trusted (see the module notes).
    """
    state = _state(config, section, org_id)
    if state is None:
        return 0
    wait = state[1] - now_ms
    return wait if 0 < wait <= cap_ms else 0


def after_failure(
    prev: Mapping[str, object],
    section: str,
    org_id: str,
    now_ms: int,
    base_ms: int,
    cap_ms: int,
) -> Mapping[str, object]:
    """The config after one more failed fetch of `org_id` at `now_ms`.

    `prev` itself for an invalid org id or when backoff is off (a zero base or cap).
    Other keys and other orgs' states are carried over untouched.
    """
    if not is_valid_org_id(org_id) or backoff_delay_ms(1, base_ms, cap_ms) == 0:
        return prev
    count = min(failure_count(prev, section, org_id) + 1, _MAX_COUNT)
    state = {_FAILURES: count, _RETRY_AT: now_ms + backoff_delay_ms(count, base_ms, cap_ms)}
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
