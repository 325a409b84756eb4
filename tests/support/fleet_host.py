"""A host of a fleet, as an app runs it: it reads each org's grant with `get()` and, when
that finds nothing, refreshes and reads again. One round per line on stdin.

    python -m tests.support.fleet_host REDIS_URL PREFIX BASE_URL ORG[,ORG...]   (from the root)

Prints ``{"ready": true}``, then for every line it reads (a round), one JSON line:
``{"amounts": {org: amount or null}, "refreshes": {org: status}, "clock_ms": <its wall
clock>}``. Stops when stdin closes. Its settings keep the default clock, so the store's
clock decides what is fresh (run it under ``faketime`` to give it another clock).
`FleetHost` runs one and asks it for rounds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .backend import TOKEN
from .workers import ROOT, run_module


class FleetHost:
    """One host process; `round()` has it read every org once (refreshing where needed)."""

    def __init__(
        self,
        url: str,
        prefix: str,
        base_url: str,
        orgs: list[str],
        *,
        wrapper: Sequence[str] = (),
    ) -> None:
        env = {**os.environ, "CLAUDE_CODE_OAUTH_TOKEN": TOKEN}
        self.proc = subprocess.Popen(
            [*wrapper, *run_module(__name__, url, prefix, base_url, ",".join(orgs))],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert json.loads(self._line()) == {"ready": True}

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "the host died"
        return line

    def round(self) -> dict[str, object]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        answer: dict[str, object] = json.loads(self._line())
        return answer

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(20)


def faketime(offset: str) -> list[str]:
    """The command prefix that runs a program with its clock moved by `offset` ("+2h")."""
    import shutil

    found = shutil.which("faketime")
    if found is None:
        import pytest

        if os.environ.get("CI"):
            pytest.fail("faketime is missing: .ci/run installs it from Debian's packages")
        pytest.skip("faketime is not installed (apt-get install faketime)")
    return [found, "-f", offset]


def main(url: str, prefix: str, base_url: str, orgs: str) -> int:
    from overage_credit_grant.shell import GRANT, RedisStore, Settings

    store = RedisStore.from_url(url, prefix=prefix)
    settings = Settings(
        config_path=Path("unused.json"),
        token=os.environ["CLAUDE_CODE_OAUTH_TOKEN"],
        base_url=base_url,
        store=store,
        env={},
    )
    print(json.dumps({"ready": True}), flush=True)
    for _ in sys.stdin:
        amounts: dict[str, int | None] = {}
        refreshes: dict[str, str] = {}
        for org in orgs.split(","):
            s = settings.replace(organization=org)
            info = GRANT.get(s)
            if info is None:
                refreshes[org] = GRANT.refresh(s).status.value
                info = GRANT.get(s)
            amounts[org] = None if info is None else info.amount_minor_units
        answer = {"amounts": amounts, "refreshes": refreshes, "clock_ms": time.time_ns() // 10**6}
        print(json.dumps(answer), flush=True)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
