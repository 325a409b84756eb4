"""Section 1: the hot read, against diskcache, a naive read and one stat."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from overage_credit_grant.core import CACHE_KEY
from overage_credit_grant.shell import (
    Settings,
    get_cached_overage_credit_grant,
)
from overage_credit_grant.shell._store.jsonio import serialize_config

from ._common import (
    GRANT,
    KB,
    NOW,
    Report,
    config_of_size,
    fmt_s,
    side_by_side,
    sizes,
)

NAME = "hot-read"
TITLE = "1. Hot read"


def run(report: Report, folder: Path, quick: bool, redis_url: str | None) -> None:
    del redis_url  # the Redis store has its own hot read, section 8a
    import diskcache

    org = str(uuid.uuid4())
    rounds, budget = (3, 0.02) if quick else (9, 0.2)
    cache = diskcache.Cache(str(folder / "diskcache"))
    entry = {"info": GRANT, "timestamp": NOW}
    cache.set(org, entry)
    rows = [
        [
            "config",
            "ours",
            "diskcache.get",
            "naive open+json.load",
            "one os.stat",
            "ours / diskcache",
            "ours / naive",
        ]
    ]
    worst = 0.0
    for label, size in sizes(quick):
        path = folder / f"hot-{size}.json"
        path.write_bytes(serialize_config(config_of_size(size, org)))
        settings = Settings(config_path=path, organization=org, clock=lambda: NOW + 1)
        assert get_cached_overage_credit_grant(settings) is not None

        def naive(p: Path = path) -> object:
            with open(p, "rb") as handle:
                return json.load(handle)[CACHE_KEY][org]

        name = os.fspath(path)
        result = side_by_side(
            {
                "ours": lambda s=settings: get_cached_overage_credit_grant(s),
                "diskcache": lambda: cache.get(org),
                "naive": naive,
                "stat": lambda n=name: os.stat(n),
            },
            rounds if size < 1024 * KB else max(3, rounds // 3),
            budget,
        )
        ratio = result["ours"] / result["diskcache"]
        worst = max(worst, ratio)
        rows.append(
            [
                label,
                fmt_s(result["ours"]),
                fmt_s(result["diskcache"]),
                fmt_s(result["naive"]),
                fmt_s(result["stat"]),
                f"**{ratio:.2f}x**",
                f"{result['ours'] / result['naive']:.4f}x",
            ]
        )
    cache.close()
    report.add(
        "1. Hot read",
        "`get_cached_overage_credit_grant(settings)` on an unchanged config (a fresh entry), "
        "against `diskcache.Cache.get` of the same record and a naive read that opens and "
        "parses the file on every call. Target: ours at most 0.5x diskcache at every size; "
        "the floor is one `os.stat`.",
        rows,
        "The read reuses the parsed config and the decoded entry while the file's (device, "
        "inode, size, mtime) is unchanged, so its cost does not grow with the file: one `stat` "
        "and a few dictionary lookups. The Redis store's hot read is in section 8a.",
    )
    report.summary.append(
        (
            "hot read vs diskcache (worst size)",
            "<= 0.5x",
            f"{worst:.2f}x",
            "yes" if worst <= 0.5 else "no",
        )
    )
