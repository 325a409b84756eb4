"""The benchmark suite runs end to end at tiny sizes (bench/run.py --quick).

Timings are not asserted here (they are measured, not tested); the figures that are
counts (writes, requests, lost updates) must hold even at smoke sizes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


def test_bench_quick_run_writes_a_report(tmp_path: Path) -> None:
    pytest.importorskip("diskcache")
    out = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--out", str(out)],
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
    ):
        assert title in text
    assert "| writes for unchanged refreshes within / past TTL | 0 / 1 | 0 / 1 | yes |" in text
    assert "| contention: updates lost | 0 | 0 | yes |" in text
    assert "| 1 / 1 | 1 / 1 | yes |" in text  # coalescing
