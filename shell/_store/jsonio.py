"""JSON config files: reading them safely, parsing, and the bytes we write.

Shared by the read side (`files`), the write side (`filewrite`) and the account
readers (`shell._account`). Everything here is bounded:

* a file is opened without blocking (``O_NONBLOCK``) and without becoming a controlling
  terminal, and refused unless it is a regular file: a FIFO, socket, device or directory
  at a config path is reported, never waited on, read forever or replaced;
* at most `MAX_CONFIG_BYTES` are read; a larger file is refused, not loaded;
* parsing catches every way JSON can fail, deep nesting included.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from returns.result import Failure, Result, Success

__all__ = [
    "MAX_CONFIG_BYTES",
    "TooLarge",
    "describe_os_error",
    "fast_json_safe",
    "parse_config",
    "read_all",
    "read_regular_file",
    "serialize_config",
    "with_regular_file",
]

Config = Mapping[str, object]
R = TypeVar("R")

MAX_CONFIG_BYTES: Final = 64 * 1024 * 1024
_FAST_JSON_FROM: Final = 64 * 1024  # below this, orjson's import costs more than it saves
_OPEN_FLAGS: Final = (
    os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
)
_KINDS: Final = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)
# Own table, not a memo: one slot for the optional module, imported at most once.
_orjson_module: list[Any] = []


def describe_os_error(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def not_regular(mode: int) -> str | None:
    """Why a file of this mode may not be used as a config, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, name in _KINDS:
        if test(mode):
            return f"config path is {name}, not a regular file"
    return "config path is not a regular file"


class TooLarge(ValueError):
    """A file grew past the size cap while it was read."""


def with_regular_file(
    path: str | os.PathLike[str],
    use: Callable[[int, os.stat_result], R],
    max_bytes: int = MAX_CONFIG_BYTES,
) -> Result[R | None, str]:
    """`use(fd, stat)` of the file, opened without blocking; `Success(None)` when it does
    not exist. Anything but a regular file, or a file over `max_bytes`, is a `Failure`
    saying why (and `use` is never called); so is an `OSError` or `TooLarge` it raises."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return Success(None)
    except OSError as exc:
        return Failure(f"config cannot be read: {describe_os_error(exc)}")
    try:
        st = os.fstat(fd)
        reason = not_regular(st.st_mode)
        if reason is not None:
            return Failure(reason)
        if st.st_size > max_bytes:
            return Failure(f"config is larger than {max_bytes} bytes")
        return Success(use(fd, st))
    except TooLarge:
        return Failure(f"config is larger than {max_bytes} bytes")
    except OSError as exc:
        return Failure(f"config cannot be read: {describe_os_error(exc)}")
    finally:
        os.close(fd)


def read_all(fd: int, st: os.stat_result, max_bytes: int = MAX_CONFIG_BYTES) -> bytes:
    """What is left to read of `fd` (usually one read of the whole file); `TooLarge` when
    it grows past `max_bytes` while it is read."""
    chunks: list[bytes] = []
    size, step = 0, max(st.st_size + 1, 1 << 16)
    while chunk := os.read(fd, min(step, max_bytes + 1 - size)):
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_regular_file(
    path: str | os.PathLike[str], max_bytes: int = MAX_CONFIG_BYTES
) -> Result[tuple[os.stat_result, bytes] | None, str]:
    """The file's stat and bytes; `Success(None)` when it does not exist; never blocks.
    Anything but a regular file, or a file over `max_bytes`, is a `Failure` saying why."""
    return with_regular_file(path, lambda fd, st: (st, read_all(fd, st, max_bytes)), max_bytes)


def _orjson() -> Any:
    """The optional `orjson` module (the ``fast`` extra), or None; imported once, lazily."""
    if not _orjson_module:
        try:
            _orjson_module.append(__import__("orjson"))
        except ImportError:
            _orjson_module.append(None)
    return _orjson_module[0]


def _loads(data: bytes) -> object:
    fast = _orjson() if len(data) >= _FAST_JSON_FROM else None
    if fast is not None:
        try:
            return fast.loads(data)
        except fast.JSONDecodeError:
            pass  # NaN, integers past 64 bits, UTF-16...: the standard library decides
    return json.loads(data)


def fast_json_safe(data: bytes) -> bool:
    """Whether a config read as `data` may be written by orjson without a change of meaning:
    large enough to gain, and holding no NaN or Infinity (which orjson would write as null)."""
    return len(data) >= _FAST_JSON_FROM and b"NaN" not in data and b"Infinity" not in data


def parse_config(data: bytes) -> Result[Config, str]:
    """Bytes of a config file to a JSON object; blank counts as ``{}``. Total: never raises."""
    if not data.strip():
        return Success({})
    try:
        parsed = _loads(data)
    except UnicodeDecodeError:
        return Failure("config is not UTF-8 text")
    except ValueError as exc:
        detail = (
            f" ({exc.msg} at line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        )
        return Failure(f"config is not valid JSON{detail}")
    except RecursionError:
        return Failure("config is nested too deeply to read")
    if not isinstance(parsed, dict):
        return Failure(f"config is not a JSON object (it holds a {type(parsed).__name__})")
    return Success(parsed)


def serialize_config(config: Config, *, fast: bool = False) -> bytes:
    """The bytes written for a config: two-space JSON, UTF-8, a final newline.

    With `fast` (only for configs free of NaN and Infinity: see `fast_json_safe`) and
    orjson installed, orjson writes the same JSON values about 30 times faster; anything
    it refuses (integers past 64 bits, lone surrogates, odd keys) falls back here.
    """
    lib = _orjson() if fast else None
    if lib is not None:
        try:
            return bytes(lib.dumps(config, option=lib.OPT_INDENT_2)) + b"\n"
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            pass
    try:
        text = json.dumps(config, indent=2, ensure_ascii=False)
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: escape them so the file stays UTF-8
        return (json.dumps(config, indent=2, ensure_ascii=True) + "\n").encode("ascii")
