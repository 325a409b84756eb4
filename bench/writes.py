"""Section 3: writes avoided by unchanged refreshes."""

from __future__ import annotations

import uuid
from pathlib import Path

from overage_credit_grant.core import CACHE_TTL_MS
from overage_credit_grant.shell import (
    Settings,
    refresh_overage_credit_grant_cache,
)
from overage_credit_grant.shell._store.jsonio import serialize_config

from ._common import (
    KB,
    NOW,
    TOKEN,
    Report,
    backend,
    config_of_size,
    file_identity,
)

NAME = "writes"
TITLE = "3. Writes avoided"


def run(report: Report, folder: Path, quick: bool, redis_url: str | None) -> None:
    del redis_url  # this section needs no Redis
    refreshes = 20 if quick else 1000
    org = str(uuid.uuid4())
    path = folder / "writes.json"
    path.write_bytes(serialize_config(config_of_size(100 * KB, str(uuid.uuid4()))))
    clock = [NOW]
    with backend() as server:
        s = Settings(
            config_path=path,
            organization=org,
            token=TOKEN,
            base_url=server.base_url,
            clock=lambda: clock[0],
            env={},
        )
        assert refresh_overage_credit_grant_cache(s).status.value == "written"
        first_requests = server.backend.requests
        writes = 0
        identity = file_identity(path)
        step = (CACHE_TTL_MS - 1) // refreshes
        for _ in range(refreshes):
            clock[0] += step
            refresh_overage_credit_grant_cache(s)
            if file_identity(path) != identity:
                writes, identity = writes + 1, file_identity(path)
        within = server.backend.requests - first_requests
        clock[0] = NOW + CACHE_TTL_MS + 1
        refresh_overage_credit_grant_cache(s)
        after_ttl = int(file_identity(path) != identity)
    rows = [
        ["refreshes with equal data", "requests sent", "writes (inode/mtime changes)"],
        [f"{refreshes} within the TTL", str(within), f"**{writes}**"],
        ["1 just past the TTL", "1", f"**{after_ttl}**"],
    ]
    report.add(
        "3. Writes avoided",
        "A refresh whose fetched grant equals a fresh cached one must not write at all; one "
        "past the TTL writes once (only the timestamp changes). Loopback reference backend, "
        "100 KB config, injected clock. Target: 0 and 1.",
        rows,
    )
    met = writes == 0 and after_ttl == 1
    report.summary.append(
        (
            "writes for unchanged refreshes within / past TTL",
            "0 / 1",
            f"{writes} / {after_ttl}",
            "yes" if met else "no",
        )
    )
