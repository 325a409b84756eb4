"""Section 7: the Redis store, its updates and a fleet's requests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from overage_credit_grant.core import CACHE_KEY, GrantInfo, after_refresh
from overage_credit_grant.shell import (
    FileStore,
    RedisStore,
    Settings,
    get_cached_overage_credit_grant,
    refresh_overage_credit_grant_cache,
)
from overage_credit_grant.shell._store.jsonio import serialize_config

from ._common import (
    GRANT,
    NOW,
    TOKEN,
    Report,
    backend,
    fmt_s,
    side_by_side,
)

NAME = "redis"
TITLE = "7. Redis store"


def run(report: Report, folder: Path, quick: bool, redis_url: str | None) -> None:
    if redis_url is None:
        report.sections.append("## 7. Redis store\n\nSkipped: no redis-server on this machine.")
        return
    import diskcache

    rounds, budget = (2, 0.02) if quick else (7, 0.2)
    org = str(uuid.uuid4())
    store = RedisStore.from_url(redis_url, prefix="bench-update:")
    path = folder / "redis-vs-file.json"
    path.write_bytes(serialize_config({CACHE_KEY: {}}))
    file_store = FileStore(path)
    cache = diskcache.Cache(str(folder / "diskcache-update"))
    counter = [NOW]

    def update_on(st: Any) -> Callable[[], object]:
        def run() -> object:
            counter[0] += 1
            info = GrantInfo(True, True, False, counter[0], "USD")
            return st.update(lambda prev: after_refresh(prev, org, info, counter[0]), org)

        return run

    def diskcache_update() -> None:
        counter[0] += 1
        with cache.transact():
            cache.get(org)
            cache.set(
                org, {"info": {**GRANT, "amount_minor_units": counter[0]}, "timestamp": counter[0]}
            )

    result = side_by_side(
        {"redis": update_on(store), "file": update_on(file_store), "diskcache": diskcache_update},
        rounds,
        budget,
    )
    cache.close()
    rows = [
        ["locked update that writes", "time per update", "vs the file store"],
        [
            "Redis store (WATCH/GET/MULTI/SET/EXEC, loopback)",
            fmt_s(result["redis"]),
            f"{result['redis'] / result['file']:.2f}x",
        ],
        ["file store (1 KB config, two fsyncs)", fmt_s(result["file"]), "1.00x"],
        [
            "diskcache transact get+set",
            fmt_s(result["diskcache"]),
            f"{result['diskcache'] / result['file']:.2f}x",
        ],
    ]
    report.add(
        "7a. Redis store: locked update",
        "One update that writes, on each store. (The hot read on Redis, with and without "
        "the near cache, is section 8a.)",
        rows,
    )
    fleet_rows = [["8 hosts, each checking every minute for an hour", "requests to the backend"]]
    counts = {}
    for kind in ("file", "redis"):
        prefix = f"bench-fleet-{uuid.uuid4().hex[:8]}:"  # one prefix: one fleet
        with backend() as server:
            clock = [NOW]
            hosts = [
                Settings(
                    config_path=folder / f"fleet-{kind}-{i}.json",  # a file per host
                    organization=org,
                    token=TOKEN,
                    base_url=server.base_url,
                    clock=lambda c=clock: c[0],
                    env={},
                    store=RedisStore.from_url(redis_url, prefix=prefix)
                    if kind == "redis"
                    else None,
                )
                for i in range(8)
            ]
            for minute in range(3 if quick else 61):
                clock[0] = NOW + minute * 60_000
                for host in hosts:
                    if get_cached_overage_credit_grant(host) is None:
                        refresh_overage_credit_grant_cache(host)
            counts[kind] = server.backend.requests
    fleet_rows.append(["file store on each host", f"**{counts['file']}**"])
    fleet_rows.append(["one shared Redis store", f"**{counts['redis']}**"])
    report.add(
        "7b. Redis store: requests per org per hour by a fleet",
        "Eight hosts show one org's grant, each checking its cache every minute for an hour "
        "(simulated clock) and refreshing when it finds nothing fresh. Each host's Redis "
        "store has its near cache on. Target: up to 8 with a file per host, 1 with the "
        "shared Redis store.",
        fleet_rows,
    )
    met = counts["redis"] == 1
    report.summary.append(
        (
            "fleet of 8: requests per org per hour, file / Redis",
            "8 / 1",
            f"{counts['file']} / {counts['redis']}",
            "yes" if met else "no",
        )
    )
