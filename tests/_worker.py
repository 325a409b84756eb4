"""A separate process for the multi-process tests: one operation, its outcome as JSON.

    python _worker.py refresh|invalidate|hold-lock CONFIG ORG BASE_URL START_AT [SECONDS]

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
    from overage_credit_grant.shell import (
        Settings,
        invalidate_overage_credit_grant_cache,
        refresh_overage_credit_grant_cache,
    )

    settings = Settings(
        config_path=Path(config),
        organization=org,
        token=os.environ["CLAUDE_CODE_OAUTH_TOKEN"],
        base_url=base_url,
        lock_timeout_s=float(os.environ.get("LOCK_TIMEOUT_S", "30")),
        read_timeout_s=10,
        total_timeout_s=20,
    )
    if op == "hold-lock":
        import filelock

        with filelock.FileLock(f"{os.path.realpath(config)}.lock"):
            print(json.dumps({"status": "holding"}), flush=True)
            time.sleep(float(argv[5]))
        return 0
    delay = float(start_at) - time.time()
    if delay > 0:
        time.sleep(delay)
    if op == "refresh":
        outcome = refresh_overage_credit_grant_cache(settings)
    else:
        outcome = invalidate_overage_credit_grant_cache(settings)
    print(json.dumps({"status": outcome.status.value, "detail": outcome.detail}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
