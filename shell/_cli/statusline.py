"""``overage-grant statusline``: one line for Claude Code's status line, at once, always.

Claude Code runs the status line command on every render, writes a JSON object to its
stdin and shows the first line it prints. This command:

* reads (and drains) stdin for at most a moment, whatever it holds: nothing in it names
  the organization, and empty, broken or binary input changes nothing;
* prints the grant from the cache (ours, or Claude Code's own fresh entry) in one line:
  the seed's upsell wording when the org is upsell-eligible, ``$5 extra usage granted``
  once the grant is claimed, an empty line when there is nothing to say; ``--format``
  fits it into a line of your own (`lines`);
* when nothing fresh is cached, starts a detached background refresh (`_background`)
  and returns without waiting; the next render shows the result;
* when nothing changed since the last render, replays its answer (`fastline`) without
  loading the rest of the package;
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
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, TextIO

from overage_credit_grant.core import freshness_window

from .._account import valid_organization
from .._grant import GRANT
from .._places import CLAUDE_CODE_KEYS
from .._read import claude_code_entry, our_entry
from .._settings import Settings
from .._store.files import keys_read
from .._store.keyscache import encode_values
from .._store_choice import store_for
from . import fastline
from .lines import FIELDS, grant_state, statusline_text, unknown_fields

if TYPE_CHECKING:
    from overage_credit_grant.core import GrantInfo

__all__ = ["run_from_argv", "run_statusline"]

GRANT_REF: Final = "overage_credit_grant.shell._grant:GRANT"
PREFIX: Final = "overage-grant statusline: "
RefreshStarter = Callable[[Settings], str]


def _start_detached(settings: Settings) -> str:
    from .._background import refresh_detached  # noqa: PLC0415

    return refresh_detached(GRANT, GRANT_REF, settings)


class Answer:
    """What a render prints, whether it came from a fresh value (then no refresh was
    needed, and it may be replayed), and the stamps of the entries it looked at."""

    __slots__ = ("fresh", "line", "stamps")

    def __init__(self, line: str, fresh: bool, stamps: list[int]) -> None:
        self.line, self.fresh, self.stamps = line, fresh, stamps


def answer(
    settings: Settings,
    template: str | None,
    *,
    as_json: bool = False,
    start_refresh: RefreshStarter = _start_detached,
) -> Answer:
    """The line (or JSON object) for the current organization; starts a refresh when
    nothing fresh is cached. Never raises."""
    info: GrantInfo | None = None
    stamps: list[int] = []
    refresh = "not_needed"
    try:
        found = GRANT.find(settings)
        info = None if found is None else found.value
        org = valid_organization(settings)
        if org is not None:
            entries = [our_entry(store_for(settings), GRANT.cache, org)]
            entries.append(claude_code_entry(settings, GRANT.cache, org))
            stamps = [entry.timestamp_ms for entry in entries if entry is not None]
        if found is None:
            refresh = start_refresh(settings)
        line = statusline_text(info, template)
    except Exception:  # a status line shows nothing rather than a traceback
        line, refresh = "", "internal_error"
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
    return Answer(line, refresh == "not_needed", stamps)


def run_statusline(
    settings: Settings,
    template: str | None,
    out: TextIO | None = None,
    *,
    as_json: bool = False,
) -> int:
    """Print the line; start a background refresh when nothing fresh is cached. Returns 0."""
    fastline.drain_stdin()
    _write(out or sys.stdout, answer(settings, template, as_json=as_json).line)
    return 0


def run_from_argv(
    argv: list[str],
    env: Mapping[str, str] | None = None,
    *,
    clock: Callable[[], int] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    start_refresh: RefreshStarter = _start_detached,
    remember: bool = True,
) -> int:
    """``overage-grant [OPTIONS] statusline [OPTIONS]``, whatever the options are: what it
    cannot use is said in one line on stderr, and the line is printed anyway. A render
    that found a fresh value is recorded for `fastline.replay` (with `remember`). Returns 0."""
    env = os.environ if env is None else env
    try:
        options, problems = _read_options(argv)
        from .options import settings_of  # noqa: PLC0415

        settings = settings_of(options, env)
        if settings.redis_url and settings.store is None:  # the server's clock, not a pin
            settings = _on_redis(settings, clock)
            now = settings.clock()
        else:
            now = (clock or settings.clock)()
            settings = settings.replace(clock=lambda: now)  # one moment for the whole render
        files = _files_of(settings) if remember else None
    except Exception as exc:  # a broken install: an empty line, one word on stderr
        _write(err or sys.stderr, f"{PREFIX}internal error ({type(exc).__name__})")
        _write(out or sys.stdout, "")
        return 0
    fastline.drain_stdin()
    try:
        said = answer(settings, options.format, as_json=options.json, start_refresh=start_refresh)
    finally:
        close = getattr(settings.store, "close", None)
        if settings.redis_url and close is not None:
            close()
    problem = PREFIX + "; ".join(problems) if problems else ""
    _write(out or sys.stdout, said.line)
    if problem:
        _write(err or sys.stderr, problem)
    if files is not None and said.fresh:
        window = freshness_window(said.stamps, now, GRANT.cache.ttl_ms)
        fastline.record(argv, env, files, window, said.line, problem, _claude_read(settings, files))
    return 0


def _on_redis(settings: Settings, clock: Callable[[], int] | None) -> Settings:
    """The settings of a render on Redis: a `GlanceStore` (no redis-py import) where the
    URL allows, and the clock injected for tests only (else the server's is used)."""
    from .._store.glance import glance_store  # noqa: PLC0415

    assert settings.redis_url is not None
    glance = glance_store(settings.redis_url, settings.store_timeout_s)
    if glance is not None:
        settings = settings.replace(store=glance)
    return settings if clock is None else settings.replace(clock=clock)


def _read_options(argv: list[str]) -> tuple[Any, list[str]]:
    """The options, and what cannot be used of them (said on stderr)."""
    from .argv import parse_fast, parse_lenient  # noqa: PLC0415
    from .options import usage_problem  # noqa: PLC0415

    problems: list[str] = []
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
    return options, problems


def _files_of(settings: Settings) -> list[tuple[str, str]] | None:
    """The signatures of the files a render of `settings` reads, before it reads them;
    None when the render reads something else (a store object, Redis)."""
    if settings.store is not None or settings.redis_url:
        return None
    paths = [os.fspath(settings.config_path)]
    if settings.claude_config_path is not None:
        paths.append(os.fspath(settings.claude_config_path))
    return fastline.signatures(paths)


def _claude_read(settings: Settings, files: list[tuple[str, str]]) -> tuple[str, str] | None:
    """Claude Code's file and the values this render read of it, when it read them by a
    scan under the signature the render started with (so they are what it answered from)."""
    if settings.claude_config_path is None:
        return None
    path = os.fspath(settings.claude_config_path)
    read = keys_read(path, CLAUDE_CODE_KEYS)
    if read is None or ":".join(map(str, read[0])) != dict(files).get(path):
        return None
    return path, encode_values(read[1])


def _write(stream: TextIO, text: str) -> None:
    with contextlib.suppress(OSError, ValueError):  # the reader went away: nothing to tell
        stream.write(text + "\n")
        stream.flush()
