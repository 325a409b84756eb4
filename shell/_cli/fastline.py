"""The status line when nothing changed since the last render: its answer, replayed.

A render's answer (the line on stdout, at most one line on stderr) depends on nothing but:
the command line; the environment variables that choose the files, the account and
whether a request may be made (`_places.RENDER_ENV`); what our config and Claude Code's
global config hold; the package's code; and the clock, through which entries are fresh.
After a render that found a fresh value (so it started no refresh), `record` writes all
of that beside its answer, in one small file of the user's cache folder: the files as
stat signatures taken *before* the render read them, the clock as the span in which every
entry it looked at stays as fresh as it was (`core.freshness_window`), and, for Claude
Code's large file, the bytes of the two values we read of it (`_store.toplevel`). The
next render asks `replay`: the same command line, environment and code, the clock inside
the span, our config's signature unchanged, and Claude Code's file either unchanged or
rewritten with those two values byte for byte the same (Claude Code rewrites its file
after every message; the account and the grant rarely change). Then the answer is
printed as it was, after one read of that small file, a few `stat` calls and, after a
rewrite, one search of Claude Code's file from its end, and nothing else of the package
is loaded. Anything different or in doubt (no record, another's, a malformed one, a Redis
store, a platform whose default folders are not written out) and the render runs in
full. The record holds no secret: no token, no Redis URL.

A file rewritten in place with the same size within one tick of the file system's clock
keeps its signature; the lock-free reads of the package share that limit.
"""

from __future__ import annotations

import os
import sys
import time

from .._places import CLAUDE_CODE_KEYS, REDIS_URL_ENV, RENDER_ENV, default_cache_dir
from .._store.keyscache import encode_values, kept_raw_values, signed
from .._store.smallfile import read_small, write_small

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Final, TextIO

__all__ = [
    "claude_values",
    "drain_stdin",
    "record",
    "replay",
    "signatures",
]

MAGIC: Final = "overage-grant statusline answer 2"
RECORD_NAME: Final = "statusline-answer"
_SEP: Final = "\x1f"
_RECORD_MAX: Final = 64 * 1024
_STDIN_LIMIT: Final = 1 << 20
_STDIN_WAIT_S: Final = 0.2
# Claude Code's file is read as its readers read it: links followed, never blocking.
_CLAUDE_FLAGS: Final = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_CLAUDE_MAX: Final = 64 * 1024 * 1024


def _key(argv: Sequence[str], env: Mapping[str, str]) -> str | None:
    """What, besides the files and the clock, decides the answer; None: no replay."""
    if env.get(REDIS_URL_ENV) or any(word.startswith("--redis-url") for word in argv):
        return None  # a fleet's store: its near cache is the fast path
    code = os.stat(__file__)  # this install of the package (a reinstall rewrites it)
    parts = [MAGIC, __file__, f"{code.st_ino}:{code.st_size}:{code.st_mtime_ns}"]
    parts += [f"{name}={env[name]}" if name in env else name for name in RENDER_ENV]
    parts += ["--", *argv]
    key = _SEP.join(parts)
    return None if "\n" in key or "\r" in key else key


def _signature(path: str) -> str | None:
    """A file's stat signature, ``-`` when it does not exist, None when it cannot be had."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "-"
    except (OSError, ValueError):
        return None
    return signed(st)


def claude_values(path: str, env: Mapping[str, str]) -> tuple[str, str] | None:
    """Claude Code's file's signature and the bytes (as hex) of the values we read of it,
    when it is large and in its own layout; None otherwise (then no rewrite of it can be
    told harmless). What a search finds is kept for the next process (`keyscache`)."""
    try:
        fd = os.open(path, _CLAUDE_FLAGS)
    except (OSError, ValueError):
        return None
    try:
        import stat  # noqa: PLC0415  (a builtin module: next to nothing)

        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _CLAUDE_MAX:
            return None
        raw = kept_raw_values(default_cache_dir(env), path, fd, st, CLAUDE_CODE_KEYS)
    except OSError:
        return None
    finally:
        os.close(fd)
    if raw is None:
        return None
    return signed(st), encode_values(raw)


def signatures(paths: Sequence[str]) -> list[tuple[str, str]] | None:
    """The files' signatures, taken before a render reads them; None: no record."""
    found = []
    for path in paths:
        signature = _signature(path)
        if signature is None or _SEP in path or "\n" in path:
            return None
        found.append((path, signature))
    return found


def _record_path(env: Mapping[str, str]) -> str | None:
    folder = default_cache_dir(env)
    return None if folder is None else os.path.join(folder, RECORD_NAME)


def replay(
    argv: Sequence[str],
    env: Mapping[str, str],
    now_ms: int | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> bool:
    """Print the recorded answer when everything it depends on is as it was; True when it
    did (stdin is drained first, as a full render does)."""
    key = _key(argv, env)
    path = _record_path(env) if key is not None else None
    text = read_small(path, _RECORD_MAX) if path is not None else None
    if text is None or path is None:
        return False
    lines = text.split("\n")
    if len(lines) != 8 or lines[0] != MAGIC or lines[1] != key or lines[7] != "":
        return False
    files = lines[2].split(_SEP)
    if len(files) % 2:
        return False
    pairs = [(files[i], files[i + 1]) for i in range(0, len(files), 2)]
    changed = [(p, signature) for p, signature in pairs if _signature(p) != signature]
    rewritten: tuple[str, str] | None = None
    if changed:  # only Claude Code's file, rewritten with the values we read unchanged
        claude, _, values = lines[4].partition(_SEP)
        if len(changed) != 1 or changed[0][0] != claude or not values:
            return False
        now_values = claude_values(claude, env)
        if now_values is None or now_values[1] != values:
            return False
        rewritten = (claude, now_values[0])
    start, _, end = lines[3].partition(_SEP)
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    try:
        if (start and now < int(start)) or (end and now >= int(end)):
            return False
    except ValueError:
        return False
    drain_stdin()
    try:
        (out or sys.stdout).write(lines[5] + "\n")
        (out or sys.stdout).flush()
        if lines[6]:
            (err or sys.stderr).write(lines[6] + "\n")
    except (OSError, ValueError):
        pass  # the reader went away
    if rewritten is not None:  # the next render need not search the file again
        new_pairs = [(p, rewritten[1] if p == rewritten[0] else s) for p, s in pairs]
        lines[2] = _SEP.join(part for pair in new_pairs for part in pair)
        lines[4] = f"{rewritten[0]}{_SEP}{lines[4].partition(_SEP)[2]}"
        write_small(path, "\n".join(lines))
    return True


def record(
    argv: Sequence[str],
    env: Mapping[str, str],
    files: list[tuple[str, str]],
    window: tuple[int | None, int | None],
    out_text: str,
    err_text: str,
    claude: tuple[str, str] | None = None,
) -> None:
    """Write the answer a render printed, with what it depended on, for `replay`; with
    `claude`, Claude Code's file's path and the values the render read of it (when it
    read them under the signature the render started with). Best effort: a record that
    cannot be written only means the next render runs in full."""
    key = _key(argv, env)
    path = _record_path(env) if key is not None else None
    if path is None or "\n" in out_text or "\n" in err_text:
        return
    values = "" if claude is None else f"{claude[0]}{_SEP}{claude[1]}"
    start, end = ("" if bound is None else str(bound) for bound in window)
    flat = _SEP.join(part for pair in files for part in pair)
    lines = [MAGIC, key or "", flat, f"{start}{_SEP}{end}", values, out_text, err_text, ""]
    write_small(path, "\n".join(lines))


def drain_stdin(stream: TextIO | None = None) -> bytes:
    """Whatever is on stdin, read for at most a moment and at most 1 MiB; never blocks."""
    try:
        fd = (stream or sys.stdin).fileno()
        if os.isatty(fd):
            return b""
        blocking = os.get_blocking(fd)
        os.set_blocking(fd, False)  # what is there is read at once; `select` waits for more
    except (OSError, ValueError, AttributeError):
        return b""
    chunks: list[bytes] = []
    size, deadline = 0, time.monotonic() + _STDIN_WAIT_S
    try:
        while size < _STDIN_LIMIT:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:  # the writer is still there: wait a moment for more
                import select  # noqa: PLC0415  (Claude Code has usually written and closed)

                left = deadline - time.monotonic()
                if left <= 0 or not select.select([fd], [], [], left)[0]:
                    break
                continue
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except (OSError, ValueError):
        pass
    finally:
        try:  # noqa: SIM105  (contextlib is not loaded on this path)
            os.set_blocking(fd, blocking)
        except OSError:
            pass
    return b"".join(chunks)
