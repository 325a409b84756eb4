"""The command line's fast path: plain argument lists parsed without argparse.

argparse is the grammar of ``overage-grant`` (`parser`), but building a parser
and its translated help texts costs a few milliseconds, and a status line pays them on
every render. This module understands the common, well-formed argument lists by itself
and returns None for anything else (help, an unknown or abbreviated option, a missing
value, ``--``, a value that looks like an option), which then goes to argparse for its
full behaviour and error messages. A property test checks that whatever this accepts,
argparse accepts too, with the same values.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing`'s: the status line imports this module
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Final

__all__ = ["COMMANDS", "Options", "command_of", "parse_fast", "parse_lenient"]

STORE_OPTIONS: Final = {
    "--config": "config",
    "--base-url": "base_url",
    "--org": "org",
    "--redis-url": "redis_url",
}
# What each command accepts after its name, besides the store options:
# flags (True when given) and valued options.
COMMANDS: Final[dict[str, tuple[dict[str, str], dict[str, str]]]] = {
    "show": ({"--json": "json", "--no-refresh": "no_refresh"}, {}),
    "refresh": ({"--json": "json", "--force": "force"}, {}),
    "invalidate": ({"--json": "json"}, {}),
    "status": ({"--json": "json"}, {}),
    "statusline": ({"--json": "json"}, {"--format": "format"}),
}
GLOBAL_FLAGS: Final = {"--json": "json"}  # allowed before the command, with STORE_OPTIONS


class Options:
    """What a command line asked for (the attributes argparse's namespace has too)."""

    __slots__ = (
        "base_url",
        "command",
        "config",
        "force",
        "format",
        "json",
        "no_refresh",
        "org",
        "redis_url",
    )

    def __init__(self, command: str) -> None:
        self.command = command
        self.config: str | None = None
        self.base_url: str | None = None
        self.org: str | None = None
        self.redis_url: str | None = None
        self.json = False
        self.no_refresh = False
        self.force = False
        self.format: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {key: getattr(self, key) for key in self.__slots__}


def parse_fast(argv: Sequence[str]) -> Options | None:
    """The options of a well-formed command line of a fast command, or None (argparse)."""
    words = list(argv)
    command_at = next((i for i, w in enumerate(words) if not w.startswith("-")), None)
    if command_at is None:
        return None
    command = words[command_at]
    # A value of a valued option before the command is not a command: argparse decides.
    if command not in COMMANDS or (command_at and words[command_at - 1] in STORE_OPTIONS):
        return None
    flags, valued = COMMANDS[command]
    options = Options(command)
    before = _take(words[:command_at], GLOBAL_FLAGS, STORE_OPTIONS, options)
    after = _take(words[command_at + 1 :], flags, {**STORE_OPTIONS, **valued}, options)
    return options if before and after else None


def _take(
    words: list[str], flags: dict[str, str], valued: dict[str, str], options: Options
) -> bool:
    """Apply `words` to `options`; False at the first word this fast path does not own."""
    i = 0
    while i < len(words):
        word = words[i]
        if word in flags:
            setattr(options, flags[word], True)
            i += 1
            continue
        name, equals, value = word.partition("=")
        if name not in valued:
            return False
        if not equals:
            if i + 1 == len(words):
                return False
            value = words[i + 1]
            i += 1
        if value.startswith("-"):
            return False  # argparse reads it as an option: let it say so
        setattr(options, valued[name], value)
        i += 1
    return True


def command_of(argv: Sequence[str]) -> str | None:
    """The command word of `argv` (the options before it may take values), or None."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in STORE_OPTIONS:
            skip = True
        elif not word.startswith("-"):
            return word
    return None


def parse_lenient(argv: Sequence[str], command: str) -> tuple[Options, list[str]]:
    """`command`'s options read from `argv` whatever else it holds, and the words that were
    ignored (an unknown option, a missing value). For the status line, which shows what it
    can rather than fail."""
    flags, valued = COMMANDS[command]
    flags, valued = {**GLOBAL_FLAGS, **flags}, {**STORE_OPTIONS, **valued}
    options, ignored = Options(command), []
    words, i, seen_command = list(argv), 0, False
    while i < len(words):
        word = words[i]
        name, equals, value = word.partition("=")
        if word == command and not seen_command:
            seen_command = True
        elif word in flags:
            setattr(options, flags[word], True)
        elif name in valued and equals:
            setattr(options, valued[name], value)
        elif name in valued and i + 1 < len(words):
            setattr(options, valued[name], words[i + 1])
            i += 1
        else:
            ignored.append(word)
        i += 1
    return options, ignored
