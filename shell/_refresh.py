"""Refreshing any per-org lookup: the write path, loaded on first use.

Theory of operation
-------------------
A refresh goes through its gates before it sends a request, cheapest first: the
privacy switch, the account (org, config path), a readable store, a fresh entry in
Claude Code's own cache (for a lookup that shares it: then no request at all), the
backoff after failures (kept in the store, so it holds across processes), the
credentials and the fetch's own checks (a secure base URL). Then:

* one fetch per (store, lookup, org) at a time **in this process**: concurrent callers
  join the leader's `Future` and share its outcome (`_flight`);
* one fetch per (store, lookup, org) at a time **across processes**: a non-blocking
  lease; a caller that finds it held skips, and so does one that finds, once it holds
  the lease, that the entry was stamped or a failure recorded after its own call began
  (someone fetched while it was on its way);
* the write goes through `store.update`, whose reducer reads the clock under the lock,
  so the stored timestamp is the moment of the write. A success also clears the org's
  backoff state in the same write; a failure records it (one write per backoff period).

Nothing here raises for network, payload, lock, config or settings trouble: every
path ends in a `RefreshOutcome` / `InvalidateOutcome`. An unexpected exception (a bug)
is logged and reported as `INTERNAL_ERROR`. The token never reaches a log or an outcome.
Invalidating is `_invalidate`.
"""

from __future__ import annotations

import _thread
import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Final, TypeVar

from returns.result import Failure, Result, Success

from overage_credit_grant.core import (
    after_failure,
    after_success,
    backoff_delay_ms,
    failure_count,
    is_essential_traffic_only,
    is_valid_org_id,
    retry_wait_ms,
)

from ._fetch import FetchRequest, fetch_value
from ._flight import done, join_or_lead, lead
from ._log import logger
from ._outcomes import (
    FetchError,
    FetchErrorKind,
    RefreshOutcome,
    RefreshStatus,
)
from ._port import Config, LeaseStatus, Store, StoreError, StoreErrorKind, UpdateStatus
from ._read import PROTECTED, config_is_protected, newest_fresh, store_for
from ._settings import Settings, raw_organization, resolve_token

if TYPE_CHECKING:
    from concurrent.futures import Future

    from ._lookup import PerOrgLookup

__all__ = ["preflight", "refresh", "start_refresh"]

T = TypeVar("T")

_REFRESH_FROM_UPDATE: Final = {
    UpdateStatus.WRITTEN: RefreshStatus.WRITTEN,
    UpdateStatus.UNCHANGED: RefreshStatus.UNCHANGED,
    UpdateStatus.LOCK_TIMEOUT: RefreshStatus.LOCK_TIMEOUT,
    UpdateStatus.UNREADABLE: RefreshStatus.CONFIG_UNREADABLE,
    UpdateStatus.WRITE_FAILED: RefreshStatus.WRITE_FAILED,
    UpdateStatus.UNAVAILABLE: RefreshStatus.STORE_UNAVAILABLE,
}
_REFRESH_FROM_STORE_ERROR: Final = {
    StoreErrorKind.UNREADABLE: RefreshStatus.CONFIG_UNREADABLE,
    StoreErrorKind.UNAVAILABLE: RefreshStatus.STORE_UNAVAILABLE,
}
_FETCH_STATUS: Final = {
    FetchErrorKind.HTTP: RefreshStatus.FETCH_FAILED_HTTP,
    FetchErrorKind.NETWORK: RefreshStatus.FETCH_FAILED_NETWORK,
    FetchErrorKind.TIMEOUT: RefreshStatus.FETCH_FAILED_TIMEOUT,
    FetchErrorKind.PAYLOAD: RefreshStatus.FETCH_FAILED_PAYLOAD,
    FetchErrorKind.INVALID_ORG: RefreshStatus.REFUSED_INVALID_ORG,
    FetchErrorKind.INSECURE_URL: RefreshStatus.REFUSED_INSECURE_URL,
    FetchErrorKind.BAD_TOKEN: RefreshStatus.SKIPPED_NO_CREDENTIALS,
}
_NOT_FAILURES: Final = frozenset(
    {FetchErrorKind.BAD_TOKEN, FetchErrorKind.INVALID_ORG, FetchErrorKind.INSECURE_URL}
)


# -- refreshing ------------------------------------------------------------------------


def refresh(lookup: PerOrgLookup[T], s: Settings) -> RefreshOutcome[T]:
    """Fetch the current org's value and store it, joining a flight already running."""
    joined = _join(lookup, s)
    if isinstance(joined, RefreshOutcome):
        return joined
    key, future, work = joined
    if work is not None:
        lead(key, future, work, _crash)
    return future.result()


def start_refresh(lookup: PerOrgLookup[T], s: Settings) -> Future[RefreshOutcome[T]]:
    """Refresh on a daemon thread, joining a flight already running; returns at once."""
    joined = _join(lookup, s)
    if isinstance(joined, RefreshOutcome):
        return done(joined)
    key, future, work = joined
    if work is not None:
        import threading  # noqa: PLC0415

        threading.Thread(
            target=lead,
            args=(key, future, work, _crash),
            name=f"refresh {lookup.name}",
            daemon=True,
        ).start()
    return future


_Flight = tuple[Hashable, "Future[RefreshOutcome[T]]", "Callable[[], RefreshOutcome[T]] | None"]


def _join(lookup: PerOrgLookup[T], s: Settings) -> _Flight[T] | RefreshOutcome[T]:
    """The flight of this (store, lookup, org) and, for its leader, the work to run; or
    the outcome of a check that stopped it before any flight."""
    checked: Result[tuple[Store, str], RefreshOutcome[T]] = preflight(s)
    if isinstance(checked, Failure):
        skipped: RefreshOutcome[T] = checked.failure()
        return skipped
    store, org = checked.unwrap()
    key = (store.key, lookup.cache.key, org)
    future: Future[RefreshOutcome[T]]
    future, leader = join_or_lead(key)
    if not leader:
        return key, future, None
    started = s.clock()
    return key, future, lambda: _fetch_and_store(lookup, s, store, org, started)


def _crash(name: str) -> RefreshOutcome[T]:
    return RefreshOutcome(RefreshStatus.INTERNAL_ERROR, name)


def preflight(s: Settings) -> Result[tuple[Store, str], RefreshOutcome[Any]]:
    """The checks that need no lock, no network and no token."""
    if is_essential_traffic_only(s.env):
        return Failure(RefreshOutcome(RefreshStatus.SKIPPED_ESSENTIAL_TRAFFIC))
    raw = raw_organization(s)
    if raw is None:
        return Failure(
            RefreshOutcome(RefreshStatus.SKIPPED_NO_ORGANIZATION, "no organization configured")
        )
    if not is_valid_org_id(raw):
        return Failure(
            RefreshOutcome(
                RefreshStatus.REFUSED_INVALID_ORG, "configured organization id is not a UUID"
            )
        )
    if config_is_protected(s):
        return Failure(RefreshOutcome(RefreshStatus.REFUSED_UNSAFE_CONFIG, PROTECTED))
    return Success((store_for(s), raw))


# -- backoff, kept in the store (and in this process when the store cannot record it) --

_memory_lock = _thread.allocate_lock()
_remembered: dict[tuple[str, str, str], int] = {}


def _wait_ms(
    lookup: PerOrgLookup[T], s: Settings, store: Store, config: Config, org: str, now: int
) -> int:
    """How long this org's refreshes must still wait after failures; 0: go."""
    stored = retry_wait_ms(config, lookup.backoff_section, org, now, s.backoff_cap_ms)
    with _memory_lock:
        remembered = _remembered.get((store.key, lookup.cache.key, org), now) - now
    return max(stored, remembered if 0 < remembered <= s.backoff_cap_ms else 0)


def _backing_off(lookup: PerOrgLookup[T], config: Config, org: str, wait: int) -> RefreshOutcome[T]:
    failures = failure_count(config, lookup.backoff_section, org) or 1
    return RefreshOutcome(
        RefreshStatus.BACKING_OFF,
        f"{failures} failed fetch(es) in a row; next try in {(wait + 999) // 1000}s",
    )


def _record_failure(
    lookup: PerOrgLookup[T], s: Settings, store: Store, config: Config, org: str
) -> None:
    section = lookup.backoff_section
    result = store.update(
        lambda prev: after_failure(
            prev, section, org, s.clock(), s.backoff_base_ms, s.backoff_cap_ms
        ),
        org,
        lookup.sections,
    )
    if result.status in (UpdateStatus.WRITTEN, UpdateStatus.UNCHANGED):
        return
    failures = failure_count(config, section, org) + 1  # the store could not keep it: we do
    delay = backoff_delay_ms(failures, s.backoff_base_ms, s.backoff_cap_ms)
    with _memory_lock:
        if len(_remembered) >= 1024:
            _remembered.clear()
        _remembered[(store.key, lookup.cache.key, org)] = s.clock() + delay


def _forget_failures(lookup: PerOrgLookup[T], store: Store, org: str) -> None:
    with _memory_lock:
        _remembered.pop((store.key, lookup.cache.key, org), None)


# -- the fetch ---------------------------------------------------------------------------


def _fetch_and_store(
    lookup: PerOrgLookup[T], s: Settings, store: Store, org: str, started_ms: int
) -> RefreshOutcome[T]:
    readable = store.read_checked(org, lookup.sections)
    if isinstance(readable, Failure):
        error: StoreError = readable.failure()
        return RefreshOutcome(_REFRESH_FROM_STORE_ERROR[error.kind], error.detail)
    config = readable.unwrap()
    if lookup.claude_code:  # the config just read, and Claude Code's own cache
        ours = lookup.cache.entry(config, org).value_or(None)
        found = newest_fresh(lookup.cache, True, s, org, ours)
        if found is not None and found[1]:  # Claude Code's entry is the newest fresh one
            entry = found[0]
            return RefreshOutcome(
                RefreshStatus.FRESH_IN_CLAUDE_CODE,
                f"Claude Code's own cache holds a fresh {lookup.name}, "
                f"{max(0, s.clock() - entry.timestamp_ms) // 1000}s old; no request",
                entry.value,
            )
    wait = _wait_ms(lookup, s, store, config, org, s.clock())
    if wait:
        return _backing_off(lookup, config, org, wait)
    token = None
    if lookup.needs_token:
        token = resolve_token(s, s.clock())
        if token is None:
            return RefreshOutcome(RefreshStatus.SKIPPED_NO_CREDENTIALS, "no usable OAuth token")
    refusal = lookup.fetcher.refusal(s)
    if refusal is not None:
        return RefreshOutcome(_FETCH_STATUS[refusal.kind], refusal.detail)
    with store.lease(org, lookup.cache.key) as lease:
        if lease is LeaseStatus.BUSY:
            return RefreshOutcome(
                RefreshStatus.SKIPPED_IN_FLIGHT, f"another process is fetching this {lookup.name}"
            )
        if lease is LeaseStatus.FAILED:
            return RefreshOutcome(RefreshStatus.WRITE_FAILED, "cannot take the refresh lease")
        if lease is LeaseStatus.UNAVAILABLE:
            return RefreshOutcome(RefreshStatus.STORE_UNAVAILABLE, "store unavailable")
        quicker = _someone_was_quicker(lookup, s, store, org, started_ms)
        if quicker is not None:
            return quicker
        return _fetch(lookup, s, store, config, org, token)


def _someone_was_quicker(
    lookup: PerOrgLookup[T], s: Settings, store: Store, org: str, started_ms: int
) -> RefreshOutcome[T] | None:
    """Whether, by the time we hold the lease, another caller has stored the entry or a
    failure since our call began (a stamp later than now, from a skewed clock, does not
    count: it must not silence us forever)."""
    config = store.read(org, lookup.sections)
    now = s.clock()
    stamp = lookup.cache.entry(config, org).map(lambda e: e.timestamp_ms).value_or(None)
    if stamp is not None and started_ms < stamp <= now:
        return RefreshOutcome(
            RefreshStatus.SKIPPED_IN_FLIGHT,
            f"another process refreshed this {lookup.name} just now",
        )
    wait = _wait_ms(lookup, s, store, config, org, now)
    return _backing_off(lookup, config, org, wait) if wait else None


def _fetch(
    lookup: PerOrgLookup[T],
    s: Settings,
    store: Store,
    config: Config,
    org: str,
    token: str | None,
) -> RefreshOutcome[T]:
    cache, section = lookup.cache, lookup.backoff_section
    request = FetchRequest(org, token, s, time.monotonic() + s.total_timeout_s)
    fetched = fetch_value(lookup.fetcher, cache, request, lookup.name)
    match fetched:
        case Success(value):
            _forget_failures(lookup, store, org)
            result = store.update(
                lambda prev: after_success(
                    cache.after_refresh(prev, org, value, s.clock()), section, org
                ),
                org,
                lookup.sections,
            )
            return RefreshOutcome(_REFRESH_FROM_UPDATE[result.status], result.detail, value)
        case _:
            error: FetchError = fetched.failure()
            if error.kind not in _NOT_FAILURES:
                _record_failure(lookup, s, store, config, org)
            logger().warning("%s fetch for %s failed: %s", lookup.name, org, error.detail)
            return RefreshOutcome(
                _FETCH_STATUS[error.kind], error.detail, http_status=error.http_status
            )
