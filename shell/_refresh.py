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
  (someone fetched while it was on its way). A refresh that follows, within
  `AFTER_A_MISS_MS`, a read in this process that found nothing (`missed_at`; a
  status line's background refresh is handed its render's) also skips an entry stamped
  after that read, or up to `MISSED_BY_MS` before it: the app that calls ``refresh()``
  because ``get()`` found nothing gains nothing from a second request when another
  host has just fetched (the read may even have missed that host's write by a moment).
  Each miss serves one refresh; ``force`` waives the rule;
* the write goes through `store.update`, whose reducer reads the clock under the lock,
  so the stored timestamp is the moment of the write. A success also clears the org's
  backoff state in the same write; a failure records it (one write per backoff period).

Nothing here raises for network, payload, lock, config or settings trouble: every
path ends in a `RefreshOutcome` / `InvalidateOutcome`. An unexpected exception (a bug)
is logged and reported as `INTERNAL_ERROR`. The token never reaches a log or an outcome.
Invalidating is `_invalidate`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from returns.result import Failure, Result, Success

from overage_credit_grant.core import (
    ESSENTIAL_TRAFFIC_ENV,
    after_success,
    is_essential_traffic_only,
    is_valid_org_id,
)
from overage_credit_grant.core._record import Record

from ._account import no_organization, no_token, raw_organization, resolve_token
from ._failures import backing_off, forget_failures, record_failure, wait_ms
from ._fetch import FetchRequest, fetch_value
from ._flight import done, join_or_lead, lead
from ._log import logger
from ._outcomes import (
    FetchError,
    FetchErrorKind,
    RefreshOutcome,
    RefreshStatus,
)
from ._read import Found, missed_at, newest_fresh
from ._settings import Settings, now_ms
from ._spec import LookupSpec, backoff_of, sections_of
from ._store.port import Config, LeaseStatus, Store, StoreError, StoreErrorKind, UpdateStatus
from ._store_choice import PROTECTED, config_is_protected, store_for

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = ["preflight", "refresh", "start_refresh"]

T = TypeVar("T")

AFTER_A_MISS_MS: Final = 10_000
MISSED_BY_MS: Final = 1000

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
    FetchErrorKind.MALFORMED_URL: RefreshStatus.REFUSED_MALFORMED_URL,
    FetchErrorKind.BAD_TOKEN: RefreshStatus.SKIPPED_NO_CREDENTIALS,
}
_NOT_FAILURES: Final = frozenset(
    {
        FetchErrorKind.BAD_TOKEN,
        FetchErrorKind.INVALID_ORG,
        FetchErrorKind.INSECURE_URL,
        FetchErrorKind.MALFORMED_URL,
    }
)


# -- refreshing ------------------------------------------------------------------------


class Flight(Record, Generic[T]):
    """A caller's part in the flight of one (store, lookup, org): the shared `future`, and
    for the leader alone the `work` to run (`lead` hands its result to every caller).

    A refresh that a check stopped before any flight gets a future already done."""

    key: Hashable
    future: Future[RefreshOutcome[T]]
    work: Callable[[], RefreshOutcome[T]] | None = None


def refresh(lookup: LookupSpec[T], s: Settings, force: bool = False) -> RefreshOutcome[T]:
    """Fetch the current org's value and store it, joining a flight already running.
    `force` passes the backoff after failures (single flight and the lease still hold)."""
    flight = _join(lookup, s, force)
    if flight.work is not None:
        lead(flight.key, flight.future, flight.work, _crash)
    return flight.future.result()


def start_refresh(
    lookup: LookupSpec[T], s: Settings, force: bool = False
) -> Future[RefreshOutcome[T]]:
    """Refresh on a daemon thread, joining a flight already running; returns at once."""
    flight = _join(lookup, s, force)
    if flight.work is not None:
        import threading  # noqa: PLC0415

        threading.Thread(
            target=lead,
            args=(flight.key, flight.future, flight.work, _crash),
            name=f"refresh {lookup.name}",
            daemon=True,
        ).start()
    return flight.future


def _join(lookup: LookupSpec[T], s: Settings, force: bool) -> Flight[T]:
    """This caller's part in the flight of (store, lookup, org); a forced refresh has
    flights of its own (it must not end as a flight that stopped to back off)."""
    checked: Result[tuple[Store, str], RefreshOutcome[T]] = preflight(s)
    if isinstance(checked, Failure):
        return Flight(None, done(checked.failure()))
    store, org = checked.unwrap()
    key = (store.key, lookup.cache.key, org, force)
    future: Future[RefreshOutcome[T]]
    future, leader = join_or_lead(key)
    if not leader:
        return Flight(key, future)
    started = now_ms(s, store)
    return Flight(key, future, lambda: _fetch_and_store(lookup, s, store, org, started, force))


def _crash(name: str) -> RefreshOutcome[T]:
    return RefreshOutcome(RefreshStatus.INTERNAL_ERROR, name)


def preflight(s: Settings) -> Result[tuple[Store, str], RefreshOutcome[Any]]:
    """The checks that need no lock, no network and no token."""
    if is_essential_traffic_only(s.env):
        return Failure(
            RefreshOutcome(
                RefreshStatus.SKIPPED_ESSENTIAL_TRAFFIC,
                f"{ESSENTIAL_TRAFFIC_ENV} is set, so no request is sent",
            )
        )
    raw = raw_organization(s)
    if raw is None:
        return Failure(RefreshOutcome(RefreshStatus.SKIPPED_NO_ORGANIZATION, no_organization(s)))
    if not is_valid_org_id(raw):
        return Failure(
            RefreshOutcome(
                RefreshStatus.REFUSED_INVALID_ORG, "configured organization id is not a UUID"
            )
        )
    if config_is_protected(s):
        return Failure(RefreshOutcome(RefreshStatus.REFUSED_UNSAFE_CONFIG, PROTECTED))
    return Success((store_for(s), raw))


# -- the fetch ---------------------------------------------------------------------------


def _fetch_and_store(
    lookup: LookupSpec[T], s: Settings, store: Store, org: str, started_ms: int, force: bool
) -> RefreshOutcome[T]:
    readable = store.read_checked(org, sections_of(lookup))
    if isinstance(readable, Failure):
        error: StoreError = readable.failure()
        return RefreshOutcome(_REFRESH_FROM_STORE_ERROR[error.kind], error.detail)
    config = readable.unwrap()
    if lookup.claude_code:  # the config just read, and Claude Code's own cache
        ours = lookup.cache.entry(config, org).value_or(None)
        newest = newest_fresh(
            lookup.cache,
            True,
            s,
            org,
            None if ours is None else _as_found(ours.value, ours.timestamp_ms, store),
            now_ms(s, store),
        )
        if newest is not None and newest.source == "claude_code":
            return RefreshOutcome(
                RefreshStatus.FRESH_IN_CLAUDE_CODE,
                f"Claude Code's own cache holds a fresh {lookup.name}, "
                f"{max(0, s.clock() - newest.timestamp_ms) // 1000}s old; no request",
                newest.value,
            )
    wait = 0 if force else wait_ms(lookup, s, store, config, org)
    if wait:
        return backing_off(lookup, s, config, org, wait)
    token = None
    if lookup.needs_token:
        token = resolve_token(s, s.clock())
        if token is None:
            return RefreshOutcome(RefreshStatus.SKIPPED_NO_CREDENTIALS, no_token(s))
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
        quicker = _someone_was_quicker(lookup, s, store, org, started_ms, force)
        if quicker is not None:
            return quicker
        return _fetch(lookup, s, store, config, org, token)


def _as_found(value: T, timestamp_ms: int, store: Store) -> Found[T]:
    return Found(value, timestamp_ms, "cache", store.location)


def _someone_was_quicker(
    lookup: LookupSpec[T], s: Settings, store: Store, org: str, started_ms: int, force: bool
) -> RefreshOutcome[T] | None:
    """Whether, by the time we hold the lease, another caller has stored the entry or a
    failure since our call began (a stamp later than now, from a skewed clock, does not
    count: it must not silence us forever)."""
    config = store.read_checked(org, sections_of(lookup)).value_or({})
    now = now_ms(s, store)
    stamp = lookup.cache.entry(config, org).map(lambda e: e.timestamp_ms).value_or(None)
    since = started_ms
    missed = None if force else missed_at(store, lookup.cache, org)
    if missed is not None and started_ms - AFTER_A_MISS_MS <= missed <= started_ms:
        since = missed - MISSED_BY_MS  # stored after the caller found nothing: use it
    if stamp is not None and since < stamp <= now:
        return RefreshOutcome(
            RefreshStatus.SKIPPED_IN_FLIGHT,
            f"another process refreshed this {lookup.name} just now",
        )
    wait = 0 if force else wait_ms(lookup, s, store, config, org)
    return backing_off(lookup, s, config, org, wait) if wait else None


def _fetch(
    lookup: LookupSpec[T],
    s: Settings,
    store: Store,
    config: Config,
    org: str,
    token: str | None,
) -> RefreshOutcome[T]:
    cache, section = lookup.cache, backoff_of(lookup)
    request = FetchRequest(org, token, s, time.monotonic() + s.total_timeout_s)
    fetched = fetch_value(lookup.fetcher, cache, request, lookup.name)
    match fetched:
        case Success(value):
            forget_failures(lookup, store, org)
            result = store.update(
                lambda prev: after_success(
                    cache.after_refresh(prev, org, value, now_ms(s, store)), section, org
                ),
                org,
                sections_of(lookup),
            )
            return RefreshOutcome(_REFRESH_FROM_UPDATE[result.status], result.detail, value)
        case _:
            error: FetchError = fetched.failure()
            if error.kind not in _NOT_FAILURES:
                record_failure(lookup, s, store, config, org)
            logger().warning("%s fetch for %s failed: %s", lookup.name, org, error.detail)
            return RefreshOutcome(
                _FETCH_STATUS[error.kind], error.detail, http_status=error.http_status
            )
