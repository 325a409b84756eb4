"""``overage-grant demo``: the whole life of a cached grant, with what each step cost.

No account, no network, no files outside a temporary folder: the reference backend
runs on a free loopback port and the config lives in a temporary folder. Requests are
counted by the backend; writes by the config file's identity (inode, mtime), not by
trusting the code under test.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from overage_credit_grant.core import is_upsell_eligible

from .._grant import (
    format_grant_amount,
    get_cached_overage_credit_grant,
    invalidate_overage_credit_grant_cache,
    refresh_overage_credit_grant_cache,
)
from .._settings import Settings
from .server import SAMPLE_ORG, SAMPLE_TOKEN, Backend, ReferenceServer

__all__ = ["run_demo"]


@dataclass(frozen=True, slots=True)
class _Step:
    name: str
    requests: int
    writes: int
    result: str
    expected: tuple[int, int]

    @property
    def as_expected(self) -> bool:
        return (self.requests, self.writes) == self.expected


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns)


def run_demo(*, as_json: bool = False, out: TextIO | None = None) -> int:
    """Run the walk-through; 0 when every step cost what it should."""
    out = out or sys.stdout
    backend = Backend.sample()
    steps: list[_Step] = []
    with (
        tempfile.TemporaryDirectory(prefix="overage-grant-demo-") as folder,
        ReferenceServer(backend) as server,
    ):
        config = Path(folder) / "config.json"
        settings = Settings(
            config_path=config,
            organization=SAMPLE_ORG,
            token=SAMPLE_TOKEN,
            base_url=server.base_url,
            env={},  # the demo ignores the caller's privacy switch and account
        )

        def step(name: str, expected: tuple[int, int], action: Callable[[], str]) -> None:
            requests, identity = backend.requests, _file_identity(config)
            result = action()
            wrote = int(_file_identity(config) != identity)
            steps.append(_Step(name, backend.requests - requests, wrote, result, expected))

        def refresh() -> str:
            outcome = refresh_overage_credit_grant_cache(settings)
            amount = format_grant_amount(outcome.info) if outcome.info else None
            return f"{outcome.status.value} ({amount})" if amount else str(outcome)

        def read() -> str:
            info = get_cached_overage_credit_grant(settings)
            return "nothing cached" if info is None else f"{format_grant_amount(info)} from cache"

        def invalidate() -> str:
            return str(invalidate_overage_credit_grant_cache(settings))

        step("first fetch", (1, 1), refresh)
        step("cached read", (0, 0), read)
        step("unchanged refresh", (1, 0), refresh)
        backend.set_grant(SAMPLE_ORG, {**backend.grants[SAMPLE_ORG], "amount_minor_units": 1000})
        step("grant changes on backend, refresh", (1, 1), refresh)
        step("invalidate", (0, 1), invalidate)
        step("cached read", (0, 0), read)
        step("refetch", (1, 1), refresh)
        final = get_cached_overage_credit_grant(settings)
        base_url = server.base_url
    upsell = (
        f"{format_grant_amount(final)} in extra usage for third-party apps"
        if final is not None and is_upsell_eligible(final)
        else None
    )
    ok = all(s.as_expected for s in steps)
    if as_json:
        rows = [
            {
                "step": s.name,
                "requests": s.requests,
                "writes": s.writes,
                "result": s.result,
                "as_expected": s.as_expected,
            }
            for s in steps
        ]
        said = {
            "status": "ok" if ok else "unexpected_cost",
            "steps": rows,
            "upsell": upsell,
            "ok": ok,
            "exit_code": 0 if ok else 1,
        }
        print(json.dumps(said, indent=2), file=out)
    else:
        print(f"reference backend on {base_url}, config in a temporary folder\n", file=out)
        print(f"  {'step':38}  {'requests':>8}  {'writes':>6}  result", file=out)
        for number, s in enumerate(steps, 1):
            mark = "" if s.as_expected else f"  (expected {s.expected[0]} / {s.expected[1]})"
            print(
                f"  {number}  {s.name:35}  {s.requests:>8}  {s.writes:>6}  {s.result}{mark}",
                file=out,
            )
        total_requests = sum(s.requests for s in steps)
        total_writes = sum(s.writes for s in steps)
        print(f"\n  {'total':38}  {total_requests:>8}  {total_writes:>6}", file=out)
        if upsell:
            print(f"\n{upsell}", file=out)
    return 0 if ok else 1
