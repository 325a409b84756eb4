"""Laws of decoding, encoding and the org id rule (core/_grant.py)."""

from __future__ import annotations

import copy
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.maybe import Nothing, Some
from returns.result import Failure, Success

from overage_credit_grant.core import (
    GrantInfo,
    decode_grant_info,
    encode_grant_info,
    is_valid_org_id,
    organization_id,
)

from ..strategies import (
    grant_infos,
    grant_payloads,
    invalid_grant_payloads,
    invalid_org_ids,
    json_values,
    org_ids,
)

GOOD = {
    "available": True,
    "eligible": True,
    "granted": False,
    "amount_minor_units": 500,
    "currency": "USD",
}


@given(grant_infos())
def test_decode_inverts_encode(info: GrantInfo) -> None:
    """Decoding what was encoded gives back the same grant."""
    assert decode_grant_info(encode_grant_info(info)) == Success(info)


@given(grant_payloads())
def test_decode_accepts_every_valid_payload_and_ignores_extra_keys(payload: object) -> None:
    """A valid body decodes, whatever unknown keys ride along, and re-encodes to its five keys."""
    result = decode_grant_info(payload)
    assert isinstance(result, Success)
    assert isinstance(payload, dict)
    assert encode_grant_info(result.unwrap()) == {k: payload[k] for k in GOOD}


@given(json_values())
def test_decode_is_total_on_arbitrary_json(value: object) -> None:
    """Any JSON value gives a Result, never an exception, and is never mutated."""
    before = copy.deepcopy(value)
    result = decode_grant_info(value)
    assert isinstance(result, Success | Failure)
    assert value == before


@given(invalid_grant_payloads())
def test_decode_rejects_every_invalid_payload(payload: object) -> None:
    """Wrong types, missing keys, negative amounts and non-objects are all failures."""
    result = decode_grant_info(payload)
    assert isinstance(result, Failure)
    assert isinstance(result.failure(), str)
    assert result.failure()


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("amount_minor_units", True, "integer"),
        ("amount_minor_units", False, "integer"),
        ("amount_minor_units", 500.0, "integer"),
        ("amount_minor_units", 5.5, "integer"),
        ("amount_minor_units", "500", "integer"),
        ("amount_minor_units", -1, "negative"),
        ("available", 1, "boolean"),
        ("eligible", 0, "boolean"),
        ("granted", "false", "boolean"),
        ("granted", None, "boolean"),
        ("currency", "US", "three-letter"),
        ("currency", "USDD", "three-letter"),
        ("currency", "", "three-letter"),
        ("currency", "U$D", "three-letter"),
        ("currency", "ÜSD", "three-letter"),
        ("currency", 840, "string"),
    ],
)
def test_decode_rejection_names_the_field(key: str, value: object, reason: str) -> None:
    """Each kind of bad field is refused with a reason naming the field."""
    result = decode_grant_info({**GOOD, key: value})
    assert isinstance(result, Failure)
    assert key in result.failure()
    assert reason in result.failure()


@pytest.mark.parametrize("key", list(GOOD))
def test_decode_requires_every_field(key: str) -> None:
    """A body missing any of the five keys is refused, naming the key."""
    body = {k: v for k, v in GOOD.items() if k != key}
    result = decode_grant_info(body)
    assert isinstance(result, Failure)
    assert key in result.failure()


def test_decode_allows_null_amount_and_currency() -> None:
    """Amount and currency may be null; the flags may not."""
    body = {**GOOD, "amount_minor_units": None, "currency": None}
    assert decode_grant_info(body) == Success(GrantInfo(True, True, False, None, None))


@given(org_ids())
def test_every_canonical_uuid_is_a_valid_org_id(org: str) -> None:
    """8-4-4-4-12 hex digits in any case are accepted."""
    assert is_valid_org_id(org)


@given(invalid_org_ids())
def test_nothing_else_is_a_valid_org_id(text: str) -> None:
    """Near misses (newlines, paths, braces, homoglyphs) and arbitrary text are refused."""
    assert not is_valid_org_id(text)


@pytest.mark.parametrize("value", [None, 1, b"01234567-89ab-cdef-0123-456789abcdef", ["x"]])
def test_org_id_rule_refuses_non_strings(value: object) -> None:
    """The rule is total: non-strings are simply not org ids."""
    assert not is_valid_org_id(value)


@given(org_ids(), json_values())
def test_organization_id_reads_the_oauth_account(org: str, other: object) -> None:
    """A valid organizationUuid under oauthAccount is found; other keys do not matter."""
    config = {"oauthAccount": {"organizationUuid": org, "x": other}, "y": other}
    assert organization_id(config) == Some(org)


@given(json_values())
def test_organization_id_is_nothing_without_a_valid_uuid(value: object) -> None:
    """Any config without a valid org id under oauthAccount gives Nothing."""
    for config in (value, {"oauthAccount": value}, {"oauthAccount": {"organizationUuid": value}}):
        if not is_valid_org_id(value):
            assert organization_id(config) == Nothing


@given(invalid_org_ids())
def test_organization_id_refuses_invalid_ids(text: str) -> None:
    """An organizationUuid that is not a canonical UUID is never returned."""
    assert organization_id({"oauthAccount": {"organizationUuid": text}}) == Nothing


CANONICAL_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


@given(org_ids() | invalid_org_ids() | st.text(alphabet="0123456789abcdefABCDEF-", max_size=40))
def test_org_id_rule_equals_the_canonical_uuid_pattern(text: str) -> None:
    """The hand-written check agrees with the 8-4-4-4-12 hex pattern on every string."""
    assert is_valid_org_id(text) is (CANONICAL_UUID.fullmatch(text) is not None)
