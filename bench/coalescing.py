"""Section 4: requests coalesced across threads, processes and asyncio tasks."""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from overage_credit_grant.shell import (
    GRANT,
    Settings,
    refresh_overage_credit_grant_cache,
)

from ._common import TOKEN, Report, backend, fmt_s

NAME = "coalescing"
TITLE = "4. Coalescing"


PROCESS_SCRIPT = """
import sys, time
from overage_credit_grant.shell import Settings, refresh_overage_credit_grant_cache
config, org, base, start_at = sys.argv[1:5]
s = Settings(config_path=config, organization=org, token="bench-token", base_url=base, env={})
time.sleep(max(0.0, float(start_at) - time.time()))
print(refresh_overage_credit_grant_cache(s).status.value)
"""


def run(report: Report, folder: Path, quick: bool, redis_url: str | None) -> None:
    del redis_url  # this section needs no Redis
    threads_n, procs_n = (8, 3) if quick else (64, 8)
    org = str(uuid.uuid4())
    with backend(delay_s=0.3) as server:
        s = Settings(
            config_path=folder / "coalesce-threads.json",
            organization=org,
            token=TOKEN,
            base_url=server.base_url,
            env={},
        )
        barrier = threading.Barrier(threads_n)
        outcomes: list[str] = []

        def refresh_once() -> None:
            barrier.wait()
            outcomes.append(refresh_overage_credit_grant_cache(s).status.value)

        threads = [threading.Thread(target=refresh_once) for _ in range(threads_n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        thread_requests = server.backend.requests
        start_at = time.time() + 2.0
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    PROCESS_SCRIPT,
                    str(folder / "coalesce-procs.json"),
                    org,
                    server.base_url,
                    str(start_at),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(procs_n)
        ]
        statuses = sorted(p.communicate()[0].strip() for p in procs)
        proc_requests = server.backend.requests - thread_requests
        tasks_n = 8 if quick else 64
        before = server.backend.requests
        task_statuses, gaps = asyncio.run(
            _tasks(s.replace(config_path=folder / "tasks.json"), tasks_n)
        )
        task_requests = server.backend.requests - before
        baseline = asyncio.run(_ticks_only(0.3))
        blocking = asyncio.run(_blocking(s.replace(config_path=folder / "blocking.json")))
    rows = [
        ["concurrent refreshes of one org", "requests sent", "outcomes"],
        [
            f"{threads_n} threads, one process",
            f"**{thread_requests}**",
            f"{outcomes.count('written')} written (all share the one answer)",
        ],
        [
            f"{procs_n} processes",
            f"**{proc_requests}**",
            ", ".join(f"{statuses.count(x)} {x}" for x in sorted(set(statuses))),
        ],
        [
            f"{tasks_n} asyncio tasks (`await GRANT.arefresh()`), one event loop",
            f"**{task_requests}**",
            f"{task_statuses.count('written')} written",
        ],
    ]
    lag_rows = [
        ["while the event loop ...", "ticks", "median tick gap", "p99 tick gap", "largest gap"],
        _lag_row("only ticks (no fetch): the floor", baseline),
        _lag_row(f"awaits {tasks_n} `arefresh()` of a 300 ms fetch", gaps),
        _lag_row("calls the blocking `refresh()` inline (what not to do)", blocking),
    ]
    report.add(
        "4. Coalescing",
        "Concurrent refreshes of one org against a backend that takes 300 ms to answer: "
        "threads and asyncio tasks join the in-process flight; processes skip while another "
        "holds the non-blocking lease (or has just stored the grant). Target: 1, 1 and 1.",
        rows,
    )
    report.add(
        "4b. The event loop during a slow fetch",
        "A ticker task asks to wake every 10 ms while the refreshes above are awaited; its "
        "gaps are the loop's latency. `arefresh` runs the fetch on a thread and awaits a "
        "future, so the loop keeps ticking; the blocking call is shown for scale.",
        lag_rows,
    )
    met = thread_requests == 1 and proc_requests == 1 and task_requests == 1
    report.summary.append(
        (
            f"requests for {threads_n} threads / {procs_n} processes / {tasks_n} tasks",
            "1 / 1 / 1",
            f"{thread_requests} / {proc_requests} / {task_requests}",
            "yes" if met else "no",
        )
    )
    largest = max(gaps) if gaps else 0.0
    report.summary.append(
        (
            "event loop's largest tick gap during a 300 ms fetch",
            "< 50 ms",
            fmt_s(largest),
            "yes" if largest < 0.05 else "no",
        )
    )


TICK_S = 0.01


async def _ticker(stop: asyncio.Event) -> list[float]:
    gaps, last = [], time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(TICK_S)
        now = time.perf_counter()
        gaps.append(now - last - TICK_S)
        last = now
    return gaps


async def _ticks_only(seconds: float) -> list[float]:
    stop = asyncio.Event()
    ticker = asyncio.create_task(_ticker(stop))
    await asyncio.sleep(seconds)
    stop.set()
    return await ticker


async def _tasks(s: Settings, n: int) -> tuple[list[str], list[float]]:
    stop = asyncio.Event()
    ticker = asyncio.create_task(_ticker(stop))
    await asyncio.sleep(0.05)
    outcomes = await asyncio.gather(*(GRANT.arefresh(s) for _ in range(n)))
    stop.set()
    return [o.status.value for o in outcomes], await ticker


async def _blocking(s: Settings) -> list[float]:
    stop = asyncio.Event()
    ticker = asyncio.create_task(_ticker(stop))
    await asyncio.sleep(0.05)
    GRANT.refresh(s)  # blocks the loop for the whole fetch
    await asyncio.sleep(0.05)
    stop.set()
    return await ticker


def _lag_row(label: str, gaps: list[float]) -> list[str]:
    if not gaps:
        return [label, "0", "-", "-", "-"]
    ordered = sorted(gaps)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return [
        label,
        str(len(gaps)),
        fmt_s(max(statistics.median(ordered), 0.0)),
        fmt_s(max(p99, 0.0)),
        fmt_s(max(ordered[-1], 0.0)),
    ]
