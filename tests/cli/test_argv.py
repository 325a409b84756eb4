"""The command line's fast path (shell/_cli/argv.py) agrees with argparse (shell/_cli/parser.py).

The fast parser may decline anything (argparse then decides); whatever it accepts,
argparse must accept too, with exactly the same values.
"""

from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from overage_credit_grant.shell._cli.argv import COMMANDS, GLOBAL_FLAGS, STORE_OPTIONS, parse_fast
from overage_credit_grant.shell._cli.options import UsageError
from overage_credit_grant.shell._cli.parser import parse

VALUES = st.one_of(
    st.sampled_from(["x.json", "", "https://h", "redis://:pw@h/0", "{amount} extra", "show"]),
    st.text(max_size=8),
)


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    """Mostly well-formed lines of the fast commands, with odd words mixed in."""
    command = draw(st.sampled_from([*COMMANDS, "serve", "demo", "nope"]))
    flags, valued = COMMANDS.get(command, ({}, {}))
    before_options = [*STORE_OPTIONS, *GLOBAL_FLAGS, "--no-refresh", "--format", "-h"]
    after_options = [*STORE_OPTIONS, *flags, *valued, "--json", "--conf", "--", "-x"]

    def options(names: list[str]) -> list[str]:
        words: list[str] = []
        for name in draw(st.lists(st.sampled_from(names), max_size=4)):
            if name in GLOBAL_FLAGS or name in flags or (name.startswith("-") and len(name) < 4):
                words.append(name)
            elif draw(st.booleans()):
                words.append(f"{name}={draw(VALUES)}")
            else:
                words += [name, draw(VALUES)]
        return words

    return [*options(before_options), command, *options(after_options)]


def argparse_reading(argv: list[str]) -> dict[str, object] | None:
    """argparse's values, or None when it exits (help or a usage error)."""
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            args = parse(argv)
    except (SystemExit, UsageError):
        return None
    return {key: getattr(args, key) for key in ("command", *_KEYS)}


_KEYS = ("config", "base_url", "org", "redis_url", "json", "no_refresh", "force", "format")


@given(command_lines())
@example(["--json", "status"])
@example(["--config", "a", "show", "--config", "b", "--no-refresh"])
@example(["statusline", "--format={amount} extra", "--org", "o"])
@example(["--org", "show", "refresh"])
def test_whatever_the_fast_path_accepts_argparse_reads_the_same(argv: list[str]) -> None:
    fast = parse_fast(argv)
    if fast is None:
        return
    slow = argparse_reading(argv)
    assert slow is not None, f"argparse refuses what the fast path accepted: {argv}"
    assert {key: value for key, value in fast.as_dict().items() if key in slow} == slow


@pytest.mark.parametrize(
    "argv",
    [
        ["statusline"],
        ["show", "--no-refresh", "--json", "--config", "c.json", "--org", "o"],
        ["--config=c.json", "--json", "status"],
        ["refresh", "--base-url", "https://h", "--redis-url=redis://h"],
        ["statusline", "--format", "{amount}"],
    ],
)
def test_the_everyday_lines_take_the_fast_path(argv: list[str]) -> None:
    assert parse_fast(argv) is not None


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--help"],
        ["show", "-h"],
        ["show", "--conf", "x"],  # an abbreviation: argparse's to allow
        ["show", "--config"],  # a missing value: argparse's to report
        ["show", "--config", "--json"],
        ["show", "extra"],
        ["serve"],
        ["demo"],
        ["statusline", "--no-refresh"],
        ["--no-refresh", "show"],
        ["show", "--", "x"],
    ],
)
def test_everything_else_goes_to_argparse(argv: list[str]) -> None:
    assert parse_fast(argv) is None
