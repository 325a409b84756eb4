"""A few top-level values of a large JSON object file, read without reading the rest.

Claude Code keeps its global config (megabytes of project history) in one file written
by ``JSON.stringify(config, null, 2)``, and we need two of its top-level keys. In that
layout every top-level key starts a line indented by exactly two spaces, a string never
holds a raw newline, and deeper lines are indented further: a top-level value can be
found, cut out and parsed alone. `top_level_values` does that when the file has that
layout, and answers None otherwise (the caller then parses the whole file):

* the file starts with ``{\\n  "`` and ends with ``\\n}`` (a final newline allowed): a
  file cut short has no closing line, compact JSON no such opening;
* each key's value is its last top-level occurrence, JSON's rule for duplicate keys: the
  file is searched from its end for ``\\n  "key": `` in chunks of `CHUNK` bytes, reused,
  so a 6 MB file costs a couple of milliseconds and no 6 MB of memory;
* a value runs from there to the next top-level key line (``,\\n  "``) or the closing
  line, must follow a ``,`` (or the opening), and must parse on its own.

`raw_values` gives the values' bytes without parsing them (it imports nothing, so the
status line's fast path can tell whether the keys it depends on changed). Files under
`SCAN_FROM` bytes are always parsed whole. The scan does not look at the
parts it does not read: a key written with JSON escapes (``"oauth\\u0041ccount"``, which
JSON.stringify never writes) is not seen, and a file damaged elsewhere (another copy's
tail after the closing line, a broken value of another key) still gives the keys it holds
intact, where parsing the whole file would give nothing.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not `typing`'s: the status line's fast path imports this module
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Final

__all__ = ["CHUNK", "SCAN_FROM", "parsed", "raw_values", "top_level_values"]

SCAN_FROM: Final = 64 * 1024
CHUNK: Final = 256 * 1024
_OPEN: Final = b'{\n  "'
_NEXT_KEY: Final = b',\n  "'


def _closing_line(fd: int, size: int) -> int | None:
    """Where the closing ``\\n}`` starts, when the file opens and closes as the layout does."""
    if os.pread(fd, len(_OPEN), 0) != _OPEN:
        return None
    tail = os.pread(fd, 3, size - 3)
    if tail.endswith(b"\n}"):
        return size - 2
    if tail == b"\n}\n":
        return size - 3
    return None


def _last_lines(fd: int, end: int, needles: dict[str, bytes]) -> dict[str, int]:
    """The start of the last occurrence of each needle before `end`, searched backwards."""
    overlap = max(len(needle) for needle in needles.values()) - 1
    buffer = bytearray(CHUNK + overlap)
    view = memoryview(buffer)
    found: dict[str, int] = {}
    stop = end
    while stop > 0 and len(found) < len(needles):
        start = max(0, stop - CHUNK)
        wanted = stop - start + min(overlap, end - stop)
        got = os.preadv(fd, [view[:wanted]], start)
        for key, needle in needles.items():
            if key not in found:
                at = buffer.rfind(needle, 0, got)
                if at != -1:
                    found[key] = start + at
        stop = start
    view.release()
    return found


def _value(fd: int, start: int, end: int) -> bytes:
    """The bytes from `start` to the next top-level key line, or to `end`."""
    read = bytearray()
    while True:
        offset = start + len(read)
        if offset >= end:
            return bytes(read[: end - start])
        searched = max(0, len(read) - len(_NEXT_KEY) + 1)
        chunk = os.pread(fd, min(CHUNK, end - offset), offset)
        if not chunk:  # the file shrank under us
            return bytes(read)
        read += chunk
        at = read.find(_NEXT_KEY, searched)
        if at != -1:
            return bytes(read[:at])


def raw_values(fd: int, size: int, keys: Sequence[str]) -> dict[str, bytes] | None:
    """The bytes of the values of those of `keys` that the file `fd` (of `size` bytes)
    holds at its top level, unparsed, when the file is in Claude Code's indented layout
    and at least `SCAN_FROM` long; None when it must be parsed whole instead."""
    if size < SCAN_FROM or any("\\" in key or '"' in key for key in keys):
        return None
    close = _closing_line(fd, size)
    if close is None:
        return None
    needles = {key: b'\n  "' + key.encode("utf-8") + b'": ' for key in keys}
    found: dict[str, bytes] = {}
    for key, at in _last_lines(fd, close, needles).items():
        if at != 1 and os.pread(fd, 1, at - 1) != b",":  # not a top-level line after all
            return None
        found[key] = _value(fd, at + len(needles[key]), close)
    return found


def parsed(raw: dict[str, bytes]) -> dict[str, object] | None:
    """The values of `raw_values`, each parsed alone; None when one does not parse (then
    the file must be parsed whole)."""
    import json  # noqa: PLC0415  (the fast path never parses)

    try:
        return {key: json.loads(value) for key, value in raw.items()}
    except (ValueError, RecursionError):
        return None


def top_level_values(fd: int, size: int, keys: Sequence[str]) -> dict[str, object] | None:
    """`raw_values`, parsed: ``{key: value}``, or None when the file must be parsed whole."""
    raw = raw_values(fd, size, keys)
    return None if raw is None else parsed(raw)
