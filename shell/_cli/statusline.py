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
  logging's handlers on its way to the answer.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Final, TextIO

from overage_credit_grant.core import is_upsell_eligible

from .._grant import GRANT, format_grant_amount
from .._settings import Settings

if TYPE_CHECKING:
    from overage_credit_grant.core import GrantInfo

__all__ = ["fill", "run_statusline", "statusline_text"]

GRANT_REF: Final = "overage_credit_grant.shell._grant:GRANT"
_STDIN_LIMIT: Final = 1 << 20
_STDIN_WAIT_S: Final = 0.2


def statusline_text(info: GrantInfo | None, template: str | None = None) -> str:
    """The line for a grant: the upsell, the granted amount, or empty; through `template`."""
    amount = format_grant_amount(info) if info is not None else None
    if info is None or amount is None:
        return ""
    if is_upsell_eligible(info):
        state, line = "available", f"{amount} in extra usage for third-party apps"
    elif info.granted and info.amount_minor_units:
        state, line = "granted", f"{amount} extra usage granted"
    else:
        return ""
    text = line if template is None else fill(template, amount=amount, line=line, state=state)
    return " ".join(text.split("\n")).replace("\r", " ")


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


def run_statusline(settings: Settings, template: str | None, out: TextIO | None = None) -> int:
    """Print the line; start a background refresh when nothing fresh is cached. Returns 0."""
    out = out or sys.stdout
    line = ""
    try:
        drain_stdin()
        info = GRANT.get(settings)
        if info is None:
            from .._background import refresh_detached  # noqa: PLC0415

            refresh_detached(GRANT, GRANT_REF, settings)
        line = statusline_text(info, template)
    except Exception:  # noqa: S110  (a status line shows nothing rather than a traceback)
        pass
    try:
        out.write(line + "\n")
        out.flush()
    except (OSError, ValueError):
        pass  # the reader went away: nothing to tell it
    return 0
