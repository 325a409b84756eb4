"""Benchmarks, side by side in one run, written to bench/RESULTS.md.

    python bench/run.py            # the full run (a few minutes)
    python bench/run.py --quick    # tiny sizes, for a smoke test

Every figure compares candidates measured in the same run, interleaved round by round,
and is reported as a ratio of medians: these machines are noisy, ratios less so.
Writes are counted by the config file's inode and mtime, requests by the backend.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overage_credit_grant.core import CACHE_KEY, CACHE_TTL_MS, GrantInfo, after_refresh
from overage_credit_grant.shell import (
    FileStore,
    RedisStore,
    Settings,
    get_cached_overage_credit_grant,
    refresh_overage_credit_grant_cache,
)
from overage_credit_grant.shell._jsonio import fast_json_safe, parse_config, serialize_config
from overage_credit_grant.shell._server import Backend, ReferenceServer

HERE = Path(__file__).resolve().parent
TOKEN = "bench-token"
GRANT = {
    "available": True,
    "eligible": True,
    "granted": False,
    "amount_minor_units": 500,
    "currency": "USD",
}
NOW = 1_764_000_000_000
KB = 1024


# -- measuring -------------------------------------------------------------------------


def per_call(fn: Callable[[], object], budget_s: float) -> float:
    """Seconds per call of `fn`, over as many calls as fit in `budget_s` (at least 3)."""
    calls, started = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= budget_s and calls >= 3:
            return elapsed / calls


def side_by_side(
    cands: dict[str, Callable[[], object]], rounds: int, budget_s: float
) -> dict[str, float]:
    """Median seconds per call of each candidate, the candidates interleaved each round."""
    samples: dict[str, list[float]] = {name: [] for name in cands}
    for _ in range(rounds):
        for name, fn in cands.items():
            samples[name].append(per_call(fn, budget_s))
    return {name: statistics.median(values) for name, values in samples.items()}


def fmt_s(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def config_of_size(size: int, org: str, stamp: int = NOW) -> dict[str, object]:
    """A config of about `size` bytes: unrelated projects plus the org's entry."""
    project = {"allowedTools": ["Bash", "Edit"], "history": ["npm test", "git status"] * 2}
    each = len(json.dumps({"project-00000": project}, indent=2))
    config: dict[str, object] = {f"project-{i:05d}": project for i in range(max(1, size // each))}
    config[CACHE_KEY] = {org: {"info": GRANT, "timestamp": stamp}}
    return config


def sizes(quick: bool) -> list[tuple[str, int]]:
    if quick:
        return [("1 KB", KB), ("100 KB", 100 * KB)]
    return [("1 KB", KB), ("100 KB", 100 * KB), ("1 MB", 1024 * KB), ("8 MB", 8 * 1024 * KB)]


@dataclass
class Report:
    sections: list[str]
    summary: list[tuple[str, str, str, str]]  # what, target, measured, met

    def add(self, title: str, intro: str, table: list[list[str]], notes: str = "") -> None:
        lines = [f"## {title}", "", intro, ""]
        lines.append("| " + " | ".join(table[0]) + " |")
        lines.append("|" + "---|" * len(table[0]))
        lines += ["| " + " | ".join(row) + " |" for row in table[1:]]
        if notes:
            lines += ["", notes]
        self.sections.append("\n".join(lines))


# -- servers ---------------------------------------------------------------------------


class CountingBackend(Backend):
    """Grants any org to the bench token, optionally slowly; counts requests."""

    delay_s: float = 0.0

    def answer(self, path: str, authorization: str | None) -> tuple[int, object]:
        if self.delay_s:
            time.sleep(self.delay_s)
        org = path.split("/")[4] if path.count("/") == 5 else ""
        with self.lock:
            self.tokens[TOKEN] = org
            self.grants.setdefault(org, dict(GRANT))
        return super().answer(path, authorization)


@contextlib.contextmanager
def backend(delay_s: float = 0.0) -> Iterator[ReferenceServer]:
    state = CountingBackend(tokens={}, grants={})
    state.delay_s = delay_s
    with ReferenceServer(state) as server:
        yield server


@contextlib.contextmanager
def redis_server() -> Iterator[str | None]:
    """A redis-server on a free loopback port (the tests' own helper), or None."""
    sys.path.insert(0, str(HERE.parent))  # tests/redis_server.py, shared with the tests
    from tests.redis_server import RedisProcess, find_redis_server

    binary = find_redis_server()
    if binary is None:
        yield None
        return
    server = RedisProcess(binary).start()
    try:
        yield server.url
    finally:
        server.stop()


def file_identity(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return (st.st_ino, st.st_mtime_ns)


# -- 1. hot read -----------------------------------------------------------------------


def bench_hot_read(report: Report, folder: Path, quick: bool, redis_url: str | None) -> None:
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
    redis_row: list[str] | None = None
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
    if redis_url is not None:
        store = RedisStore.from_url(redis_url, prefix="bench-hot:")
        store.client.set(store.entry_key(org), json.dumps(entry))
        on_redis = Settings(
            config_path=folder / "unused.json", organization=org, clock=lambda: NOW + 1, store=store
        )
        assert get_cached_overage_credit_grant(on_redis) is not None
        result = side_by_side(
            {
                "redis": lambda: get_cached_overage_credit_grant(on_redis),
                "diskcache": lambda: cache.get(org),
            },
            rounds,
            budget,
        )
        redis_row = [
            "Redis store (one GET, loopback)",
            fmt_s(result["redis"]),
            fmt_s(result["diskcache"]),
            "",
            "",
            f"{result['redis'] / result['diskcache']:.2f}x",
            "",
        ]
        rows.append(redis_row)
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
        "and a few dictionary lookups.",
    )
    report.summary.append(
        (
            "hot read vs diskcache (worst size)",
            "<= 0.5x",
            f"{worst:.2f}x",
            "yes" if worst <= 0.5 else "no",
        )
    )


# -- 2. cold CLI -----------------------------------------------------------------------


def bench_cold_cli(report: Report, folder: Path, quick: bool) -> None:
    org = str(uuid.uuid4())
    path = folder / "cli.json"
    stamp = time.time_ns() // 1_000_000  # fresh for the next hour: the whole run
    path.write_bytes(serialize_config({CACHE_KEY: {org: {"info": GRANT, "timestamp": stamp}}}))
    script = str(Path(sys.executable).with_name("overage-grant"))
    args = ["show", "--no-refresh", "--json", "--config", str(path), "--org", org]
    eager = (
        "import requests, filelock, platformdirs, http.server, redis, orjson, sys\n"
        "import overage_credit_grant.shell._refresh, overage_credit_grant.shell._filewrite\n"
        "import overage_credit_grant.shell._http, overage_credit_grant.shell._redis\n"
        "from overage_credit_grant.shell._cli import main\n"
        "sys.exit(main(sys.argv[1:]))"
    )
    commands = {
        "floor": [sys.executable, "-c", "import json, returns.maybe, returns.result"],
        "ours": [script, *args],
        "eager": [sys.executable, "-c", eager, *args],
        "python": [sys.executable, "-c", "pass"],
    }
    env = {**os.environ, "HOME": str(folder)}
    samples: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(5 if quick else 41):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, check=True, env=env)
            samples[name].append(time.perf_counter() - started)
    med = {k: statistics.median(v) for k, v in samples.items()}
    ratio = med["ours"] / med["floor"]
    rows = [
        ["command", "median wall time", "vs the import floor"],
        [
            "`python -c pass` (the interpreter alone)",
            fmt_s(med["python"]),
            f"{med['python'] / med['floor']:.2f}x",
        ],
        [
            '`python -c "import json, returns.maybe, returns.result"` (floor)',
            fmt_s(med["floor"]),
            "1.00x",
        ],
        [
            "`overage-grant show --no-refresh --json` (ours)",
            fmt_s(med["ours"]),
            f"**{ratio:.2f}x**",
        ],
        [
            "the same, everything imported eagerly",
            fmt_s(med["eager"]),
            f"{med['eager'] / med['floor']:.2f}x",
        ],
    ]
    report.add(
        "2. Cold command line",
        "The whole process of `overage-grant show --no-refresh --json` on a fresh cache, "
        "against the import floor (the interpreter plus the libraries the core must load) and "
        "against the same command with every module imported eagerly. Target: at most 1.25x "
        "the floor.",
        rows,
        COLD_CLI_NOTES,
    )
    report.summary.append(
        (
            "cold `show --no-refresh` vs import floor",
            "<= 1.25x",
            f"{ratio:.2f}x",
            "yes" if ratio <= 1.25 else "no (see section 2)",
        )
    )


COLD_CLI_NOTES = """\
What was changed after profiling (`python -X importtime`, cProfile), each step re-measured:
it started at 1.65x.

- The read path and the write path are separate modules: `_service` (reads) does not import
  `_refresh`, `_outcomes`, `_port`, `_filewrite`, `_http`, `_redis`; `filelock`, `requests`,
  `tempfile`, `concurrent.futures`, `logging` and `secrets` are imported only by the code
  that uses them; the package's names load on first use (PEP 562). (1.65x to 1.53x)
- argparse builds only the subparser of the command being run: building all six, with a
  `gettext` lookup per help string, was most of `main()`. (1.53x to 1.34x)
- No `pathlib` on the read path (with it come `urllib.parse` and `ipaddress`): `Settings`
  takes `str` or `PathLike` paths; the org id check needs no regular expression.

What is left, measured with `-X importtime` against the floor: the dataclasses that are
part of the public contract (`GrantInfo`, `CacheEntry`, `PerOrgCache`, `Settings`: creating
a frozen, slotted dataclass costs 0.3-0.8 ms each), `argparse` with `gettext` (~1.5 ms to
import, ~2 ms to build one subparser) and loading the package's own dozen small modules.
Going further would mean dropping dataclasses from the public types or argparse from the
command line; we kept both."""


# -- 3. writes avoided -----------------------------------------------------------------


def bench_writes_avoided(report: Report, folder: Path, quick: bool) -> None:
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


# -- 4. coalescing ---------------------------------------------------------------------

PROCESS_SCRIPT = """
import sys, time
from overage_credit_grant.shell import Settings, refresh_overage_credit_grant_cache
config, org, base, start_at = sys.argv[1:5]
s = Settings(config_path=config, organization=org, token="bench-token", base_url=base, env={})
time.sleep(max(0.0, float(start_at) - time.time()))
print(refresh_overage_credit_grant_cache(s).status.value)
"""


def bench_coalescing(report: Report, folder: Path, quick: bool) -> None:
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

        def run() -> None:
            barrier.wait()
            outcomes.append(refresh_overage_credit_grant_cache(s).status.value)

        threads = [threading.Thread(target=run) for _ in range(threads_n)]
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
    ]
    report.add(
        "4. Coalescing",
        "Concurrent refreshes of one org against a backend that takes 300 ms to answer: "
        "threads join the in-process flight; processes skip while another holds the "
        "non-blocking lease (or has just stored the grant). Target: 1 and 1.",
        rows,
    )
    met = thread_requests == 1 and proc_requests == 1
    report.summary.append(
        (
            f"requests for {threads_n} threads / {procs_n} processes",
            "1 / 1",
            f"{thread_requests} / {proc_requests}",
            "yes" if met else "no",
        )
    )


# -- 5. locked update cost -------------------------------------------------------------


def bench_update_cost(report: Report, folder: Path, quick: bool) -> None:
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
        "adds what DESIGN.md requires of every write (a temp file, `os.replace`, an fsync of "
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


# -- 6. contention ---------------------------------------------------------------------

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


def bench_contention(report: Report, folder: Path, quick: bool) -> None:
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


# -- 7. Redis --------------------------------------------------------------------------


def bench_redis(report: Report, folder: Path, quick: bool, redis_url: str | None) -> None:
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
        "One update that writes, on each store. The hot read on Redis (section 1) is a "
        "network round trip, about 50x the file store's `stat`: the price of one cache for "
        "a whole fleet, paid only by fleets that choose it.",
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
        "(simulated clock) and refreshing when it finds nothing fresh. Target: up to 8 with a "
        "file per host, 1 with the shared Redis store.",
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


# -- the run ---------------------------------------------------------------------------


def machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = []
    for dist in (
        "overage-credit-grant",
        "returns",
        "filelock",
        "requests",
        "platformdirs",
        "diskcache",
        "orjson",
        "redis",
    ):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions.append(f"{dist} {importlib.metadata.version(dist)}")
    return [
        f"- machine: {platform.system()} {platform.release()}, {platform.machine()}, "
        f"{cpu}, {os.cpu_count()} CPUs",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        "- " + ", ".join(versions),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)
    report = Report([], [])
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="overage-bench-") as tmp, redis_server() as redis_url:
        folder = Path(tmp)
        steps = [
            lambda: bench_hot_read(report, folder, args.quick, redis_url),
            lambda: bench_cold_cli(report, folder, args.quick),
            lambda: bench_writes_avoided(report, folder, args.quick),
            lambda: bench_coalescing(report, folder, args.quick),
            lambda: bench_update_cost(report, folder, args.quick),
            lambda: bench_contention(report, folder, args.quick),
            lambda: bench_redis(report, folder, args.quick, redis_url),
        ]
        for step in steps:
            step()
            print(report.sections[-1].splitlines()[0], "done", file=sys.stderr, flush=True)
    summary = ["| figure | target | measured | met |", "|---|---|---|---|"]
    summary += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in report.summary]
    text = "\n".join(
        [
            "# Benchmark results",
            "",
            "Generated by `python bench/run.py`"
            + (" --quick (smoke sizes)" if args.quick else "")
            + f" on {time.strftime('%Y-%m-%d')} in {time.monotonic() - started:.0f} s. Every "
            "figure is measured side by side in one run; ratios of medians are the result, "
            "absolute times only tell the scale.",
            "",
            *machine(),
            "",
            "## Summary",
            "",
            *summary,
            "",
            *[section + "\n" for section in report.sections],
        ]
    )
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
