"""Separate worker processes (tests/_worker.py) that start an operation together."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .helpers import TOKEN

WORKER = str(Path(__file__).with_name("_worker.py"))


def spawn_worker(
    op: str, config: Path, orgs: str, base_url: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """A worker that imports everything, says "ready", and waits for "go" on stdin."""
    return subprocess.Popen(
        [sys.executable, WORKER, op, str(config), orgs, base_url, "go", *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CLAUDE_CODE_OAUTH_TOKEN": TOKEN, **(env or {})},
    )


def start_together(procs: list[subprocess.Popen[str]]) -> None:
    """Wait until every worker is ready, then let them all go at once."""
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()


def collect(procs: list[subprocess.Popen[str]]) -> list[dict[str, object]]:
    """Each worker's JSON result; no worker may fail, trace back or print the token."""
    found = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert TOKEN not in out
        assert TOKEN not in err
        assert "Traceback" not in err
        found.append(json.loads(out))
    return found
