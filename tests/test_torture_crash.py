"""Crash consistency: writers killed with SIGKILL at random moments lose nothing.

Short by default; ``pytest -m torture --long`` runs the full version whose figures
docs/reliability.md quotes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import filelock
import pytest
from returns.result import Success

from overage_credit_grant.core import CACHE_KEY, decode_grant_info
from overage_credit_grant.shell._server import Backend, ReferenceServer

from .helpers import TOKEN, write_json

pytestmark = pytest.mark.torture
WORKER = str(Path(__file__).with_name("_crash_worker.py"))


class ChangingBackend(Backend):
    """Every grant answer differs from the last, so every refresh is a write."""

    def answer(self, path: str, authorization: str | None) -> tuple[int, object]:
        status, body = super().answer(path, authorization)
        if status == 200 and isinstance(body, dict):
            body["amount_minor_units"] = self.requests
        return status, body


@pytest.fixture
def changing_server() -> Iterator[tuple[ReferenceServer, list[str]]]:
    orgs = [str(uuid.uuid4()) for _ in range(4)]
    grant = {
        "available": True,
        "eligible": True,
        "granted": False,
        "amount_minor_units": 0,
        "currency": "USD",
    }
    tokens = {f"{TOKEN}-{i}": org for i, org in enumerate(orgs)}  # one token per org
    backend = ChangingBackend(tokens=tokens, grants={o: dict(grant) for o in orgs})
    with ReferenceServer(backend) as server:
        yield server, orgs


def check_config(path: Path, unrelated: dict[str, object], orgs: list[str]) -> int:
    """The invariants after a kill; returns the number of cached entries."""
    data = json.loads(path.read_bytes())  # parses, whole
    assert isinstance(data, dict)
    cache = data.pop(CACHE_KEY, {})
    assert data == unrelated  # every unrelated key intact
    assert isinstance(cache, dict)
    assert set(cache) <= set(orgs)
    for entry in cache.values():
        assert isinstance(entry, dict)
        assert set(entry) == {"info", "timestamp"}
        assert isinstance(decode_grant_info(entry["info"]), Success)
        assert type(entry["timestamp"]) is int
    return len(cache)


def test_sigkilled_writers_never_corrupt_or_lose_the_config(
    changing_server: tuple[ReferenceServer, list[str]], tmp_path: Path, long_run: bool
) -> None:
    """4 writers, a 100 KB+ config, SIGKILL at random moments: after every kill all holds."""
    server, orgs = changing_server
    config = tmp_path / "config.json"
    unrelated = {f"project-{i}": {"history": ["x" * 100] * 10, "n": i} for i in range(120)}
    write_json(config, unrelated)
    assert config.stat().st_size > 100_000
    kills_wanted = 250 if long_run else 25
    rng = random.Random(20261124)

    def spawn(i: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, WORKER, str(config), orgs[i], server.base_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "CLAUDE_CODE_OAUTH_TOKEN": f"{TOKEN}-{i}"},
        )

    workers = [spawn(i) for i in range(len(orgs))]
    kills = orphans_seen = 0
    statuses: dict[str, int] = {}
    lock = filelock.FileLock(f"{config}.lock")
    try:
        time.sleep(0.5)
        while kills < kills_wanted:
            time.sleep(rng.uniform(0.0, 0.06))
            i = rng.randrange(len(workers))
            workers[i].send_signal(signal.SIGKILL)
            out, err = workers[i].communicate(timeout=30)
            assert "Traceback" not in err
            assert TOKEN not in out + err
            for line in out.split():
                statuses[line] = statuses.get(line, 0) + 1
            kills += 1
            orphans_seen += any(n.endswith(".tmp") for n in os.listdir(tmp_path))
            check_config(config, unrelated, orgs)
            with lock.acquire(timeout=10):  # never left stuck by a killed holder
                pass
            workers[i] = spawn(i)
    finally:
        for worker in workers:
            worker.kill()
            worker.communicate()
    assert check_config(config, unrelated, orgs) == len(orgs)
    assert statuses.get("written", 0) > kills  # the writers really were writing
    assert set(statuses) <= {"written", "unchanged", "skipped_in_flight"}
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".json") and n != "config.json"]
    report = {
        "kills": kills,
        "writes_reported": statuses.get("written", 0),
        "kills_that_left_a_temp_file": orphans_seen,
        "config_bytes": config.stat().st_size,
        "requests": server.backend.requests,
    }
    print(f"\ncrash-consistency: {json.dumps(report)}")
