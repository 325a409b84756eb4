"""The grant record, its JSON form, and the organization id rule.

Theory of operation
-------------------
The backend answers with a JSON object; this module decides whether that object
is a grant (`decode_grant_info`) and how a grant is written back (`encode_grant_info`).
Decoding is strict where the seed was trusting: booleans must be JSON booleans, the
amount a non-negative integer or null, the currency a three-letter code or null.
Unknown extra keys are ignored, so the backend may grow the object.

Nothing here reads a clock, a file, the environment or the network, and nothing
raises: every outcome is a value (`Result`, `Maybe`, `bool`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from returns.maybe import Maybe, Nothing, Some
from returns.result import Failure, Result, Success

from ._record import Record

__all__ = [
    "GrantInfo",
    "decode_grant_info",
    "encode_grant_info",
    "is_valid_org_id",
    "organization_id",
]

_BOOL_FIELDS: Final = ("available", "eligible", "granted")
_AMOUNT: Final = "amount_minor_units"
_CURRENCY: Final = "currency"
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
_DASHES: Final = (8, 13, 18, 23)  # 8-4-4-4-12


class GrantInfo(Record):
    """What the backend says about one organization's overage credit grant."""

    available: bool
    eligible: bool
    granted: bool
    amount_minor_units: int | None
    currency: str | None


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _check_bool(payload: Mapping[object, object], key: str) -> Result[bool, str]:
    value = payload[key]
    if type(value) is bool:
        return Success(value)
    return Failure(f"field {key!r} must be a boolean, got {_type_name(value)}")


def _check_amount(value: object) -> Result[int | None, str]:
    if value is None:
        return Success(None)
    if type(value) is not int:  # rejects bool (a subclass of int) and float
        return Failure(f"field {_AMOUNT!r} must be an integer or null, got {_type_name(value)}")
    if value < 0:
        return Failure(f"field {_AMOUNT!r} must not be negative")
    return Success(value)


def _check_currency(value: object) -> Result[str | None, str]:
    if value is None:
        return Success(None)
    if isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha():
        return Success(value)
    if isinstance(value, str):
        return Failure(f"field {_CURRENCY!r} must be a three-letter code or null")
    return Failure(f"field {_CURRENCY!r} must be a string or null, got {_type_name(value)}")


def decode_grant_info(payload: object) -> Result[GrantInfo, str]:
    """Validate a backend JSON body; `Failure(reason)` for anything that is not a grant."""
    if not isinstance(payload, Mapping):
        return Failure(f"grant must be a JSON object, got {_type_name(payload)}")
    missing = [k for k in (*_BOOL_FIELDS, _AMOUNT, _CURRENCY) if k not in payload]
    if missing:
        return Failure("grant is missing field(s): " + ", ".join(missing))
    flags: list[bool] = []
    for key in _BOOL_FIELDS:
        match _check_bool(payload, key):
            case Success(flag):
                flags.append(flag)
            case Failure(reason):
                return Failure(reason)
    return _check_amount(payload[_AMOUNT]).bind(
        lambda amount: _check_currency(payload[_CURRENCY]).map(
            lambda currency: GrantInfo(
                available=flags[0],
                eligible=flags[1],
                granted=flags[2],
                amount_minor_units=amount,
                currency=currency,
            )
        )
    )


def encode_grant_info(info: GrantInfo) -> dict[str, object]:
    """The JSON form of a grant, with the backend's key names."""
    return {
        "available": info.available,
        "eligible": info.eligible,
        "granted": info.granted,
        _AMOUNT: info.amount_minor_units,
        _CURRENCY: info.currency,
    }


def is_valid_org_id(text: object) -> bool:
    """True for a canonical UUID (8-4-4-4-12 hex digits, either case) and nothing else."""
    return (
        isinstance(text, str)
        and len(text) == 36
        and all(text[i] == "-" for i in _DASHES)
        and all(c in _HEX_DIGITS for c in text.replace("-", "", 4))
    )


def organization_id(config: object) -> Maybe[str]:
    """`config["oauthAccount"]["organizationUuid"]` when it is a valid org id."""
    if not isinstance(config, Mapping):
        return Nothing
    account = config.get("oauthAccount")
    if not isinstance(account, Mapping):
        return Nothing
    org = account.get("organizationUuid")
    if isinstance(org, str) and is_valid_org_id(org):
        return Some(org)
    return Nothing
