"""The words of the status line: what a grant says, and a template filled with them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from overage_credit_grant.core import is_upsell_eligible

from .._grant import format_grant_amount

if TYPE_CHECKING:
    from overage_credit_grant.core import GrantInfo

__all__ = ["FIELDS", "fill", "grant_state", "statusline_text", "unknown_fields"]

FIELDS: Final = ("amount", "line", "state")


def grant_state(info: GrantInfo | None) -> tuple[str, str, str] | None:
    """(state, amount, default line) for a grant worth a line: ``available`` (the seed's
    upsell) or ``granted``; None when there is nothing to say."""
    amount = format_grant_amount(info) if info is not None else None
    if info is None or amount is None:
        return None
    if is_upsell_eligible(info):
        return "available", amount, f"{amount} in extra usage for third-party apps"
    if info.granted and info.amount_minor_units:
        return "granted", amount, f"{amount} extra usage granted"
    return None


def statusline_text(info: GrantInfo | None, template: str | None = None) -> str:
    """The line for a grant: the upsell, the granted amount, or empty; through `template`."""
    said = grant_state(info)
    if said is None:
        return ""
    state, amount, line = said
    text = line if template is None else fill(template, amount=amount, line=line, state=state)
    return " ".join(text.split("\n")).replace("\r", " ")


def unknown_fields(template: str) -> list[str]:
    """The ``{name}`` fields of `template` that `fill` leaves as written (unknown names, an
    unclosed brace)."""
    found: list[str] = []
    i = 0
    while i < len(template):
        char = template[i]
        if char in "{}" and template.startswith(char * 2, i):
            i += 2
            continue
        if char == "{":
            end = template.find("}", i)
            name = template[i + 1 : end] if end != -1 else template[i:]
            if end == -1 or name not in FIELDS:
                found.append("{" + name + ("}" if end != -1 else ""))
            i = end + 1 if end != -1 else len(template)
            continue
        i += 1
    return found


def fill(template: str, **values: str) -> str:
    """`template` with ``{name}`` replaced for the given names; ``{{``/``}}`` are braces;
    anything else is left as written (no attribute access, no format specs, no errors)."""
    out: list[str] = []
    i = 0
    while i < len(template):
        char = template[i]
        if char in "{}" and template.startswith(char * 2, i):
            out.append(char)
            i += 2
            continue
        if char == "{":
            end = template.find("}", i)
            name = template[i + 1 : end] if end != -1 else ""
            if name in values:
                out.append(values[name])
                i = end + 1
                continue
        out.append(char)
        i += 1
    return "".join(out)
