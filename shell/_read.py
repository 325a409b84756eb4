"""Reading a lookup's cached value: the hot path of every app.

Theory of operation
-------------------
Reads are lock-free and never touch the network. A read of an unchanged file config is
one `stat` and a few dictionary lookups: the file store object, its parse, the decoded
entry (as a `Found`, made once per config object the store hands out), the org id's
validity and the protected-path answer are all memos. The write side (`_refresh`) is
loaded on first use, so a process that only reads never pays for it.

For a lookup that shares Claude Code's cache (`claude_code`), Claude Code's entry of the
org is read the same way from its global config, and of the two fresh entries the newer
one is the answer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Generic, Literal, TypeAlias, TypeVar

from overage_credit_grant.core import PerOrgCache, is_fresh
from overage_credit_grant.core._record import Record

from ._account import claude_code_config, valid_organization
from ._memo import Memo, memo
from ._settings import Settings, StrPath, now_ms
from ._store_choice import config_is_protected, store_for

if TYPE_CHECKING:
    from ._store.port import Store

__all__ = [
    "Found",
    "Source",
    "claude_code_entry",
    "find",
    "missed_at",
    "newest_fresh",
    "note_miss",
    "our_entry",
]

T = TypeVar("T")

Source: TypeAlias = Literal["cache", "claude_code"]


class Found(Record, Generic[T]):
    """A cached value and where it was read: ``"cache"`` (our store) or ``"claude_code"``
    (Claude Code's global config, read-only); `location` is that store or file."""

    value: T
    timestamp_ms: int
    source: Source
    location: str


_found: Memo[tuple[object, ...], tuple[Mapping[str, object], Found[object] | None]] = memo(
    "decoded entry by config object"
)


_missed: Memo[tuple[str, str, str], int] = memo("last read that found nothing, by org")


def _found_in(
    key: tuple[object, ...],
    config: Mapping[str, object],
    cache: PerOrgCache[T],
    org: str,
    source: Source,
    where: Store | StrPath,
) -> Found[T] | None:
    """The org's entry in `config` (fresh or not), decoded once per config object."""
    known = _found.get(key)
    if known is not None and known[0] is config:
        return known[1]  # type: ignore[return-value]
    entry = cache.entry(config, org).value_or(None)
    found: Found[T] | None = None
    if entry is not None:
        location = os.fspath(where) if isinstance(where, str | os.PathLike) else where.location
        found = Found(entry.value, entry.timestamp_ms, source, location)
    _found.put(key, (config, found))  # type: ignore[arg-type]
    return found


def our_entry(store: Store, cache: PerOrgCache[T], org: str) -> Found[T] | None:
    """The org's entry in our store (fresh or not)."""
    config = store.read(org, (cache.key,))
    return _found_in(("cache", store.key, cache.key, org), config, cache, org, "cache", store)


def claude_code_entry(
    s: Settings, cache: PerOrgCache[T], org: str, config: Mapping[str, object] | None = None
) -> Found[T] | None:
    """The org's entry in Claude Code's global config (`config`, when already read), under
    the same key and decoded by the same strict rules; None when there is none. The file is
    only ever read (never locked, never written): see `claude_code_config`."""
    path = s.claude_config_path
    if path is None:
        return None
    if config is None:
        config = claude_code_config(s, cache.key)
    key = ("claude_code", path, cache.key, org)
    return _found_in(key, config, cache, org, "claude_code", path)


def newest_fresh(
    cache: PerOrgCache[T],
    claude_code: bool,
    s: Settings,
    org: str,
    ours: Found[T] | None,
    store_now_ms: int,
    claude_config: Mapping[str, object] | None = None,
) -> Found[T] | None:
    """Of `ours` (our store's entry of `org`, already read, judged at `store_now_ms`, the
    store's clock: `now_ms`) and, with `claude_code`, Claude Code's (from `claude_config`
    when already read; stamped by this machine's clock), the newest fresh one; None when
    neither is fresh."""
    ttl = cache.ttl_ms
    if ours is not None and not is_fresh(ours.timestamp_ms, store_now_ms, ttl):
        ours = None
    if claude_code:
        theirs = claude_code_entry(s, cache, org, claude_config)
        if theirs is not None:
            local = s.clock()
            if is_fresh(theirs.timestamp_ms, local, ttl) and (
                ours is None or theirs.timestamp_ms + (store_now_ms - local) > ours.timestamp_ms
            ):
                return theirs
    return ours


def find(cache: PerOrgCache[T], claude_code: bool, s: Settings) -> Found[T] | None:
    """The current org's newest fresh value, from our store or (with `claude_code`) Claude
    Code's; None when there is no organization or nothing fresh."""
    claude = claude_code_config(s, cache.key) if claude_code or s.organization is None else None
    org = valid_organization(s, claude)  # one reading of Claude Code's file serves both
    if org is None or config_is_protected(s, remembered=True):
        return None
    store = store_for(s)
    ours = our_entry(store, cache, org)
    now = now_ms(s, store)
    found = newest_fresh(cache, claude_code, s, org, ours, now, claude)
    if found is None:
        note_miss(store, cache, org, now)
    return found


def note_miss(store: Store, cache: PerOrgCache[T], org: str, at_ms: int) -> None:
    """Record that a read found nothing fresh for `org` at `at_ms` (the store's clock):
    what `find` does, for a process that read elsewhere (`_background`'s child)."""
    _missed.put((store.key, cache.key, org), at_ms)


def missed_at(store: Store, cache: PerOrgCache[T], org: str) -> int | None:
    """When (by the store's clock) a read in this process last found nothing fresh for
    `org`, forgotten once asked: the refresh that follows such a read need not fetch
    what another process has just stored (`_refresh`)."""
    key = (store.key, cache.key, org)
    missed = _missed.get(key)
    if missed is not None:
        _missed.discard(key)
    return missed
