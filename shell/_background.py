"""Refreshing in a detached process: for callers that must return at once and then exit.

A status line is a new process on every render; it cannot wait for a fetch, and a
thread would die with it. `refresh_detached` starts ``python -m
overage_credit_grant.shell._background MODULE:LOOKUP`` in a new session, with no
stdin, stdout or stderr of the caller's (so whoever reads the caller's pipes, Claude
Code, never waits for it) and the settings passed through its environment.

It first asks what it can without a lock or the network, and starts nothing when the
refresh would be pointless: the privacy switch is set, no organization is configured,
the store cannot be read, the org is backing off after failures (the state kept in the
store), or, on the file store, another process already holds the org's fetch lease.
The child takes the lease itself, so even two racing starts fetch once; it stops
itself after a hard deadline.

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
from ._settings import Settings
from ._spec import LookupSpec, backoff_of, sections_of
from ._store.port import LeaseStatus, Store

__all__ = ["main", "refresh_detached"]

_GRACE_S: Final = 15


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
    if retry_wait_ms(config, backoff_of(lookup), org, s.clock(), s.backoff_cap_ms, target) > 0:
        return "backing_off"
    if s.store is None and not s.redis_url and _lease_busy(store, org, lookup.cache.key):
        return "in_flight"  # the file store's lease costs nothing to ask
    env = {**os.environ, **s.env, CONFIG_ENV: os.path.abspath(s.config_path)}
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
        return "failed"
    return "started"


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
    s = Settings.from_env()
    # A hard stop: whatever happens, this process does not outlive its own deadlines.
    signal.alarm(int(s.total_timeout_s + s.lock_timeout_s) + _GRACE_S)
    lookup.refresh(s)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
