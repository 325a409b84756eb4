"""The backoff after failed fetches, as the command line shows it (status, show, refresh,
invalidate): how many failures, against which backend, and when the next try may go."""

from __future__ import annotations

from collections.abc import Mapping

from overage_credit_grant.core import BackoffState, backoff_states

from .._grant import GRANT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._settings import Settings
    from .._store.port import Store

__all__ = ["FORCE_HINT", "as_json", "describe", "org_backoff", "store_backoffs"]

FORCE_HINT = "overage-grant refresh --force tries now"


def store_backoffs(config: Mapping[str, object]) -> tuple[BackoffState, ...]:
    """Every org's backoff state in a config read from the store."""
    return backoff_states(config, GRANT.backoff_section)


def org_backoff(s: Settings, store: Store, org: str) -> BackoffState | None:
    """The org's backoff state, if a failure is recorded."""
    config = store.read(org, (GRANT.cache.key, GRANT.backoff_section))
    found = [state for state in store_backoffs(config) if state.org_id == org]
    return found[0] if found else None


def _wait_s(state: BackoffState, s: Settings) -> int:
    from .._settings import now_ms  # noqa: PLC0415  (the store's clock stamped it)
    from .._store_choice import store_for  # noqa: PLC0415

    wait = state.retry_at_ms - now_ms(s, store_for(s))
    return (wait + 999) // 1000 if 0 < wait <= s.backoff_cap_ms else 0


def describe(state: BackoffState, s: Settings) -> str:
    """``3 failed fetch(es) against https://..., next try in 57s`` (or ``may try now``)."""
    against = f" against {state.target}" if state.target else ""
    wait = _wait_s(state, s)
    when = f"next try in {wait}s" if wait else "may try now"
    return f"{state.failures} failed fetch(es) in a row{against}, {when}"


def as_json(state: BackoffState, s: Settings) -> dict[str, object]:
    return {
        "organization": state.org_id,
        "failures": state.failures,
        "target": state.target,
        "retry_at": state.retry_at_ms,
        "retry_in_s": _wait_s(state, s),
    }
