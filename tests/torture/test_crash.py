"""Crash consistency: writers killed with SIGKILL at random moments lose nothing.

Short by default; ``pytest -m torture --long`` runs the full version whose figures
docs/reliability.md quotes.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

import filelock
import pytest
from pytest_httpserver import HTTPServer
from returns.result import Success
from werkzeug import Request, Response

from ..support.backend import TOKEN
from ..support.files import write_json
from ..support.lookups import KINDS, Kind
from ..support.workers import ROOT, run_module

pytestmark = pytest.mark.torture


class ChangingAnswers:
    """Every answer differs from the last, so every refresh is a write. Writers of both
    lookups share the file: each org is served by one lookup."""

    def __init__(self, orgs: dict[str, Kind]) -> None:
        self.orgs = orgs
        self.requests = 0

    def handler(self, request: Request) -> Response:
        self.requests += 1
        kind = self.orgs[request.path.split("/")[4]]
        return Response(json.dumps(kind.varied(self.requests)), content_type="application/json")


@pytest.fixture
def changing_server(
    threaded_httpserver: HTTPServer,
) -> tuple[HTTPServer, ChangingAnswers, dict[str, Kind]]:
    orgs = {str(uuid.uuid4()): KINDS[i % len(KINDS)] for i in range(4)}
    answers = ChangingAnswers(orgs)
    threaded_httpserver.expect_request(re.compile("/api/.*")).respond_with_handler(answers.handler)
    return threaded_httpserver, answers, orgs


def check_config(path: Path, unrelated: dict[str, object], orgs: dict[str, Kind]) -> int:
    """The invariants after a kill; returns the number of cached entries."""
    data = json.loads(path.read_bytes())  # parses, whole
    assert isinstance(data, dict)
    sections = {kind.lookup.cache.key: data.pop(kind.lookup.cache.key, {}) for kind in KINDS}
    assert data == unrelated  # every unrelated key intact
    found = 0
    for kind in KINDS:
        cache = sections[kind.lookup.cache.key]
        assert isinstance(cache, dict)
        assert set(cache) <= {org for org, k in orgs.items() if k is kind}
        for entry in cache.values():
            assert isinstance(entry, dict)
            assert set(entry) == {"info", "timestamp"}
            assert isinstance(kind.lookup.cache.decode(entry["info"]), Success)
            assert type(entry["timestamp"]) is int
        found += len(cache)
    return found


def test_sigkilled_writers_never_corrupt_or_lose_the_config(
    changing_server: tuple[HTTPServer, ChangingAnswers, dict[str, Kind]],
    tmp_path: Path,
    long_run: bool,
) -> None:
    """4 writers of two lookups, a 100 KB+ config, SIGKILL at random moments: after every
    kill all holds."""
    server, answers, orgs = changing_server
    names = list(orgs)
    config = tmp_path / "config.json"
    unrelated = {f"project-{i}": {"history": ["x" * 100] * 10, "n": i} for i in range(120)}
    write_json(config, unrelated)
    assert config.stat().st_size > 100_000
    kills_wanted = 250 if long_run else 25
    rng = random.Random(20261124)

    base_url = server.url_for("/").rstrip("/")

    def spawn(i: int) -> subprocess.Popen[str]:
        org = names[i]
        return subprocess.Popen(
            run_module("tests.support.crash_writer", str(config), org, base_url),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "CLAUDE_CODE_OAUTH_TOKEN": TOKEN, "LOOKUP": orgs[org].name},
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
        "requests": answers.requests,
    }
    print(f"\ncrash-consistency: {json.dumps(report)}")
