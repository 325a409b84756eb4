"""One exit-code table, walked over every command and both output modes.

0 ok, 1 failure, 2 usage error, 3 nothing to show or not logged in; ``statusline`` exits
0 whatever it is given. In text mode a failure is exactly one line on stderr and nothing
on stdout; under ``--json`` every outcome is exactly one JSON object on stdout (with its
status and exit code, and the message for a failure), and a failure still one line on
stderr. The installed command runs in a subprocess with an environment of its own.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from overage_credit_grant.shell._cli.output import EXIT_CODES
from overage_credit_grant.shell._cli.server import SAMPLE_ORG, SAMPLE_TOKEN, ReferenceServer

from ..support.cli import SCRIPT, Run, clean_env, run

DOWN = "http://127.0.0.1:1"  # nothing listens there: a failed fetch


@dataclass(frozen=True)
class Case:
    command: str
    situation: str
    args: tuple[str, ...]
    code: int
    token: bool = True
    prepare: str = ""  # "corrupt": our config does not parse; "directory": it is a folder


ORG = ("--org", SAMPLE_ORG)
BASE = "{base}"
CASES = [
    Case("show", "ok", ("show", *ORG, "--base-url", BASE), 0),
    Case("show", "invalid --org", ("show", "--org", "nope"), 2),
    Case("show", "unknown option", ("show", "--nope"), 2),
    Case("show", "malformed --base-url", ("show", *ORG, "--base-url", "not a url"), 2),
    Case("show", "not logged in", ("show",), 3),
    Case("show", "nothing cached", ("show", *ORG, "--no-refresh"), 3),
    Case("show", "fetch failed", ("show", *ORG, "--base-url", DOWN), 1),
    Case("refresh", "ok", ("refresh", *ORG, "--base-url", BASE), 0),
    Case("refresh", "invalid --org", ("refresh", "--org", "nope"), 2),
    Case("refresh", "unknown option", ("refresh", "--nope"), 2),
    Case("refresh", "no credentials", ("refresh", *ORG, "--base-url", BASE), 3, token=False),
    Case("refresh", "fetch failed", ("refresh", *ORG, "--base-url", DOWN), 1),
    Case("refresh", "unreadable config", ("refresh", *ORG, "--base-url", BASE), 1, True, "corrupt"),
    Case("invalidate", "ok", ("invalidate", *ORG), 0),
    Case("invalidate", "invalid --org", ("invalidate", "--org", "nope"), 2),
    Case("invalidate", "unknown option", ("invalidate", "--nope"), 2),
    Case("invalidate", "not logged in", ("invalidate",), 3),
    Case("invalidate", "unreadable config", ("invalidate", *ORG), 1, True, "corrupt"),
    Case("status", "ok", ("status", *ORG), 0),
    Case("status", "invalid --org", ("status", "--org", "nope"), 2),
    Case("status", "unknown option", ("status", "--nope"), 2),
    Case("status", "config is a folder", ("status",), 1, True, "directory"),
    Case("statusline", "ok", ("statusline", *ORG), 0),
    Case("statusline", "invalid --org", ("statusline", "--org", "nope"), 0),
    Case("statusline", "unknown option", ("statusline", "--nope"), 0),
    Case("statusline", "unknown template field", ("statusline", "--format", "{nope}"), 0),
    Case("statusline", "not logged in", ("statusline",), 0),
    Case("serve", "invalid port", ("serve", "--port", "99999"), 2),
    Case("serve", "port not a number", ("serve", "--port", "http"), 2),
    Case("serve", "unknown option", ("serve", "--nope"), 2),
    Case("serve", "port in use", ("serve", "--port", "{busy}"), 1),
    Case("demo", "ok", ("demo",), 0),
    Case("demo", "unknown option", ("demo", "--nope"), 2),
]


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    with ReferenceServer() as server:
        yield server.base_url


@pytest.fixture(scope="module")
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        yield int(taken.getsockname()[1])


def test_every_exit_code_has_a_case_and_the_table_is_the_one_in_the_help() -> None:
    assert {case.code for case in CASES} == set(EXIT_CODES)
    assert {case.command for case in CASES} | {"serve"} >= {
        "show",
        "refresh",
        "invalidate",
        "status",
        "statusline",
        "serve",
        "demo",
    }
    shown = subprocess.run([SCRIPT, "--help"], capture_output=True, text=True, check=True).stdout
    for code, meaning in EXIT_CODES.items():
        assert f"{code}  {meaning.split(':')[0]}" in shown


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.command}-{c.situation}")
def test_the_exit_code_table(
    case: Case, as_json: bool, tmp_path: Path, backend: str, busy_port: int
) -> None:
    env = clean_env(tmp_path)
    if case.prepare == "corrupt":
        Path(env["OVERAGE_GRANT_CONFIG"]).write_text('{"theme": ')
    elif case.prepare == "directory":
        Path(env["OVERAGE_GRANT_CONFIG"]).mkdir()
    args = [a.replace(BASE, backend).replace("{busy}", str(busy_port)) for a in case.args]
    if as_json:
        args = ["--json", *args]
    token = SAMPLE_TOKEN if case.token else None
    result = run(env, *args, token=token, stdin="{}")
    assert result.code == case.code, result
    if case.command == "statusline":
        check_statusline(result, as_json)
    elif as_json:
        check_json(result, case.code)
    elif case.code != 0:
        assert result.out == ""
        assert len(result.err.splitlines()) == 1, result.err
        assert result.err.startswith("overage-grant: ")
    else:
        assert result.err == ""


def check_json(result: Run, code: int) -> None:
    """Exactly one JSON object on stdout; a failure also says so in one stderr line."""
    data = result.json()
    assert isinstance(data, dict)
    assert data["exit_code"] == code
    assert isinstance(data["status"], str)
    assert data["status"]
    if code != 0:
        assert isinstance(data["message"], str)
        assert data["message"]
        assert len(result.err.splitlines()) == 1, result.err
    else:
        assert result.err == ""


def check_statusline(result: Run, as_json: bool) -> None:
    """One line on stdout (a JSON object under --json), at most one on stderr."""
    assert len(result.out.splitlines()) == 1, result.out
    if as_json:
        data = json.loads(result.out)
        assert data["exit_code"] == 0
        assert set(data) >= {"status", "line", "state", "refresh"}
    assert len(result.err.splitlines()) <= 1, result.err


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_serve_runs_until_sigterm_and_exits_0(as_json: bool, tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    proc = subprocess.Popen(
        [SCRIPT, *(["--json"] if as_json else []), "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    assert "serving the reference backend on http://127.0.0.1:" in proc.stderr.readline()
    if as_json:
        assert proc.stdout is not None
        said = json.loads(proc.stdout.readline())
        assert said["status"] == "serving"
        assert said["base_url"].startswith("http://127.0.0.1:")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err
    assert out == ""
