"""Invalidating any per-org lookup: dropping the current org's entry, and only it.

The check is lock-free first: when the entry is not there, nothing is locked or written.
Otherwise the store's update re-reads under its lock and the pure reducer drops the org's
entry, carrying every other key and every other org's entry over untouched. Never raises
for lock, config or store trouble: the outcome says what happened.
"""

from __future__ import annotations

from typing import Final, TypeVar

from returns.result import Success

from overage_credit_grant.core import is_valid_org_id

from ._account import no_organization, raw_organization
from ._outcomes import InvalidateOutcome, InvalidateStatus
from ._settings import Settings
from ._spec import LookupSpec
from ._store.port import StoreError, StoreErrorKind, UpdateStatus
from ._store_choice import PROTECTED, config_is_protected, store_for

__all__ = ["invalidate"]

T = TypeVar("T")

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


def invalidate(lookup: LookupSpec[T], s: Settings) -> InvalidateOutcome:
    """Drop the current org's entry; no lock and no write when there is none."""
    raw = raw_organization(s)
    if raw is None:
        return InvalidateOutcome(InvalidateStatus.NO_ORGANIZATION, no_organization(s))
    if not is_valid_org_id(raw):
        return InvalidateOutcome(
            InvalidateStatus.REFUSED_INVALID_ORG, "configured organization id is not a UUID"
        )
    if config_is_protected(s):
        return InvalidateOutcome(InvalidateStatus.REFUSED_UNSAFE_CONFIG, PROTECTED)
    store, cache = store_for(s), lookup.cache
    match store.read_checked(raw, (cache.key,)):
        case Success(config):
            if cache.after_invalidate(config, raw) is config:
                return InvalidateOutcome(InvalidateStatus.NOTHING_TO_REMOVE)
        case failure:
            error: StoreError = failure.failure()
            return InvalidateOutcome(_INVALIDATE_FROM_STORE_ERROR[error.kind], error.detail)
    result = store.update(lambda prev: cache.after_invalidate(prev, raw), raw, (cache.key,))
    return InvalidateOutcome(_INVALIDATE_FROM_UPDATE[result.status], result.detail)
