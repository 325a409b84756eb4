"""Section 5: the locked, crash-safe update against a bare write."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from overage_credit_grant.core import GrantInfo, after_refresh
from overage_credit_grant.shell import (
    FileStore,
)
from overage_credit_grant.shell._store.jsonio import fast_json_safe, parse_config, serialize_config

from ._common import (
    NOW,
    Report,
    config_of_size,
    fmt_s,
    side_by_side,
    sizes,
)

NAME = "update-cost"
TITLE = "5. Locked update cost"


def run(report: Report, folder: Path, quick: bool, redis_url: str | None) -> None:
    del redis_url  # this section needs no Redis
    rounds, budget = (2, 0.05) if quick else (5, 0.4)
    rows = [
        [
            "config",
            "ours (lock, re-read, reduce, write, fsync x2)",
            "floor: parse + serialize + write + fsync",
            "ours / floor",
            "crash-safe floor: + temp file, rename, folder fsync",
            "ours / crash-safe floor",
            "stdlib serialize",
            "orjson serialize",
        ]
    ]
    worst = 0.0
    met: list[str] = []
    try:
        import orjson
    except ImportError:
        orjson = None
    for label, size in sizes(quick):
        org = str(uuid.uuid4())
        path = folder / f"update-{size}.json"
        floor_path = folder / f"floor-{size}.json"
        config = config_of_size(size, str(uuid.uuid4()))
        path.write_bytes(serialize_config(config))
        floor_path.write_bytes(path.read_bytes())
        store = FileStore(path, fast_json=True)
        counter = [NOW]

        def ours(st: FileStore = store, o: str = org, counter: list[int] = counter) -> object:
            counter[0] += 1
            info = GrantInfo(True, True, False, counter[0], "USD")  # new data every time
            return st.update(lambda prev: after_refresh(prev, o, info, counter[0]))

        def floor(
            p: Path = floor_path, counter: list[int] = counter, crash_safe: bool = False
        ) -> None:
            data = p.read_bytes()
            parsed = dict(parse_config(data).unwrap())  # the same parser and serializer
            parsed["n"] = counter[0]
            out = serialize_config(parsed, fast=fast_json_safe(data))
            target = p.with_suffix(".tmp") if crash_safe else p
            with open(target, "wb") as handle:
                handle.write(out)
                handle.flush()
                os.fsync(handle.fileno())
            if crash_safe:
                os.replace(target, p)
                folder_fd = os.open(p.parent, os.O_RDONLY | os.O_DIRECTORY)
                os.fsync(folder_fd)
                os.close(folder_fd)

        loaded = json.loads(path.read_bytes())
        cands: dict[str, Callable[[], object]] = {
            "ours": ours,
            "floor": floor,
            "safe floor": lambda: floor(crash_safe=True),
            "stdlib": lambda c=loaded: serialize_config(c),
        }
        if orjson is not None:
            cands["orjson"] = lambda c=loaded: serialize_config(c, fast=True)
        result = side_by_side(cands, rounds, budget)
        ratio = result["ours"] / result["floor"]
        worst = max(worst, ratio)
        if ratio <= 1.5:
            met.append(label)
        rows.append(
            [
                label,
                fmt_s(result["ours"]),
                fmt_s(result["floor"]),
                f"**{ratio:.2f}x**",
                fmt_s(result["safe floor"]),
                f"{result['ours'] / result['safe floor']:.2f}x",
                fmt_s(result["stdlib"]),
                fmt_s(result["orjson"]) if "orjson" in result else "not installed",
            ]
        )
    met_sizes = ", ".join(met) if met else "no size"
    report.add(
        "5. Locked update cost",
        "One `FileStore.update` that writes (take `<config>.lock`, re-read and parse the "
        "file, run the reducer, serialize, write a temp file, fsync, `os.replace`, fsync the "
        "folder), against the floor of parse + serialize + write + fsync of the same bytes "
        "with the same parser and serializer. Target: at most 1.5x. The crash-safe floor "
        "adds what the file store requires of every write (a temp file, `os.replace`, an fsync of "
        "the folder); what is left between it and ours is the lock and the re-read.",
        rows,
        "At 1 KB the fixed cost of durability dominates: the lock, the rename and the "
        "second fsync (of the folder) cost about as much as the whole bare floor, so ours is "
        "about 2x it there by construction. None of those steps can go without giving up "
        "mutual exclusion or crash safety; against the crash-safe floor, what remains is "
        "the lock. As the file grows, the bytes themselves (parse, serialize, write, fsync) "
        f"dominate and the ratio falls: in this run the target is met at {met_sizes}.\n\n"
        "JSON serialization was the first cost to go: the standard library's encoder with "
        "`indent=2` runs in pure Python, orjson's is 30-40x faster (the last two columns), "
        "and orjson parses faster too. So orjson is taken when it is installed (the `fast` "
        "extra) for configs of 64 KB and more: it writes the same JSON values "
        "(property-tested against the standard library), and the standard library still "
        "writes any config that holds NaN or Infinity (orjson would turn them into null), "
        "integers past 64 bits or lone surrogates (orjson refuses those).",
    )
    report.summary.append(
        (
            "locked update vs parse+serialize+write+fsync (worst size)",
            "<= 1.5x",
            f"{worst:.2f}x",
            "yes" if worst <= 1.5 else f"met at {met_sizes}; small configs: see section 5",
        )
    )
