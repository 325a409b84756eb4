"""Hypothesis strategies for grants, cache entries and configs.

Public, for codebases that property-test their own use of the reducers. Needs the
``hypothesis`` extra (``pip install '.[hypothesis]'`` from a checkout); nothing
else in the package imports this module.

Every strategy is a function returning a fresh strategy, named for what it draws.
"""

from __future__ import annotations

import string
from typing import Final

from hypothesis import strategies as st

from ._cache import CACHE_TTL_MS
from ._grant import GrantInfo, encode_grant_info, is_valid_org_id
from ._overage import CACHE_KEY

__all__ = [
    "cache_entries",
    "configs",
    "currencies",
    "epoch_ms",
    "grant_infos",
    "grant_payloads",
    "invalid_grant_payloads",
    "invalid_org_ids",
    "json_values",
    "malformed_cache_entries",
    "org_ids",
    "ttl_offsets",
]

JsonValue = object
_GRANT_KEYS: Final = ("available", "eligible", "granted", "amount_minor_units", "currency")
_HEX: Final = "0123456789abcdefABCDEF"


def _json_scalars() -> st.SearchStrategy[JsonValue]:
    return (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=12)
    )


def json_values(*, max_leaves: int = 12) -> st.SearchStrategy[JsonValue]:
    """Any value `json.loads` can return (finite floats only)."""
    return st.recursive(
        _json_scalars(),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def _json_non_objects() -> st.SearchStrategy[JsonValue]:
    # Drawn directly rather than filtered out of json_values(): no draw is thrown away.
    return _json_scalars() | st.lists(json_values(max_leaves=8), max_size=4)


def org_ids() -> st.SearchStrategy[str]:
    """Canonical UUIDs, lower, upper or mixed case."""
    return st.tuples(
        *(st.text(alphabet=_HEX, min_size=n, max_size=n) for n in (8, 4, 4, 4, 12))
    ).map("-".join)


def invalid_org_ids() -> st.SearchStrategy[str]:
    """Text that must never become a URL path segment or a cache key."""
    near_misses = org_ids().flatmap(
        lambda good: st.sampled_from(
            [
                good + "\n",
                good + "/..",
                "../" + good,
                good[:-1],
                good + "0",
                "{" + good + "}",
                good.replace("-", ""),
                good[:8] + "g" + good[9:],
                " " + good,
                good.replace("-", "/"),
                good.replace("a", "\u0430"),  # Cyrillic a
            ]
        )
    )
    return (near_misses | st.text(max_size=40)).filter(lambda s: not is_valid_org_id(s))


def currencies() -> st.SearchStrategy[str]:
    """Three-letter codes, USD in every case among them."""
    return st.sampled_from(["USD", "usd", "Usd", "EUR", "GBP", "JPY"]) | st.text(
        alphabet=string.ascii_letters, min_size=3, max_size=3
    )


def epoch_ms() -> st.SearchStrategy[int]:
    """Plausible clock readings in epoch milliseconds (1970 to about 2200)."""
    return st.integers(min_value=0, max_value=7_258_118_400_000)


def ttl_offsets(ttl_ms: int = CACHE_TTL_MS) -> st.SearchStrategy[int]:
    """`now - timestamp` values that crowd the freshness boundaries (0 and `ttl_ms`)."""
    return st.one_of(
        st.sampled_from([-1, 0, 1, ttl_ms - 1, ttl_ms, ttl_ms + 1]),
        st.integers(min_value=-3 * ttl_ms, max_value=3 * ttl_ms),
    )


def grant_infos() -> st.SearchStrategy[GrantInfo]:
    """Every valid grant, including amounts far beyond 2**53."""
    amounts = st.none() | st.integers(min_value=0, max_value=10_000) | st.integers(min_value=0)
    return st.builds(
        GrantInfo,
        available=st.booleans(),
        eligible=st.booleans(),
        granted=st.booleans(),
        amount_minor_units=amounts,
        currency=st.none() | currencies(),
    )


def grant_payloads(infos: st.SearchStrategy[GrantInfo] | None = None) -> st.SearchStrategy[object]:
    """Valid backend bodies: a grant's JSON, sometimes with unknown extra keys."""
    extras = st.dictionaries(
        st.text(max_size=10).filter(lambda k: k not in _GRANT_KEYS), json_values(), max_size=3
    )
    return st.tuples(infos or grant_infos(), extras).map(
        lambda pair: {**pair[1], **encode_grant_info(pair[0])}
    )


@st.composite
def _broken_payload(draw: st.DrawFn) -> object:
    body = dict(encode_grant_info(draw(grant_infos())))
    flag = draw(st.sampled_from(["available", "eligible", "granted"]))
    kind = draw(
        st.sampled_from(
            [
                "missing",
                "int_for_bool",
                "bool_for_int",
                "float_amount",
                "negative",
                "bad_currency",
                "string_flag",
            ]
        )
    )
    if kind == "missing":
        del body[draw(st.sampled_from(_GRANT_KEYS))]
    elif kind == "int_for_bool":
        body[flag] = draw(st.sampled_from([0, 1]))
    elif kind == "bool_for_int":
        body["amount_minor_units"] = draw(st.booleans())
    elif kind == "float_amount":
        body["amount_minor_units"] = draw(st.floats(allow_nan=False) | st.just(500.0))
    elif kind == "negative":
        body["amount_minor_units"] = draw(st.integers(max_value=-1))
    elif kind == "bad_currency":
        body["currency"] = draw(
            st.text(max_size=6).filter(lambda c: not (len(c) == 3 and c.isascii() and c.isalpha()))
            | st.integers()
            | st.booleans()
            | st.lists(st.text(max_size=3), max_size=2)
        )
    else:
        body[flag] = draw(st.sampled_from(["true", "false", "", None]))
    return body


def invalid_grant_payloads() -> st.SearchStrategy[object]:
    """Bodies that must be rejected: wrong types, missing keys, or not an object at all."""
    not_objects = _json_non_objects()
    return _broken_payload() | not_objects


def cache_entries(
    infos: st.SearchStrategy[GrantInfo] | None = None,
    timestamps: st.SearchStrategy[int] | None = None,
) -> st.SearchStrategy[dict[str, object]]:
    """Well-formed stored entries ``{"info": ..., "timestamp": ...}``."""
    return st.builds(
        lambda info, stamp: {"info": encode_grant_info(info), "timestamp": stamp},
        infos or grant_infos(),
        timestamps or epoch_ms(),
    )


def malformed_cache_entries() -> st.SearchStrategy[object]:
    """Stored entries a reader must ignore rather than trust."""
    return st.one_of(
        _json_non_objects(),
        st.builds(lambda p, t: {"info": p, "timestamp": t}, invalid_grant_payloads(), epoch_ms()),
        st.builds(
            lambda e, t: {"info": e, "timestamp": t},
            grant_payloads(),
            st.floats(allow_nan=False) | st.text(max_size=5) | st.booleans() | st.none(),
        ),
        st.builds(lambda p: {"info": p}, grant_payloads()),
    )


def configs(
    *,
    orgs: st.SearchStrategy[str] | None = None,
    max_orgs: int = 4,
    with_malformed: bool = True,
    with_cache: bool | None = None,
) -> st.SearchStrategy[dict[str, object]]:
    """Config objects: unrelated keys of any JSON, plus (often) a cache of several orgs.

    The cache holds well-formed entries and, when `with_malformed`, malformed ones and
    keys that are not org ids, all of which the reducers must carry over untouched.
    """
    # Every strategy is built once, here, not on each draw: building one costs more than
    # drawing from it.
    unrelated = st.dictionaries(
        st.text(max_size=12).filter(lambda k: k != CACHE_KEY), json_values(), max_size=5
    )
    entries = (
        st.one_of(cache_entries(), malformed_cache_entries()) if with_malformed else cache_entries()
    )
    keys = orgs or org_ids()
    if with_malformed:
        keys = keys | st.text(max_size=10)
    cached = st.builds(
        lambda rest, cache: {**rest, CACHE_KEY: cache},
        unrelated,
        st.dictionaries(keys, entries, max_size=max_orgs),
    )
    if with_cache is None:
        return unrelated | cached
    return cached if with_cache else unrelated
