"""Laws of amount formatting (core/_money.py)."""

from __future__ import annotations

import decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.maybe import Nothing, Some

from overage_credit_grant.core import (
    GrantInfo,
    format_grant_amount,
    format_minor_units,
    is_upsell_eligible,
)

from ..strategies import grant_infos, non_usd_currencies

USD_SPELLINGS = st.sampled_from(["USD", "usd", "Usd", "uSD"])


def exact_reference(amount: int) -> str:
    """The seed's output computed in exact decimal arithmetic."""
    with decimal.localcontext() as ctx:
        ctx.prec = len(str(amount)) + 10
        dollars = decimal.Decimal(amount) / 100
        if dollars == dollars.to_integral_value():
            return f"${int(dollars)}"
        return f"${dollars.quantize(decimal.Decimal('0.01'))}"


def seed_float_output(amount: int) -> str:
    """The seed's own float arithmetic (`n / 100`, `Number.isInteger`, `toFixed(2)`)."""
    dollars = amount / 100
    return f"${int(dollars)}" if dollars.is_integer() else f"${dollars:.2f}"


def grant(amount: int | None, currency: str | None) -> GrantInfo:
    return GrantInfo(True, True, False, amount, currency)


@given(st.integers(min_value=0), USD_SPELLINGS)
def test_usd_formatting_equals_exact_reference_for_every_non_negative_amount(
    amount: int, currency: str
) -> None:
    """For any amount and any spelling of USD, the output is the exact decimal one."""
    assert format_grant_amount(grant(amount, currency)) == Some(exact_reference(amount))


@given(st.integers(min_value=0, max_value=2**40))
def test_usd_formatting_equals_the_seed_where_its_floats_are_exact(amount: int) -> None:
    """Below 2**40 the seed's floats are exact to the cent, and we print what it prints."""
    assert format_grant_amount(grant(amount, "USD")) == Some(seed_float_output(amount))


@given(st.integers(min_value=2**53, max_value=2**200))
def test_usd_formatting_is_exact_beyond_2_53(amount: int) -> None:
    """Where floats lose cents, the digits are still exactly the amount's."""
    text = format_grant_amount(grant(amount, "USD")).unwrap()
    digits = text[1:].replace(".", "")
    assert int(digits) == (amount if amount % 100 else amount // 100)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (500, "$5"),
        (550, "$5.50"),
        (1, "$0.01"),
        (0, "$0"),
        (10, "$0.10"),
        (123456789, "$1234567.89"),
    ],
)
def test_usd_formatting_examples(amount: int, text: str) -> None:
    """The seed's own examples."""
    assert format_grant_amount(grant(amount, "usd")) == Some(text)


@given(st.integers(min_value=0), non_usd_currencies())
def test_other_currencies_do_not_format(amount: int, currency: str) -> None:
    """Only USD is known; every other code (and the empty string) gives Nothing."""
    assert format_grant_amount(grant(amount, currency)) == Nothing


@given(st.integers(max_value=-1), USD_SPELLINGS)
def test_negative_amounts_do_not_format(amount: int, currency: str) -> None:
    """A negative amount (which decode never lets through) still gives Nothing."""
    assert format_grant_amount(grant(amount, currency)) == Nothing
    assert format_minor_units(amount, currency) == Nothing


@given(st.none() | st.just(""), st.integers(min_value=0))
def test_null_amount_or_currency_do_not_format(currency: str | None, amount: int) -> None:
    """A null amount, or a null or empty currency, gives Nothing."""
    assert format_grant_amount(grant(None, "USD")) == Nothing
    assert format_grant_amount(grant(amount, currency)) == Nothing


@given(grant_infos())
def test_upsell_rule_is_available_not_granted_with_a_positive_formatted_amount(
    info: GrantInfo,
) -> None:
    """The upsell shows exactly when available, not granted, amount > 0, and it formats."""
    expected = (
        info.available
        and not info.granted
        and (info.amount_minor_units or 0) > 0
        and isinstance(format_grant_amount(info), Some)
    )
    assert is_upsell_eligible(info) is expected
