"""``overage-grant refresh``, ``invalidate`` and ``demo`` (``show`` is `show`, ``status``
`status`, ``serve`` `serving`, the status line `statusline`).

A command returns its exit code after printing its output, or raises `CommandFailed` (one
line on stderr, one JSON object under ``--json``; see `output`).
"""

from __future__ import annotations

from typing import Any

from .._account import valid_organization
from .._grant import GRANT, format_grant_amount
from .._store_choice import store_for
from . import backoff
from .options import settings_of
from .outcomes import INVALIDATE_EXIT, REFRESH_EXIT, outcome_json, refresh_failure, words
from .output import EXIT_OK, CommandFailed, emit

__all__ = ["cmd_demo", "cmd_invalidate", "cmd_refresh"]


def cmd_refresh(args: Any) -> int:
    outcome = GRANT.refresh(settings_of(args), force=bool(args.force))
    if REFRESH_EXIT[outcome.status] != EXIT_OK:
        raise refresh_failure(outcome)
    amount = format_grant_amount(outcome.value) if outcome.value else None
    emit(
        args,
        outcome_json(outcome),
        words(outcome.status, outcome.detail) + (f" ({amount})" if amount else ""),
    )
    return EXIT_OK


def cmd_invalidate(args: Any) -> int:
    s = settings_of(args)
    outcome = GRANT.invalidate(s)
    code = INVALIDATE_EXIT[outcome.status]
    data: dict[str, object] = {"status": outcome.status.value, "detail": outcome.detail}
    if code != EXIT_OK:
        said = f"invalidate: {words(outcome.status, outcome.detail)}"
        raise CommandFailed(said, code, outcome.status.value, data)
    org = valid_organization(s)
    kept = backoff.org_backoff(s, store_for(s), org) if org is not None else None
    text = words(outcome.status, outcome.detail)
    if kept is not None:  # invalidating drops the entry only; the backoff is the store's
        text += f"; the backoff is kept: {backoff.describe(kept, s)} ({backoff.FORCE_HINT})"
    data["backoff"] = backoff.as_json(kept, s) if kept is not None else None
    emit(args, data, text)
    return EXIT_OK


def cmd_demo(args: Any) -> int:
    from .demo import run_demo  # noqa: PLC0415

    return run_demo(as_json=bool(args.json))
