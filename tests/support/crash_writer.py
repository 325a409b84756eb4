"""A writer for the crash test: refreshes one org in a loop until it is killed.

    python -m tests.support.crash_writer CONFIG ORG BASE_URL     (from the repository root)

Every answer of the backend differs, so every refresh writes. Statuses go to stdout,
one per line, so the supervisor can count what the workers did. LOOKUP names the lookup
(`lookups`: grant, the default, or seats).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from overage_credit_grant.shell import Settings

from .lookups import LOOKUPS


def main(config: str, org: str, base_url: str) -> None:
    lookup = LOOKUPS[os.environ.get("LOOKUP", "grant")]
    settings = Settings(
        config_path=Path(config),
        organization=org,
        token=os.environ["CLAUDE_CODE_OAUTH_TOKEN"],
        base_url=base_url,
        lock_timeout_s=30,
        backoff_base_ms=10,
        backoff_cap_ms=100,
    )
    while True:
        outcome = lookup.refresh(settings)
        print(outcome.status.value, flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
