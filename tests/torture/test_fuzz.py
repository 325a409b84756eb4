"""Fuzzing the decoders that meet untrusted bytes: total, never raising, bounded in time.

300 examples each by default, 10,000 with ``HYPOTHESIS_PROFILE=long``; every example
must finish within 250 ms (hypothesis's deadline), so a pathological input that made a
decoder crawl would fail here.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Result

from overage_credit_grant.core import (
    CACHE_KEY,
    GRANT_CACHE,
    after_failure,
    backoff_section,
    decode_grant_info,
    retry_wait_ms,
)
from overage_credit_grant.shell._cli.argv import parse_fast
from overage_credit_grant.shell._store import rediskeys
from overage_credit_grant.shell._store.jsonio import parse_config

from ..strategies import json_values, org_ids

LONG = settings.default.max_examples >= 2000
FUZZ = settings(
    max_examples=10_000 if LONG else 300,
    deadline=timedelta(milliseconds=250),
)
GRANT_KEYS = ("available", "eligible", "granted", "amount_minor_units", "currency")
BIG_JSON = json_values(max_leaves=60)


def near_grants() -> st.SearchStrategy[object]:
    """Objects with the grant's keys (and some more) holding anything at all."""
    return st.dictionaries(
        st.sampled_from([*GRANT_KEYS, "extra", ""]) | st.text(max_size=4), BIG_JSON, max_size=8
    )


def json_bytes() -> st.SearchStrategy[bytes]:
    """Bytes near JSON: real documents, cut, spliced with noise, or noise alone."""
    document = BIG_JSON.map(lambda v: json.dumps(v).encode())
    return st.one_of(
        st.binary(max_size=2048),
        document,
        st.tuples(document, st.integers(0, 400)).map(lambda p: p[0][: p[1]]),
        st.tuples(document, st.binary(max_size=16), st.integers(0, 400)).map(
            lambda p: p[0][: p[2]] + p[1] + p[0][p[2] :]
        ),
        st.sampled_from([b"[" * 100_000, b"{" * 50_000, b"1" + b"0" * 5000, b"\xef\xbb\xbf{}"]),
    )


@FUZZ
@given(near_grants() | BIG_JSON)
def test_the_grant_decoder_is_total_and_pure(payload: object) -> None:
    frozen = copy.deepcopy(payload)
    assert isinstance(decode_grant_info(payload), Result)
    assert payload == frozen


@FUZZ
@given(json_bytes())
def test_the_config_parser_is_total(data: bytes) -> None:
    result = parse_config(data)
    assert isinstance(result, Result)
    config = result.value_or(None)
    assert config is None or isinstance(config, dict)


@FUZZ
@given(
    st.dictionaries(st.text(max_size=6), BIG_JSON, max_size=4)
    | st.builds(
        lambda orgs: {CACHE_KEY: orgs},
        st.dictionaries(org_ids() | st.text(max_size=8), near_grants() | BIG_JSON, max_size=4),
    ),
    org_ids(),
    st.integers(),
)
def test_the_entry_decoder_and_reducers_are_total(
    config: dict[str, object], org: str, now: int
) -> None:
    frozen = copy.deepcopy(config)
    GRANT_CACHE.entry(config, org)
    GRANT_CACHE.entries(config)
    GRANT_CACHE.read(config, org, now)
    GRANT_CACHE.after_invalidate(config, org)
    section = backoff_section(CACHE_KEY)
    retry_wait_ms({section: config.get(CACHE_KEY)}, section, org, now, 60_000)
    after_failure({section: config.get(CACHE_KEY)}, section, org, now, 1000, 60_000)
    assert config == frozen


@FUZZ
@given(
    st.dictionaries(
        st.tuples(st.text(max_size=4), st.text(max_size=8)), st.binary(max_size=64) | json_bytes()
    )
)
def test_the_redis_entry_reader_is_total(raw: dict[tuple[str, str], bytes]) -> None:
    view = rediskeys.view(raw)
    assert isinstance(view, dict)


@FUZZ
@given(
    st.lists(
        st.text(max_size=12)
        | st.sampled_from(["--config", "show", "statusline", "--json", "--format", "-"]),
        max_size=8,
    )
)
def test_the_fast_argv_parser_is_total(argv: list[str]) -> None:
    options = parse_fast(argv)
    assert options is None or options.command in {
        "show",
        "refresh",
        "invalidate",
        "status",
        "statusline",
    }
