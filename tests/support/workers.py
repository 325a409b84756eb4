"""Worker processes that run one lookup operation each, started together.

The launcher side (`spawn_worker`, `start_together`, `collect`) runs in the test; the
worker side is this module run as a program from the repository root:

    python -m tests.support.workers OP CONFIG ORG[,ORG...] BASE_URL START [SECONDS]

OP is refresh, invalidate or hold-lock.

START is a wall-clock time to start at, or "go": print "ready", then start on a line
from stdin. With REDIS_URL and REDIS_PREFIX set, the worker is a host of a fleet on that
Redis (NEAR_CACHE=1 turns its near cache on). LOOKUP names the lookup (`lookups`: grant,
the default, or seats). The worker prints the outcome's status as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .backend import TOKEN

ROOT = Path(__file__).resolve().parents[2]


def run_module(module: str, *args: str) -> list[str]:
    """The command line that runs `module` of this test suite as a program."""
    return [sys.executable, "-m", module, *args]


def spawn_worker(
    op: str, config: Path, orgs: str, base_url: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """A worker that imports everything, says "ready", and waits for "go" on stdin."""
    return subprocess.Popen(
        run_module(__name__, op, str(config), orgs, base_url, "go", *extra),
        cwd=ROOT,
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


def main(argv: list[str]) -> int:
    """The worker: one operation with its own Settings; its outcome as JSON."""
    op, config, org, base_url, start_at = argv[:5]
    from overage_credit_grant.shell import Settings

    from .lookups import LOOKUPS

    lookup = LOOKUPS[os.environ.get("LOOKUP", "grant")]
    store = None
    if os.environ.get("REDIS_URL"):  # a host of a fleet sharing one Redis
        from overage_credit_grant.shell import RedisStore

        store = RedisStore.from_url(
            os.environ["REDIS_URL"],
            prefix=os.environ["REDIS_PREFIX"],
            near_cache=os.environ.get("NEAR_CACHE") == "1",
        )
    settings = Settings(
        config_path=Path(config),
        organization=org.split(",")[0],
        token=os.environ["CLAUDE_CODE_OAUTH_TOKEN"],
        base_url=base_url,
        lock_timeout_s=float(os.environ.get("LOCK_TIMEOUT_S", "30")),
        read_timeout_s=10,
        total_timeout_s=20,
        store=store,
    )
    if op == "hold-lock":
        import filelock

        with filelock.FileLock(f"{os.path.realpath(config)}.lock"):
            print(json.dumps({"status": "holding"}), flush=True)
            time.sleep(float(argv[5]))
        return 0
    if start_at == "go":  # start together: say so, then wait for the word
        print("ready", flush=True)
        sys.stdin.readline()
    else:
        time.sleep(max(0.0, float(start_at) - time.time()))
    call = lookup.refresh if op == "refresh" else lookup.invalidate
    outcomes = [call(settings.replace(organization=one)) for one in org.split(",")]
    print(
        json.dumps(
            {
                "status": outcomes[0].status.value,
                "detail": outcomes[0].detail,
                "statuses": [o.status.value for o in outcomes],
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
