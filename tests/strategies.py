"""Strategies for this test suite: the public ones, plus a few only tests need."""

from __future__ import annotations

import os

from hypothesis import strategies as st

from overage_credit_grant.core import CACHE_TTL_MS
from overage_credit_grant.core.strategies import (
    cache_entries,
    configs,
    currencies,
    epoch_ms,
    grant_infos,
    grant_payloads,
    invalid_grant_payloads,
    invalid_org_ids,
    json_values,
    malformed_cache_entries,
    org_ids,
    ttl_offsets,
)

__all__ = [
    "cache_entries",
    "clocks",
    "configs",
    "currencies",
    "epoch_ms",
    "grant_infos",
    "grant_payloads",
    "invalid_grant_payloads",
    "invalid_org_ids",
    "json_values",
    "malformed_cache_entries",
    "non_usd_currencies",
    "org_ids",
    "path_names",
    "redis_key_parts",
    "redis_values",
    "ttl_offsets",
]


def clocks() -> st.SearchStrategy[tuple[int, int]]:
    """(timestamp_ms, now_ms) pairs whose difference crowds the TTL boundaries."""
    return st.tuples(epoch_ms(), ttl_offsets(CACHE_TTL_MS)).map(
        lambda pair: (pair[0], pair[0] + pair[1])
    )


def non_usd_currencies() -> st.SearchStrategy[str]:
    """Currency strings the formatter must refuse."""
    return (currencies() | st.text(max_size=5)).filter(lambda c: c.upper() != "USD")


def redis_key_parts() -> st.SearchStrategy[str]:
    """Prefixes and section names a Redis store takes: any text without braces (a brace
    would move the hash tag), glob specials and colons included."""
    return st.text(
        st.characters(blacklist_characters="{}", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=12,
    )


def redis_values() -> st.SearchStrategy[bytes | None]:
    """What a Redis key may hold for the compare-and-set: nothing, or any bytes."""
    return st.none() | st.binary(max_size=24)


def path_names() -> st.SearchStrategy[str]:
    """File names as a POSIX system may hold them, as Python sees them: any bytes but
    ``/`` and NUL, so non-ASCII text and undecodable bytes (``surrogateescape``) too."""
    byte = st.integers(min_value=1, max_value=255).filter(lambda b: b != ord("/"))
    return (
        st.lists(byte, min_size=1, max_size=16)
        .map(lambda b: os.fsdecode(bytes(b)))
        .filter(lambda name: name not in (".", ".."))
    )
