"""A separate process for the multi-process tests: one operation, its outcome as JSON.

    python _worker.py refresh|invalidate|hold-lock CONFIG ORG[,ORG...] BASE_URL START [SECONDS]

START is a wall-clock time to start at, or "go": print "ready", then start on a line
from stdin (see tests/workers.py).

With REDIS_URL and REDIS_PREFIX set, the worker is a host of a fleet on that Redis.
LOOKUP names the lookup (tests/lookups.py: grant, the default, or seats).

Waits until the wall clock reaches START_AT (so many workers start together), runs the
operation with its own Settings, and prints the outcome's status.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    op, config, org, base_url, start_at = argv[:5]
    from lookups import LOOKUPS  # this folder's tests/lookups.py

    from overage_credit_grant.shell import Settings

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
