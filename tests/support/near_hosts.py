"""A host of a fleet for the near cache tests and bench: reads the grant in a tight loop
and says when what it reads changes.

    python -m tests.support.near_hosts REDIS_URL PREFIX ORG     (from the repository root)

Prints ``{"ready": true}`` once its near cache serves, then one JSON line per change it
sees: ``{"amount": <amount or null>, "at": <wall clock seconds>, "hits": <near hits>}``.
Stops when stdin closes. `NearHosts` runs several and follows what they see.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from .workers import ROOT, run_module


class NearHosts:
    """`count` host processes reading one org's grant through their own near caches."""

    def __init__(self, url: str, prefix: str, org: str, count: int = 3) -> None:
        self.procs = [
            subprocess.Popen(
                run_module(__name__, url, prefix, org),
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        self.seen: list[list[dict[str, object]]] = [[] for _ in self.procs]
        for i in range(count):
            threading.Thread(target=self._follow, args=(i,), daemon=True).start()

    def _follow(self, i: int) -> None:
        stdout = self.procs[i].stdout
        assert stdout is not None
        for line in stdout:
            self.seen[i].append(json.loads(line))

    @staticmethod
    def _wait(check: Callable[[], bool], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError("the hosts did not see it in time")
            time.sleep(0.002)

    def wait_ready(self, seconds: float = 30) -> None:
        self._wait(lambda: all(any("ready" in m for m in s) for s in self.seen), seconds)

    def latencies(self, amount: int | None, written_at: float, seconds: float = 5) -> list[float]:
        """Seconds from `written_at` until each host read `amount` (None: no grant)."""
        found = []
        for host in self.seen:
            self._wait(lambda h=host: bool(h) and h[-1].get("amount") == amount, seconds)  # type: ignore[misc]
            found.append(float(host[-1]["at"]) - written_at)  # type: ignore[arg-type]
        return found

    def hits(self) -> list[int]:
        return [int(s[-1]["hits"]) for s in self.seen]  # type: ignore[call-overload]

    def close(self) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(10)


def main(url: str, prefix: str, org: str) -> int:
    from overage_credit_grant.shell import GRANT, RedisStore, Settings

    store = RedisStore.from_url(url, prefix=prefix)
    settings = Settings(config_path="unused.json", organization=org, store=store)
    near = store.near
    assert near is not None
    GRANT.get(settings)
    while not near.serving:
        time.sleep(0.01)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    last: object = "unset"
    print(json.dumps({"ready": True}), flush=True)
    while not stop.is_set():
        info = GRANT.get(settings)
        amount = None if info is None else info.amount_minor_units
        if amount != last:
            last = amount
            print(
                json.dumps({"amount": amount, "at": time.time(), "hits": near.stats["hits"]}),
                flush=True,
            )
        time.sleep(0.001)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
