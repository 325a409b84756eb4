"""``overage-grant status``: every cached organization (its amount, age, freshness and
source), every organization backing off after failures, and the files that hold them."""

from __future__ import annotations

import os
from typing import Any

from returns.result import Failure

from overage_credit_grant.core import GRANT_CACHE, GrantInfo, encode_grant_info, is_fresh

from .._account import valid_organization
from .._grant import GRANT, format_grant_amount
from .._read import Found, Source, claude_code_entry
from .._settings import Settings, now_ms
from .._store_choice import store_for
from . import backoff
from .options import settings_of
from .output import EXIT_OK, CommandFailed, age, emit

__all__ = ["cmd_status"]

_WHERE: dict[Source, str] = {"cache": "cache", "claude_code": "claude code"}


def _exists(path: object) -> bool:
    return isinstance(path, str | os.PathLike) and os.path.exists(path)


def _files(s: Settings, location: str) -> list[str]:
    """The lines naming the files status read; only files that exist are listed."""
    lines = [f"store  {location}"]
    if s.store is None and not s.redis_url and not _exists(s.config_path):
        lines[0] += " (no file yet)"
    if _exists(s.claude_config_path):
        lines.append(
            f"also   {os.fspath(s.claude_config_path or '')} (Claude Code's cache, read-only)"
        )
    return lines


def cmd_status(args: Any) -> int:
    s = settings_of(args)
    store = store_for(s)
    checked = store.read_checked(None, (GRANT_CACHE.key, GRANT.backoff_section))
    if isinstance(checked, Failure):
        raise CommandFailed(f"{store.location}: {checked.failure()}", status="store_unreadable")
    config = checked.unwrap()
    store_now, local_now = now_ms(s, store), s.clock()  # our entries' clock; Claude Code's
    current = valid_organization(s)
    rows: list[tuple[str, Found[GrantInfo]]] = [
        (e.org_id, Found(e.value, e.timestamp_ms, "cache", store.location))
        for e in GRANT_CACHE.entries(config)
    ]
    if current is not None:
        theirs = claude_code_entry(s, GRANT_CACHE, current)
        if theirs is not None:
            rows.append((current, theirs))
    in_use = GRANT.find(s) if current is not None else None
    failing = backoff.store_backoffs(config)

    def used(org: str, found: Found[GrantInfo]) -> bool:
        return (
            in_use is not None
            and org == current
            and (in_use.source, in_use.timestamp_ms) == (found.source, found.timestamp_ms)
        )

    def now_for(found: Found[GrantInfo]) -> int:
        return store_now if found.source == "cache" else local_now

    def fresh(found: Found[GrantInfo]) -> bool:
        return is_fresh(found.timestamp_ms, now_for(found), GRANT_CACHE.ttl_ms)

    entries = [
        {
            "organization": org,
            "current": org == current,
            "source": found.source,
            "in_use": used(org, found),
            "grant": encode_grant_info(found.value),
            "amount": format_grant_amount(found.value),
            "timestamp": found.timestamp_ms,
            "age_ms": now_for(found) - found.timestamp_ms,
            "fresh": fresh(found),
        }
        for org, found in rows
    ]
    lines = _files(s, store.location)
    if not rows:
        lines.append("no cached grants")
    else:
        lines.append(f"  {'organization':36}  {'amount':>10}  {'age':>14}  {'state':5}  source")
    for org, found in rows:
        mark = "*" if used(org, found) else " "
        state = "fresh" if fresh(found) else "stale"
        amount = format_grant_amount(found.value) or "-"
        shown_age = age(now_for(found) - found.timestamp_ms)
        lines.append(
            f"{mark} {org:36}  {amount:>10}  {shown_age:>14}  {state}  {_WHERE[found.source]}"
        )
    if failing:
        lines.append(f"backing off after failures ({backoff.FORCE_HINT}):")
        lines += [f"  {state.org_id}  {backoff.describe(state, s)}" for state in failing]
    emit(
        args,
        {
            "store": store.location,
            "organization": current,
            "entries": entries,
            "backoff": [backoff.as_json(state, s) for state in failing],
        },
        "\n".join(lines),
    )
    return EXIT_OK
