"""The status line's fast path gives exactly the full path's answer (shell/_cli/fastline.py).

A state machine writes our config and Claude Code's global config in every way they can
be written (Claude Code's indented layout, small and past the scan threshold, compact
JSON, cut short, keys given twice, another copy's tail after the end, rewritten with the
keys we read unchanged), moves the clock across the TTL's edges and back, and changes the
organization variable and the privacy switch. After every step, a render that may replay
a recorded answer (and use what earlier renders kept of Claude Code's file) must print,
byte for byte, what a render computed from the files alone prints.

Every render starts with `clear_all()`: a new process remembers nothing. Every write
gives the file a new modification time: two writes within one tick of the file system's
clock, at the same size and on the same inode, would share a stat signature, the limit
the package documents (see the module docstring of fastline).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from overage_credit_grant.core import CACHE_KEY, CACHE_TTL_MS, ESSENTIAL_TRAFFIC_ENV
from overage_credit_grant.shell._cli import fastline
from overage_credit_grant.shell._cli.statusline import run_from_argv
from overage_credit_grant.shell._memo import clear_all
from overage_credit_grant.shell._places import (
    ORG_ENV,
    PRIVACY_ENV,
    default_cache_dir,
    default_config_path,
)
from overage_credit_grant.shell._store import keyscache
from overage_credit_grant.shell._store.toplevel import SCAN_FROM

from ..support.backend import GRANT_BODY

ORGS = ("0f8fad5b-d9cb-469f-a165-70867728950e", "11111111-2222-4333-8444-555555555555")
NOW = 1_764_000_000_000
ARGVS = (
    ["statusline"],
    ["statusline", "--format", "{amount} | {state}"],
    ["--json", "statusline"],
    ["statusline", "--nope"],
    ["statusline", "--org", ORGS[1]],
)
GRANTS = (
    GRANT_BODY,
    {**GRANT_BODY, "amount_minor_units": 1250},
    {**GRANT_BODY, "granted": True},
    {**GRANT_BODY, "currency": "EUR"},
    {**GRANT_BODY, "available": "yes"},  # not a grant: never shown
)
AGES = (-5_000, 0, 1, 60_000, CACHE_TTL_MS, CACHE_TTL_MS + 1, 3 * CACHE_TTL_MS)
FORMS = ("layout", "small", "compact", "cut", "twice", "tail")


def layout(items: list[tuple[str, object]]) -> bytes:
    lines = [
        f"  {json.dumps(key)}: " + json.dumps(value, indent=2).replace("\n", "\n  ")
        for key, value in items
    ]
    return ("{\n" + ",\n".join(lines) + "\n}").encode()


class ReplayMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.home = tempfile.mkdtemp(prefix="replay-")
        self.env = {"HOME": self.home, "PATH": os.environ.get("PATH", "")}
        self.now = NOW
        self.mtime = 1_700_000_000_000_000_000
        self.claude = os.path.join(self.home, ".claude.json")
        self.ours = default_config_path(self.env)
        os.makedirs(os.path.dirname(self.ours))
        self.claude_items: list[tuple[str, object]] = []
        self.replays = 0

    def teardown(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)

    def _write(self, path: str, data: bytes, in_place: bool) -> None:
        if in_place:
            with open(path, "wb") as f:
                f.write(data)
        else:
            temp = path + ".tmp"
            with open(temp, "wb") as f:
                f.write(data)
            os.replace(temp, path)
        self.mtime += 7_000_000  # a new modification time for every write
        os.utime(path, ns=(self.mtime, self.mtime))

    @initialize()
    def logged_in(self) -> None:
        self.claude_items = [
            ("numStartups", 1),
            ("oauthAccount", {"organizationUuid": ORGS[0]}),
            ("projects", ["x" * 1000] * (SCAN_FROM // 900)),
            (CACHE_KEY, {ORGS[0]: {"info": GRANTS[1], "timestamp": NOW}}),
        ]
        self._write(self.claude, layout(self.claude_items), in_place=False)

    @rule(
        org=st.sampled_from([*ORGS, "not-a-uuid", None]),
        grant=st.sampled_from(GRANTS),
        age=st.sampled_from(AGES),
        form=st.sampled_from(FORMS),
        in_place=st.booleans(),
    )
    def claude_code_writes(
        self, org: str | None, grant: object, age: int, form: str, in_place: bool
    ) -> None:
        account = {} if org is None else {"organizationUuid": org}
        entry = {"info": grant, "timestamp": self.now - age}
        cache = {o: entry for o in ORGS[: 1 + (age % 2)]}
        pad = [("projects", ["x" * 1000] * (SCAN_FROM // 900))] if form != "small" else []
        self.claude_items = [
            ("numStartups", 2),
            ("oauthAccount", account),
            *pad,
            (CACHE_KEY, cache),
        ]
        data = layout(self.claude_items)
        if form == "compact":
            data = json.dumps(dict(self.claude_items)).encode()
        elif form == "cut":
            data = data[: len(data) * 2 // 3]
        elif form == "twice":
            data = layout([*self.claude_items, ("oauthAccount", {"organizationUuid": ORGS[1]})])
        elif form == "tail":
            data += b'"\n  }\n}'
        self._write(self.claude, data, in_place)

    @rule(in_place=st.booleans())
    def claude_code_rewrites_other_keys(self, in_place: bool) -> None:
        """What Claude Code does after every message: the keys we read stay as they were."""
        items = [
            (k, v + 1 if k == "numStartups" and isinstance(v, int) else v)
            for k, v in self.claude_items
        ]
        self.claude_items = items
        self._write(self.claude, layout(items), in_place)

    @rule(org=st.sampled_from(ORGS), grant=st.sampled_from(GRANTS), age=st.sampled_from(AGES))
    def we_write(self, org: str, grant: object, age: int) -> None:
        config = {CACHE_KEY: {org: {"info": grant, "timestamp": self.now - age}}}
        self._write(self.ours, json.dumps(config, indent=2).encode(), in_place=False)

    @rule(data=st.sampled_from([b"", b"{", b"[]", b"{}"]))
    def our_config_is_odd(self, data: bytes) -> None:
        self._write(self.ours, data, in_place=True)

    @rule(ms=st.sampled_from([1, 999, 60_000, CACHE_TTL_MS // 2, CACHE_TTL_MS + 1, -90_000]))
    def clock_moves(self, ms: int) -> None:
        self.now += ms

    @rule(org=st.sampled_from([*ORGS, "not-a-uuid", None]))
    def org_variable(self, org: str | None) -> None:
        if org is None:
            self.env.pop(ORG_ENV, None)
        else:
            self.env[ORG_ENV] = org

    @rule(on=st.booleans())
    def privacy_switch(self, on: bool) -> None:
        if on:
            self.env[PRIVACY_ENV] = "1"
        else:
            self.env.pop(PRIVACY_ENV, None)

    @rule(argv=st.sampled_from(ARGVS[1:]))
    def render(self, argv: list[str]) -> None:
        fast = self._render(argv, fast=True)  # with whatever earlier steps left behind
        full = self._render(argv, fast=False)  # from the files alone
        assert fast == full

    @invariant()
    def every_step_renders_alike(self) -> None:
        """After every step: so each change meets a record made just before it."""
        self.render(ARGVS[0])

    def _render(self, argv: list[str], fast: bool) -> tuple[str, str]:
        clear_all()  # a new process
        if not fast:  # nothing kept on disk either: what Claude Code's file holds, read anew
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(default_cache_dir(self.env) or "", keyscache.NAME))
        out, err = io.StringIO(), io.StringIO()
        if fast and fastline.replay(argv, self.env, self.now, out, err):
            self.replays += 1
            return out.getvalue(), err.getvalue()
        run_from_argv(
            argv,
            self.env,
            clock=lambda: self.now,
            out=out,
            err=err,
            start_refresh=lambda _settings: "started",
            remember=fast,
        )
        return out.getvalue(), err.getvalue()


ReplayMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
TestTheFastPathGivesTheFullPathsAnswer = ReplayMachine.TestCase


def test_the_machine_replays() -> None:
    """The comparison above means something only if answers are replayed: after a render,
    the same render replays, and so does one after a rewrite of other keys."""
    machine = ReplayMachine()
    try:
        machine.logged_in()
        machine.render(ARGVS[0])
        assert machine.replays == 0
        machine.render(ARGVS[0])
        machine.claude_code_rewrites_other_keys(in_place=False)
        machine.render(ARGVS[0])
        assert machine.replays == 2
        machine.clock_moves(CACHE_TTL_MS + 1)  # the entry goes stale: no replay
        machine.render(ARGVS[0])
        assert machine.replays == 2
    finally:
        machine.teardown()


def test_the_privacy_switch_is_named_as_core_names_it() -> None:
    assert PRIVACY_ENV == ESSENTIAL_TRAFFIC_ENV
