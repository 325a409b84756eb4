"""`LookupSpec`: what the machinery needs to know about a per-organization lookup.

Refreshing, invalidating and the detached background refresh are written once, for any
lookup; this protocol is the whole of what they read from one. `PerOrgLookup` satisfies
it, and so does any object with these five attributes: the machinery never imports the
lookup class, so no import circle can form through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar

from overage_credit_grant.core import backoff_section

if TYPE_CHECKING:
    from overage_credit_grant.core import PerOrgCache

    from ._fetch import Fetcher

__all__ = ["LookupSpec", "backoff_of", "sections_of"]

T = TypeVar("T")


class LookupSpec(Protocol[T]):
    """A per-organization value: where it is stored and where it comes from."""

    @property
    def cache(self) -> PerOrgCache[T]:
        """The core's reducers for the value; `cache.key` names its config section."""
        ...

    @property
    def fetcher(self) -> Fetcher:
        """Where the value comes from (`HttpFetch` or `CallableFetch`)."""
        ...

    @property
    def name(self) -> str:
        """What the value is called in outcomes and logs."""
        ...

    @property
    def needs_token(self) -> bool:
        """Whether a fetch needs the OAuth token (a missing one then skips the fetch)."""
        ...

    @property
    def claude_code(self) -> bool:
        """Whether Claude Code keeps this same cache in its global config (read-only)."""
        ...


def backoff_of(lookup: LookupSpec[T]) -> str:
    """The config section holding the lookup's backoff state (``<cache key>Backoff``)."""
    return backoff_section(lookup.cache.key)


def sections_of(lookup: LookupSpec[T]) -> tuple[str, str]:
    """The sections a refresh reads and writes: the entries and their backoff state."""
    return (lookup.cache.key, backoff_section(lookup.cache.key))
