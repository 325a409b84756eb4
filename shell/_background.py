"""Refreshing in a detached process: for callers that must return at once and then exit.

A status line is a new process on every render; it cannot wait for a fetch, and a
thread would die with it. `refresh_detached` starts ``python -m
overage_credit_grant.shell._background MODULE:LOOKUP`` in a new session, with no
stdin, stdout or stderr of the caller's (so whoever reads the caller's pipes, Claude
Code, never waits for it) and the settings passed through its environment.

It first asks what it can without a lock or the network, and starts nothing when the
refresh would be pointless: the privacy switch is set, no organization is configured,
the store cannot be read, the org is backing off after failures (the state kept in the
store), or another process already holds the org's fetch lease. On a store that can
hand a lease over (Redis: `HandsOverLeases`), the caller takes the lease itself and the
child adopts it, so however many callers race, one child starts; on the file store the
child takes the lease, so even two racing starts fetch once. The child stops itself
after a hard deadline.

Settings cross the process boundary as the environment variables `Settings.from_env`
reads (config path, base URL, organization, Redis URL); an injected clock, session or
store object does not, and the child uses the defaults for those.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Final

from returns.result import Failure

from overage_credit_grant.core import retry_wait_ms

from ._places import BASE_URL_ENV, CONFIG_ENV, ORG_ENV, REDIS_URL_ENV, TOKEN_ENV
from ._settings import Settings, now_ms
from ._spec import LookupSpec, backoff_of, sections_of
from ._store.port import HandsOverLeases, LeaseStatus, Store

__all__ = ["main", "refresh_detached"]

_GRACE_S: Final = 15
LEASE_ENV: Final = "OVERAGE_GRANT_HANDED_LEASE"  # the owner id of a lease taken for the child
MISSED_ENV: Final = "OVERAGE_GRANT_MISSED_AT"  # when the caller's read found nothing fresh


def refresh_detached(lookup: LookupSpec[Any], ref: str, s: Settings) -> str:
    """Start a detached refresh of `lookup` (importable as `ref`, ``module:name``) unless it
    would be pointless. Says what happened: ``started``; the status of a refresh's own
    preflight that stops it (``skipped_essential_traffic``, ``skipped_no_organization``,
    ``refused_invalid_org``, ``refused_unsafe_config``); ``store_trouble``,
    ``backing_off``, ``in_flight`` or ``failed``."""
    from ._refresh import preflight  # noqa: PLC0415  (the refresh's own first gates)

    checked = preflight(s)
    if isinstance(checked, Failure):
        return str(checked.failure().status.value)
    store, org = checked.unwrap()
    readable = store.read_checked(org, sections_of(lookup))
    if isinstance(readable, Failure):  # a FIFO at the path, a Redis that is down: not now
        return "store_trouble"
    config = readable.unwrap()
    target = lookup.fetcher.target(s)  # a failure against another backend does not count
    now = now_ms(s, store)
    if retry_wait_ms(config, backoff_of(lookup), org, now, s.backoff_cap_ms, target) > 0:
        return "backing_off"
    env = {**os.environ, **s.env, CONFIG_ENV: os.path.abspath(s.config_path)}
    env[MISSED_ENV] = str(now)
    handed = None
    if s.redis_url and isinstance(store, HandsOverLeases):  # the child's store: take its lease
        status, owner = store.hand_over_lease(org, lookup.cache.key)
        if status is not LeaseStatus.ACQUIRED:
            return "in_flight" if status is LeaseStatus.BUSY else "store_trouble"
        handed, env[LEASE_ENV] = owner, owner
    elif s.store is None and not s.redis_url and _lease_busy(store, org, lookup.cache.key):
        return "in_flight"  # the file store's lease costs nothing to ask
    env[BASE_URL_ENV] = s.base_url
    if s.organization:
        env[ORG_ENV] = s.organization
    if s.redis_url:
        env[REDIS_URL_ENV] = s.redis_url
    if s.token:
        env[TOKEN_ENV] = s.token  # the environment, never the command line
    import subprocess  # noqa: PLC0415  (only when a refresh is started)

    try:
        subprocess.Popen(
            [sys.executable, "-m", __name__, ref],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
            env=env,
        )
    except OSError:
        if handed is not None:
            store.give_back_lease(org, lookup.cache.key, handed)  # type: ignore[attr-defined]
        return "failed"
    return "started"


def _take_over(lookup: LookupSpec[Any], s: Settings) -> None:
    """What the starter handed over: the lease it took for us, the moment its read
    found nothing (so what another process stores after it is not fetched again)."""
    from ._read import note_miss  # noqa: PLC0415
    from ._refresh import preflight  # noqa: PLC0415

    checked = preflight(s)
    if isinstance(checked, Failure):
        return  # the refresh will say why itself
    store, org = checked.unwrap()
    missed = os.environ.get(MISSED_ENV, "")
    if missed.isdigit():
        note_miss(store, lookup.cache, org, int(missed))
    owner = os.environ.get(LEASE_ENV)
    if owner and isinstance(store, HandsOverLeases):
        store.adopt_lease(org, lookup.cache.key, owner)


def _lease_busy(store: Store, org: str, section: str) -> bool:
    with store.lease(org, section) as lease:
        return bool(lease is LeaseStatus.BUSY)


def main(argv: list[str]) -> int:
    """The detached child: refresh the lookup named by ``argv[0]`` and exit."""
    import importlib  # noqa: PLC0415
    import signal  # noqa: PLC0415

    from ._log import quiet  # noqa: PLC0415

    quiet()
    module, _, name = (argv[0] if argv else "").partition(":")
    lookup = getattr(importlib.import_module(module), name)
    s = Settings.from_env(redis_near_cache=False)  # one refresh: no listener worth starting
    _take_over(lookup, s)
    # A hard stop: whatever happens, this process does not outlive its own deadlines.
    signal.alarm(int(s.total_timeout_s + s.lock_timeout_s) + _GRACE_S)
    lookup.refresh(s)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
