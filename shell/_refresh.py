"""Refreshing and invalidating: the write path, loaded on first use.

Theory of operation
-------------------
A refresh goes through four gates before it sends a request, cheapest first: the
privacy switch, the account (org, config path), the per-org backoff after failures,
then the credentials, the base URL and a readable config. Then:

* one fetch per (store, org) at a time **in this process**: concurrent callers join
  the leader's `Future` and share its outcome;
* one fetch per (store, org) at a time **across processes**: a non-blocking lease;
  a caller that finds it held skips, and so does one that finds the entry was stamped
  after its own call began (someone fetched while it was on its way);
* the write goes through `store.update`, whose reducer reads the clock under the lock,
  so the stored timestamp is the moment of the write.

Nothing here raises for network, payload, lock, config or settings trouble: every
path ends in a `RefreshOutcome` / `InvalidateOutcome`. An unexpected exception (a bug)
is logged and reported as `INTERNAL_ERROR`. The token never reaches a log or an outcome.
"""

from __future__ import annotations

import _thread
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from returns.result import Failure, Result, Success

from overage_credit_grant.core import (
    GRANT_CACHE,
    GrantInfo,
    after_invalidate,
    after_refresh,
    backoff_delay_ms,
    is_essential_traffic_only,
    is_valid_org_id,
)

from ._log import logger
from ._outcomes import InvalidateOutcome, InvalidateStatus, RefreshOutcome, RefreshStatus
from ._port import (
    LeaseStatus,
    Store,
    StoreError,
    StoreErrorKind,
    UpdateResult,
    UpdateStatus,
)
from ._service import _PROTECTED, _config_is_protected, store_for
from ._settings import Settings, raw_organization, resolve_token

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = [
    "invalidate_overage_credit_grant_cache",
    "refresh_overage_credit_grant_cache",
    "start_refresh",
]

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
_INVALIDATE_FROM_STORE_ERROR: Final = {
    StoreErrorKind.UNREADABLE: InvalidateStatus.CONFIG_UNREADABLE,
    StoreErrorKind.UNAVAILABLE: InvalidateStatus.STORE_UNAVAILABLE,
}
_INVALIDATE_FROM_UPDATE: Final = {
    UpdateStatus.WRITTEN: InvalidateStatus.REMOVED,
    UpdateStatus.UNCHANGED: InvalidateStatus.NOTHING_TO_REMOVE,
    UpdateStatus.LOCK_TIMEOUT: InvalidateStatus.LOCK_TIMEOUT,
    UpdateStatus.UNREADABLE: InvalidateStatus.CONFIG_UNREADABLE,
    UpdateStatus.WRITE_FAILED: InvalidateStatus.WRITE_FAILED,
    UpdateStatus.UNAVAILABLE: InvalidateStatus.STORE_UNAVAILABLE,
}


# -- invalidating ----------------------------------------------------------------------


def invalidate_overage_credit_grant_cache(settings: Settings | None = None) -> InvalidateOutcome:
    """Drop the current org's entry; no lock and no write when there is none. Never raises."""
    try:
        return _invalidate(settings if settings is not None else Settings.from_env())
    except Exception as exc:
        logger().exception("invalidating the overage credit grant cache failed")
        return InvalidateOutcome(InvalidateStatus.INTERNAL_ERROR, type(exc).__name__)


def _invalidate(s: Settings) -> InvalidateOutcome:
    raw = raw_organization(s)
    if raw is None:
        return InvalidateOutcome(InvalidateStatus.NO_ORGANIZATION, "no organization configured")
    if not is_valid_org_id(raw):
        return InvalidateOutcome(
            InvalidateStatus.NO_ORGANIZATION, "configured organization id is not a UUID"
        )
    if _config_is_protected(s):
        return InvalidateOutcome(InvalidateStatus.REFUSED_UNSAFE_CONFIG, _PROTECTED)
    store = store_for(s)
    match store.read_checked(raw):
        case Success(config):
            if after_invalidate(config, raw) is config:
                return InvalidateOutcome(InvalidateStatus.NOTHING_TO_REMOVE)
        case failure:
            error: StoreError = failure.failure()
            return InvalidateOutcome(_INVALIDATE_FROM_STORE_ERROR[error.kind], error.detail)
    result = store.update(lambda prev: after_invalidate(prev, raw), raw)
    return InvalidateOutcome(_INVALIDATE_FROM_UPDATE[result.status], result.detail)


# -- refreshing ------------------------------------------------------------------------


@dataclass(slots=True)
class _Failures:
    count: int
    retry_at_ms: int


_state_lock = _thread.allocate_lock()
_flights: dict[tuple[str, str], Future[RefreshOutcome]] = {}
_failures: dict[tuple[str, str], _Failures] = {}


def refresh_overage_credit_grant_cache(settings: Settings | None = None) -> RefreshOutcome:
    """Fetch the current org's grant and store it; the outcome says what happened.

    Joins a refresh of the same org already running in this process. Never raises.
    """
    try:
        s = settings if settings is not None else Settings.from_env()
        match _preflight(s):
            case Success((store, org)):
                started = s.clock()
                future, leader = _join_or_lead((store.key, org))
                if leader:
                    _lead(
                        (store.key, org), future, lambda: _fetch_and_store(s, store, org, started)
                    )
                return future.result()
            case failure:
                return failure.failure()
    except Exception as exc:
        logger().exception("refreshing the overage credit grant failed")
        return RefreshOutcome(RefreshStatus.INTERNAL_ERROR, type(exc).__name__)


def start_refresh(settings: Settings | None = None) -> Future[RefreshOutcome]:
    """Fire and forget: refresh on a daemon thread, joining one already in flight.

    Returns at once; the future never raises, it holds a `RefreshOutcome`.
    """
    try:
        s = settings if settings is not None else Settings.from_env()
        match _preflight(s):
            case Success((store, org)):
                started = s.clock()
                key = (store.key, org)
                future, leader = _join_or_lead(key)
                if leader:
                    import threading  # noqa: PLC0415

                    threading.Thread(
                        target=_lead,
                        args=(key, future, lambda: _fetch_and_store(s, store, org, started)),
                        name="overage-grant-refresh",
                        daemon=True,
                    ).start()
                return future
            case failure:
                return _done(failure.failure())
    except Exception as exc:
        logger().exception("starting an overage credit grant refresh failed")
        return _done(RefreshOutcome(RefreshStatus.INTERNAL_ERROR, type(exc).__name__))


def _done(outcome: RefreshOutcome) -> Future[RefreshOutcome]:
    from concurrent.futures import Future  # noqa: PLC0415  (readers never pay for it)

    future: Future[RefreshOutcome] = Future()
    future.set_result(outcome)
    return future


def _preflight(s: Settings) -> Result[tuple[Store, str], RefreshOutcome]:
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
    if _config_is_protected(s):
        return Failure(RefreshOutcome(RefreshStatus.REFUSED_UNSAFE_CONFIG, _PROTECTED))
    return Success((store_for(s), raw))


def _join_or_lead(key: tuple[str, str]) -> tuple[Future[RefreshOutcome], bool]:
    with _state_lock:
        running = _flights.get(key)
        if running is not None:
            return running, False
        from concurrent.futures import Future  # noqa: PLC0415

        future: Future[RefreshOutcome] = Future()
        _flights[key] = future
        return future, True


def _lead(
    key: tuple[str, str], future: Future[RefreshOutcome], work: Callable[[], RefreshOutcome]
) -> None:
    try:
        outcome = work()
    except Exception as exc:
        logger().exception("refreshing the overage credit grant failed")
        outcome = RefreshOutcome(RefreshStatus.INTERNAL_ERROR, type(exc).__name__)
    finally:
        with _state_lock:
            _flights.pop(key, None)
    future.set_result(outcome)


def _backing_off(key: tuple[str, str], now_ms: int) -> RefreshOutcome | None:
    with _state_lock:
        failures = _failures.get(key)
    if failures is None or now_ms >= failures.retry_at_ms:
        return None
    wait_s = (failures.retry_at_ms - now_ms + 999) // 1000
    return RefreshOutcome(
        RefreshStatus.BACKING_OFF,
        f"{failures.count} failed fetch(es) in a row; next try in {wait_s}s",
    )


def _record_failure(s: Settings, key: tuple[str, str], now_ms: int) -> None:
    with _state_lock:
        count = _failures[key].count + 1 if key in _failures else 1
        delay = backoff_delay_ms(count, s.backoff_base_ms, s.backoff_cap_ms)
        _failures[key] = _Failures(count, now_ms + delay)


def _record_success(key: tuple[str, str]) -> None:
    with _state_lock:
        _failures.pop(key, None)


def _fetch_and_store(s: Settings, store: Store, org: str, started_ms: int) -> RefreshOutcome:
    from ._http import FetchErrorKind, check_base_url, fetch_grant  # noqa: PLC0415

    key = (store.key, org)
    now = s.clock()
    backing_off = _backing_off(key, now)
    if backing_off is not None:
        return backing_off
    token = resolve_token(s, now)
    if token is None:
        return RefreshOutcome(RefreshStatus.SKIPPED_NO_CREDENTIALS, "no usable OAuth token")
    if isinstance(base := check_base_url(s.base_url), Failure):
        return RefreshOutcome(RefreshStatus.REFUSED_INSECURE_URL, base.failure())
    if isinstance(readable := store.read_checked(org), Failure):
        unusable: StoreError = readable.failure()
        return RefreshOutcome(_REFRESH_FROM_STORE_ERROR[unusable.kind], unusable.detail)
    with store.lease(org) as lease:
        if lease is LeaseStatus.BUSY:
            return RefreshOutcome(
                RefreshStatus.SKIPPED_IN_FLIGHT, "another process is fetching this grant"
            )
        if lease is LeaseStatus.FAILED:
            return RefreshOutcome(RefreshStatus.WRITE_FAILED, "cannot take the refresh lease")
        if lease is LeaseStatus.UNAVAILABLE:
            return RefreshOutcome(RefreshStatus.STORE_UNAVAILABLE, "store unavailable")
        if _stamped_since(store, org, started_ms, s.clock()):
            return RefreshOutcome(
                RefreshStatus.SKIPPED_IN_FLIGHT, "another process refreshed this grant just now"
            )
        fetched = fetch_grant(
            base.unwrap(),
            org,
            token,
            session=s.session,
            connect_timeout_s=s.connect_timeout_s,
            read_timeout_s=s.read_timeout_s,
            total_timeout_s=s.total_timeout_s,
            max_bytes=s.max_response_bytes,
        )
        match fetched:
            case Success(info):
                _record_success(key)
                result = store.update(lambda prev: after_refresh(prev, org, info, s.clock()), org)
                return _refresh_outcome(result, info)
            case _:
                error = fetched.failure()
                if error.kind is FetchErrorKind.BAD_TOKEN:
                    return RefreshOutcome(RefreshStatus.SKIPPED_NO_CREDENTIALS, error.detail)
                _record_failure(s, key, s.clock())
                logger().warning("overage credit grant fetch for %s failed: %s", org, error.detail)
                return RefreshOutcome(
                    _FETCH_STATUS[error.kind.value], error.detail, http_status=error.http_status
                )


_FETCH_STATUS: Final = {
    "http": RefreshStatus.FETCH_FAILED_HTTP,
    "network": RefreshStatus.FETCH_FAILED_NETWORK,
    "timeout": RefreshStatus.FETCH_FAILED_TIMEOUT,
    "payload": RefreshStatus.FETCH_FAILED_PAYLOAD,
    "invalid_org": RefreshStatus.REFUSED_INVALID_ORG,
    "insecure_url": RefreshStatus.REFUSED_INSECURE_URL,
}


def _stamped_since(store: Store, org: str, started_ms: int, now_ms: int) -> bool:
    """Whether another caller stored this org's entry after our call began (and not later
    than now: a future stamp from a skewed clock must not silence us forever)."""
    stamp = GRANT_CACHE.entry(store.read(org), org).map(lambda e: e.timestamp_ms).value_or(None)
    return stamp is not None and started_ms < stamp <= now_ms


def _refresh_outcome(result: UpdateResult, info: GrantInfo) -> RefreshOutcome:
    return RefreshOutcome(_REFRESH_FROM_UPDATE[result.status], result.detail, info=info)
