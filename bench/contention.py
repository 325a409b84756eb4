"""Section 6: four processes contending for one config."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

from overage_credit_grant.shell._store.jsonio import serialize_config

from ._common import (
    KB,
    Report,
    config_of_size,
    fmt_s,
)

NAME = "contention"
TITLE = "6. Contention"


CONTENDER = """
import json, sys, time
from overage_credit_grant.shell import FileStore
path, me, seconds, start_at = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
store = FileStore(path, lock_timeout_s=30)
key = f"counter-{me}"
latencies, count = [], 0
time.sleep(max(0.0, start_at - time.time()))
end = time.monotonic() + seconds
while time.monotonic() < end:
    started = time.perf_counter()
    result = store.update(lambda prev: {**prev, key: int(prev.get(key, 0)) + 1})
    latencies.append(time.perf_counter() - started)
    assert result.status.value == "written", result
    count += 1
print(json.dumps({"count": count, "latencies": latencies}))
"""


def run(report: Report, folder: Path, quick: bool, redis_url: str | None) -> None:
    del redis_url  # this section needs no Redis
    seconds = 1.0 if quick else 10.0
    path = folder / "contention.json"
    path.write_bytes(serialize_config(config_of_size(10 * KB, str(uuid.uuid4()))))
    start_at = time.time() + 1.5
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONTENDER, str(path), str(i), str(seconds), str(start_at)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    results = [json.loads(p.communicate()[0]) for p in procs]
    final = json.loads(path.read_bytes())
    lost = sum(r["count"] - final.get(f"counter-{i}", 0) for i, r in enumerate(results))
    latencies = sorted(x for r in results for x in r["latencies"])
    total = sum(r["count"] for r in results)
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    rows = [
        [
            "processes",
            "seconds",
            "updates",
            "updates/s",
            "p50 latency",
            "p99 latency",
            "updates lost",
        ],
        [
            "4",
            f"{seconds:g}",
            str(total),
            f"{total / seconds:.0f}",
            fmt_s(p50),
            fmt_s(p99),
            f"**{lost}**",
        ],
    ]
    report.add(
        "6. Contention",
        "Four processes each increment their own counter in one 10 KB config through "
        "`FileStore.update`, as fast as they can; afterwards every counter must equal the "
        "number of updates its process saw succeed.",
        rows,
        "Every update is a full crash-safe write with two fsyncs, serialized by the lock: "
        "the rate is bounded by the disk's fsync latency, not by the lock.",
    )
    report.summary.append(
        ("contention: updates lost", "0", str(lost), "yes" if lost == 0 else "no")
    )
