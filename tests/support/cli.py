"""Running the installed ``overage-grant`` in a subprocess, in an environment of its own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .backend import TOKEN

SCRIPT = str(Path(sys.executable).with_name("overage-grant"))


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


def clean_env(tmp_path: Path) -> dict[str, str]:
    """No account, a HOME of its own, our config in `tmp_path`: nothing real is touched."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "SYSTEMROOT")}
    return {**keep, "HOME": str(home), "OVERAGE_GRANT_CONFIG": str(tmp_path / "config.json")}


def run(env: dict[str, str], *args: str, token: str | None = None, stdin: str | None = None) -> Run:
    """The command's exit code and output; it never prints a traceback or the token."""
    full = {**env, "CLAUDE_CODE_OAUTH_TOKEN": token} if token else env
    done = subprocess.run(
        [SCRIPT, *args],
        env=full,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    for text in (done.stdout, done.stderr):
        assert TOKEN not in text
        assert "Traceback" not in text
    return Run(done.returncode, done.stdout, done.stderr)


def one_line_error(result: Run) -> str:
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("overage-grant: ")
    return lines[0]


def start_serve(
    env: dict[str, str], grants: Path | None, *more: str
) -> tuple[subprocess.Popen[str], str]:
    """`overage-grant serve` on a free port; its address, read from its first line."""
    extra = ["--grants", str(grants)] if grants else []
    proc = subprocess.Popen(
        [SCRIPT, "serve", "--port", "0", *extra, *more],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    match = re.search(r"http://127\.0\.0\.1:\d+", proc.stderr.readline())
    assert match, "serve announces its address"
    return proc, match.group(0)
