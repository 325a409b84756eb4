"""``overage-grant statusline``: one line for Claude Code's status line, at once, always.

Claude Code runs the status line command on every render, writes a JSON object to its
stdin and shows the first line it prints. This command:

* reads (and drains) stdin for at most a moment, whatever it holds: nothing in it names
  the organization, and empty, broken or binary input changes nothing;
* prints the grant from the cache (ours, or Claude Code's own fresh entry) in one line:
  the seed's upsell wording when the org is upsell-eligible, ``$5 extra usage granted``
  once the grant is claimed, an empty line when there is nothing to say; ``--format``
  fits it into a line of your own;
* when nothing fresh is cached, starts a detached background refresh (`_background`)
  and returns without waiting; the next render shows the result;
* always exits 0, prints no traceback, and never imports argparse, requests, filelock or
  logging's handlers on its way to the answer. What it cannot use (an unknown option, a
  missing value, an option value of the wrong form, a template field it does not know)
  is said in at most one line on stderr, and the line it can give is still printed;
* under ``--json``, prints one JSON object instead: the line, its state and what it did
  about a refresh.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING, Final, TextIO

from overage_credit_grant.core import is_upsell_eligible

from .._grant import GRANT, format_grant_amount
from .._settings import Settings

if TYPE_CHECKING:
    from overage_credit_grant.core import GrantInfo

__all__ = ["FIELDS", "fill", "run_from_argv", "run_statusline", "statusline_text", "unknown_fields"]

GRANT_REF: Final = "overage_credit_grant.shell._grant:GRANT"
_STDIN_LIMIT: Final = 1 << 20
_STDIN_WAIT_S: Final = 0.2
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


def drain_stdin(stream: TextIO | None = None) -> bytes:
    """Whatever is on stdin, read for at most a moment and at most 1 MiB; never blocks."""
    try:
        fd = (stream or sys.stdin).fileno()
        if os.isatty(fd):
            return b""
        import select  # noqa: PLC0415
        import time  # noqa: PLC0415

        chunks: list[bytes] = []
        size, deadline = 0, time.monotonic() + _STDIN_WAIT_S
        while size < _STDIN_LIMIT:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except (OSError, ValueError, AttributeError):
        return b""


def run_statusline(
    settings: Settings,
    template: str | None,
    out: TextIO | None = None,
    *,
    as_json: bool = False,
) -> int:
    """Print the line; start a background refresh when nothing fresh is cached. Returns 0."""
    out = out or sys.stdout
    line, info, refresh = "", None, "not_needed"
    try:
        drain_stdin()
        info = GRANT.get(settings)
        if info is None:
            from .._background import refresh_detached  # noqa: PLC0415

            refresh = refresh_detached(GRANT, GRANT_REF, settings)
        line = statusline_text(info, template)
    except Exception:  # a status line shows nothing rather than a traceback
        refresh = "internal_error"
    if as_json:
        import json  # noqa: PLC0415

        said = grant_state(info)
        line = json.dumps(
            {
                "status": "ok",
                "line": line,
                "state": said[0] if said else None,
                "amount": said[1] if said else None,
                "refresh": refresh,
                "exit_code": 0,
            }
        )
    try:
        out.write(line + "\n")
        out.flush()
    except (OSError, ValueError):
        pass  # the reader went away: nothing to tell it
    return 0


def run_from_argv(argv: list[str]) -> int:
    """``overage-grant [OPTIONS] statusline [OPTIONS]``, whatever the options are: what it
    cannot use is said in one line on stderr, and the line is printed anyway. Returns 0."""
    problems: list[str] = []
    try:
        from .argv import parse_fast, parse_lenient  # noqa: PLC0415
        from .options import settings_of, usage_problem  # noqa: PLC0415

        options = parse_fast(argv)
        if options is None:
            options, ignored = parse_lenient(argv, "statusline")
            if ignored:
                problems.append("ignored " + " ".join(repr(w) for w in ignored[:3]))
        problem = usage_problem(options)
        if problem is not None:
            problems.append(problem)
        if options.format is not None and (unknown := unknown_fields(options.format)):
            known = ", ".join("{" + name + "}" for name in FIELDS)
            problems.append(f"--format: unknown {' '.join(unknown)} (known: {known})")
        settings = settings_of(options)
    except Exception as exc:  # a broken install: an empty line, one word on stderr
        _say([f"internal error ({type(exc).__name__})"])
        return run_empty()
    _say(problems)
    return run_statusline(settings, options.format, as_json=options.json)


def _say(problems: list[str]) -> None:
    if problems:
        with contextlib.suppress(OSError, ValueError):
            print(f"overage-grant statusline: {'; '.join(problems)}", file=sys.stderr)


def run_empty() -> int:
    with contextlib.suppress(OSError, ValueError):
        print(flush=True)
    return 0
