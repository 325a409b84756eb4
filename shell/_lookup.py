"""`PerOrgLookup`: any per-organization value, cached, shared and refreshed safely.

A lookup is a value: a `PerOrgCache` (where and how the value is stored, its TTL and
equality) and a fetch (where it comes from). Give it to the shell and it gets all of
the machinery, written once: the lock-free read, single-flight in and across
processes, the lease, backoff kept beside the cache, the privacy switch, token
handling, the hardened HTTP client, the crash-safe file store and the Redis store.

    SEATS = PerOrgLookup(SEATS_CACHE, path="/api/oauth/organizations/{org}/seats")
    SEATS.get()          # the fresh cached value or None: lock-free, no network
    SEATS.refresh()      # fetch and store; a RefreshOutcome, never an exception
    await SEATS.arefresh()

Every method takes an optional `Settings` (default `Settings.from_env()`) and none
raises for network, payload, lock, config or settings trouble.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from overage_credit_grant.core import PerOrgCache, backoff_section

from ._fetch import CallableFetch, Fetcher, FetchRequest, HttpFetch
from ._read import Found, find
from ._settings import Settings

if TYPE_CHECKING:
    from concurrent.futures import Future

    from ._outcomes import InvalidateOutcome, RefreshOutcome

__all__ = ["PerOrgLookup"]

T = TypeVar("T")


class PerOrgLookup(Generic[T]):
    """One kind of per-organization value and where it comes from.

    `cache`: the core's `PerOrgCache` for the value (its key names the config section).
    `path`: an API path with ``{org}``, fetched from ``settings.base_url`` with the bearer
    token; or `fetch`: a callable of your own (see `FetchRequest`): return the payload
    (or a `returns` ``Result`` of it), raise for a failed fetch. The payload is always
    checked by ``cache.decode``. `needs_token`: whether a fetch needs the OAuth token
    (a missing one then skips the fetch). `name`: what the value is called in outcomes
    and logs. `claude_code`: Claude Code keeps this same cache (same key, same entry
    shape) in its global config; a fresh, valid entry there is used, read-only, and
    spares the request (the grant does this).
    """

    __slots__ = ("backoff_section", "cache", "claude_code", "fetcher", "name", "needs_token")

    def __init__(
        self,
        cache: PerOrgCache[T],
        path: str | None = None,
        *,
        fetch: Callable[[FetchRequest], Any] | None = None,
        name: str | None = None,
        needs_token: bool = True,
        claude_code: bool = False,
    ) -> None:
        if (path is None) == (fetch is None):
            raise ValueError("give a PerOrgLookup exactly one of path= and fetch=")
        self.cache = cache
        self.fetcher: Fetcher = HttpFetch(path) if path is not None else CallableFetch(fetch)  # type: ignore[arg-type]
        self.name = name or cache.key
        self.needs_token = needs_token
        self.claude_code = claude_code
        self.backoff_section = backoff_section(cache.key)  # where its failures are kept

    def __repr__(self) -> str:
        return f"PerOrgLookup({self.cache.key!r}, {self.fetcher!r})"

    # -- reading -----------------------------------------------------------------------

    def get(self, settings: Settings | None = None) -> T | None:
        """The current org's value when cached and fresh, else None. Lock-free; no network;
        never raises. With `claude_code`, the newer of our entry and Claude Code's wins."""
        try:
            s = settings if settings is not None else Settings.from_env()
            found = find(self.cache, self.claude_code, s)
            return None if found is None else found.value
        except Exception:
            from ._log import logger  # noqa: PLC0415  (a read never loads logging's machinery)

            logger().exception("reading the cached %s failed", self.name)
            return None

    def find(self, settings: Settings | None = None) -> Found[T] | None:
        """`get`, saying where the value came from (`Found.source`, `.location`, its
        `.timestamp_ms`). Never raises."""
        try:
            return find(self.cache, self.claude_code, settings or Settings.from_env())
        except Exception:
            from ._log import logger  # noqa: PLC0415  (a read never loads logging's machinery)

            logger().exception("reading the cached %s failed", self.name)
            return None

    # -- refreshing and invalidating -----------------------------------------------------

    def refresh(
        self, settings: Settings | None = None, *, force: bool = False
    ) -> RefreshOutcome[T]:
        """Fetch the current org's value and store it; the outcome says what happened.
        Joins a refresh of the same org already running in this process. `force` passes the
        backoff after failures (one fetch at a time still holds). Never raises."""
        from ._outcomes import RefreshOutcome, RefreshStatus  # noqa: PLC0415
        from ._refresh import refresh  # noqa: PLC0415  (readers never pay for it)

        try:
            return refresh(self, settings if settings is not None else Settings.from_env(), force)
        except Exception as exc:
            from ._log import logger  # noqa: PLC0415

            logger().exception("refreshing the %s failed", self.name)
            return RefreshOutcome(RefreshStatus.INTERNAL_ERROR, type(exc).__name__)

    def start_refresh(
        self, settings: Settings | None = None, *, force: bool = False
    ) -> Future[RefreshOutcome[T]]:
        """Fire and forget: refresh on a daemon thread, joining one already in flight.
        Returns at once; the future never raises, it holds a `RefreshOutcome`."""
        from ._flight import done  # noqa: PLC0415
        from ._outcomes import RefreshOutcome, RefreshStatus  # noqa: PLC0415
        from ._refresh import start_refresh  # noqa: PLC0415

        try:
            s = settings if settings is not None else Settings.from_env()
            return start_refresh(self, s, force)
        except Exception as exc:
            from ._log import logger  # noqa: PLC0415

            logger().exception("starting a refresh of the %s failed", self.name)
            return done(RefreshOutcome(RefreshStatus.INTERNAL_ERROR, type(exc).__name__))

    def invalidate(self, settings: Settings | None = None) -> InvalidateOutcome:
        """Drop the current org's entry; no lock and no write when there is none. Never
        raises."""
        from ._invalidate import invalidate  # noqa: PLC0415
        from ._outcomes import InvalidateOutcome, InvalidateStatus  # noqa: PLC0415

        try:
            return invalidate(self, settings if settings is not None else Settings.from_env())
        except Exception as exc:
            from ._log import logger  # noqa: PLC0415

            logger().exception("invalidating the cached %s failed", self.name)
            return InvalidateOutcome(InvalidateStatus.INTERNAL_ERROR, type(exc).__name__)

    # -- asyncio: the same, without ever blocking the event loop -------------------------

    async def aget(self, settings: Settings | None = None) -> T | None:
        """`get` on a worker thread: a large config's first parse never stalls the loop."""
        import asyncio  # noqa: PLC0415

        return await asyncio.to_thread(self.get, settings)

    async def arefresh(
        self, settings: Settings | None = None, *, force: bool = False
    ) -> RefreshOutcome[T]:
        """`refresh` awaited: the fetch runs on a thread and is shared with every task and
        thread refreshing the same org. Cancelling the awaiting task cancels only its wait."""
        import asyncio  # noqa: PLC0415

        future = await asyncio.to_thread(self.start_refresh, settings, force=force)
        return await asyncio.wrap_future(future)

    async def ainvalidate(self, settings: Settings | None = None) -> InvalidateOutcome:
        """`invalidate` on a worker thread (it may wait for the config lock)."""
        import asyncio  # noqa: PLC0415

        return await asyncio.to_thread(self.invalidate, settings)
