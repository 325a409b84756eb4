"""The path a new user takes, as the README tells it: --version, demo, status on a fresh
home, refresh against a wrong backend then the right one, refresh --force, serve."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from overage_credit_grant.core import __version__
from overage_credit_grant.shell._cli.server import SAMPLE_ORG, SAMPLE_TOKEN

from ..support.cli import clean_env, one_line_error, run, start_serve

WRONG = "http://127.0.0.1:1"  # nothing listens there


def test_the_new_user_path(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    assert run(env, "--version").out == f"overage-grant {__version__}\n"

    demo = run(env, "demo")
    assert demo.code == 0
    assert "total                                          4       4" in demo.out

    fresh = run(env, "status")
    assert fresh.code == 0
    assert fresh.out.splitlines()[0].endswith("config.json (no file yet)")
    assert ".claude.json" not in fresh.out  # Claude Code's file does not exist: not listed
    assert "no cached grants" in fresh.out

    proc, right = start_serve(env, None)
    try:
        env = {**env, "CLAUDE_CODE_ORGANIZATION_UUID": SAMPLE_ORG}
        failed = run(env, "refresh", "--base-url", WRONG, token=SAMPLE_TOKEN)
        assert failed.code == 1
        assert "fetch failed network" in one_line_error(failed)
        held = run(env, "refresh", "--base-url", WRONG, token=SAMPLE_TOKEN)
        assert held.code == 1
        said = one_line_error(held)
        assert f"backing off: 1 failed fetch(es) in a row against {WRONG}" in said
        assert "overage-grant refresh --force tries now" in said

        status = run(env, "--json", "status")
        [backoff] = status.json()["backoff"]  # type: ignore[index]
        assert backoff["target"] == WRONG
        assert backoff["failures"] == 1
        assert 0 < backoff["retry_in_s"] <= 60
        assert f"against {WRONG}, next try in" in run(env, "status").out

        corrected = run(env, "refresh", "--base-url", right, token=SAMPLE_TOKEN)  # at once
        assert (corrected.code, corrected.out) == (0, "written ($5)\n")
        assert "backoff" not in json.dumps(run(env, "--json", "status").json()["entries"])  # type: ignore[index]
        assert run(env, "--json", "status").json()["backoff"] == []  # type: ignore[index]

        run(env, "refresh", "--base-url", WRONG, token=SAMPLE_TOKEN)  # fails: backing off again
        forced = run(env, "refresh", "--force", "--base-url", WRONG, token=SAMPLE_TOKEN)
        assert forced.code == 1
        assert "fetch failed network" in one_line_error(forced)  # asked, not held back
        kept = run(env, "invalidate", "--base-url", WRONG)
        assert kept.code == 0
        assert kept.out.startswith("removed; the backoff is kept: 2 failed fetch(es)")

        shown = run(env, "show", "--base-url", right, token=SAMPLE_TOKEN)
        assert shown.code == 0
        assert "$5 in extra usage for third-party apps" in shown.out
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err
