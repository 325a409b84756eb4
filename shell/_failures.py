"""Backing off after failed fetches: the state kept in the store, and in this process.

Each short-lived process starts with no memory, so after a failed fetch the org's backoff
state (consecutive failures, the moment of the next try) is written beside the cache, in
the lookup's ``<cache key>Backoff`` section, by the core's pure reducers. A store that
cannot record it (a read-only file, a Redis that just went down) still must not be hit
on every call, so this process then remembers the next try itself.

Failures are recorded against the fetch's target (an HTTP lookup's base URL), so a
corrected backend URL is tried at once; ``refresh(force=True)`` passes the backoff.
"""

from __future__ import annotations

import _thread
from typing import Final, TypeVar

from overage_credit_grant.core import (
    after_failure,
    backoff_delay_ms,
    failure_count,
    retry_wait_ms,
)

from ._outcomes import RefreshOutcome, RefreshStatus
from ._settings import Settings, now_ms
from ._spec import LookupSpec, backoff_of, sections_of
from ._store.port import Config, Store, UpdateStatus

__all__ = ["backing_off", "forget_failures", "record_failure", "wait_ms"]

T = TypeVar("T")

_REMEMBERED_LIMIT: Final = 1024

# Own table, not a memo: a backoff the store could not keep; forgetting it early would let
# a failing backend be hit again at once.
_remembered: dict[tuple[str, str, str, str | None], int] = {}
_remembered_lock = _thread.allocate_lock()


def wait_ms(lookup: LookupSpec[T], s: Settings, store: Store, config: Config, org: str) -> int:
    """How long this org's refreshes (aimed where the settings point) must still wait after
    failures; 0: go."""
    now, target = now_ms(s, store), lookup.fetcher.target(s)
    stored = retry_wait_ms(config, backoff_of(lookup), org, now, s.backoff_cap_ms, target)
    with _remembered_lock:
        remembered = _remembered.get(_key(lookup, store, org, target), now) - now
    return max(stored, remembered if 0 < remembered <= s.backoff_cap_ms else 0)


def _key(
    lookup: LookupSpec[T], store: Store, org: str, target: str | None
) -> tuple[str, str, str, str | None]:
    return (store.key, lookup.cache.key, org, target)


def backing_off(
    lookup: LookupSpec[T], s: Settings, config: Config, org: str, wait: int
) -> RefreshOutcome[T]:
    """The outcome of a refresh that waits `wait` ms more."""
    target = lookup.fetcher.target(s)
    failures = failure_count(config, backoff_of(lookup), org, target) or 1
    against = f" against {target}" if target else ""
    return RefreshOutcome(
        RefreshStatus.BACKING_OFF,
        f"{failures} failed fetch(es) in a row{against}; next try in {(wait + 999) // 1000}s",
    )


def record_failure(
    lookup: LookupSpec[T], s: Settings, store: Store, config: Config, org: str
) -> None:
    """Count one more failure in the store (one write per backoff period), or here."""
    section, target = backoff_of(lookup), lookup.fetcher.target(s)
    result = store.update(
        lambda prev: after_failure(
            prev, section, org, now_ms(s, store), s.backoff_base_ms, s.backoff_cap_ms, target
        ),
        org,
        sections_of(lookup),
    )
    if result.status in (UpdateStatus.WRITTEN, UpdateStatus.UNCHANGED):
        return
    failures = failure_count(config, section, org, target) + 1  # the store could not: we do
    delay = backoff_delay_ms(failures, s.backoff_base_ms, s.backoff_cap_ms)
    with _remembered_lock:
        if len(_remembered) >= _REMEMBERED_LIMIT:
            _remembered.clear()
        _remembered[_key(lookup, store, org, target)] = now_ms(s, store) + delay


def forget_failures(lookup: LookupSpec[T], store: Store, org: str) -> None:
    """A success: this process forgets what it remembered of the org, whatever the target
    (the store's state is cleared in the same write as the new entry)."""
    head = (store.key, lookup.cache.key, org)
    with _remembered_lock:
        for key in [key for key in _remembered if key[:3] == head]:
            del _remembered[key]
