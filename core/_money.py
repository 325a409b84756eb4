"""Formatting a grant's amount for display, in exact integer arithmetic.

The seed divides a float by 100 and prints ``$5`` for whole dollars, ``$5.50``
otherwise, for USD only (any letter case). This module prints the same strings
for every non-negative integer amount, of any size, without ever using a float.
"""

from __future__ import annotations

from returns.maybe import Maybe, Nothing, Some

from ._grant import GrantInfo

__all__ = ["format_grant_amount", "format_minor_units", "is_upsell_eligible"]


def format_minor_units(amount_minor_units: int, currency: str) -> Maybe[str]:
    """``$5`` / ``$5.50`` / ``$0.01`` for USD; `Nothing` for other currencies or negatives."""
    if currency.upper() != "USD" or amount_minor_units < 0:
        return Nothing
    dollars, cents = divmod(amount_minor_units, 100)
    return Some(f"${dollars}" if cents == 0 else f"${dollars}.{cents:02d}")


def format_grant_amount(info: GrantInfo) -> Maybe[str]:
    """The display amount of a grant; `Nothing` without an amount or a known currency."""
    if info.amount_minor_units is None or not info.currency:
        return Nothing
    return format_minor_units(info.amount_minor_units, info.currency)


def is_upsell_eligible(info: GrantInfo) -> bool:
    """The seed's callers' rule: available, not yet granted, and a positive amount that formats."""
    return (
        info.available
        and not info.granted
        and info.amount_minor_units is not None
        and info.amount_minor_units > 0
        and format_grant_amount(info) != Nothing
    )
