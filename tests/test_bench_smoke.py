"""The benchmark suite runs end to end at tiny sizes (python -m bench --quick).

Timings are not asserted here (they are measured, not tested); the figures that are
counts (writes, requests, lost updates) must hold even at smoke sizes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_bench_quick_run_writes_a_report(tmp_path: Path) -> None:
    pytest.importorskip("diskcache")
    out = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    for title in (
        "## Summary",
        "1. Hot read",
        "2. Cold command line",
        "3. Writes avoided",
        "4. Coalescing",
        "5. Locked update cost",
        "6. Contention",
        "7a. Redis store",
        "8a. Redis near cache: hot read",
        "8b. Redis near cache: propagation",
        "8c. Redis near cache: losing Redis",
        "9. A real Claude Code profile",
        "10c. Failover gaps",
    ):
        assert title in text
    assert "| writes for unchanged refreshes within / past TTL | 0 / 1 | 0 / 1 | yes |" in text
    assert "| contention: updates lost | 0 | 0 | yes |" in text
    assert "| 1 / 1 / 1 | 1 / 1 / 1 | yes |" in text  # coalescing
    assert "| Cluster: requests per org per TTL, 2 hosts | 1 | 1.00 | yes |" in text


def test_each_section_runs_alone_and_prints_its_report() -> None:
    pytest.importorskip("diskcache")
    listed = subprocess.run(
        [sys.executable, "-m", "bench", "--list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert names[:2] == ["hot-read", "cold-start"]
    assert "redis" in names
    done = subprocess.run(
        [sys.executable, "-m", "bench", "writes", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "3. Writes avoided" in done.stdout
    assert "4. Coalescing" not in done.stdout
