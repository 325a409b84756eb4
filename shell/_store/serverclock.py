"""One clock for a fleet: the Redis server's, read on every host as an offset from its own.

Hosts' clocks disagree (a host booted without NTP, a container with its clock set by
hand, a VM resumed from a snapshot); the servers of one Redis deployment are few and
watched. So the Redis store stamps entries and judges their freshness by the server's
``TIME``: a host measures ``offset = server time - its own wall clock`` (at the middle
of the round trip, so the network's delay does not count twice), and its "now" is its
wall clock plus that offset. Hosts hours apart then agree to within the round trip.

The offset is measured on the store's paths that talk to Redis anyway (a read that
misses the near cache, an update), at most once per `resample_s`; a hot read from the
near cache never waits for it. Until a first measurement succeeds the offset is 0, the
host's own clock. A cluster's clock is one node's (the client's default node); after a
Sentinel failover, the new master's.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["ServerClock"]


class ServerClock:
    """Milliseconds since the Unix epoch by one Redis server's clock."""

    def __init__(
        self, client: Any = None, *, cluster: bool = False, resample_s: float = 60.0
    ) -> None:
        self.client = client
        self.cluster = cluster
        self.resample_s = resample_s
        self.offset_ms = 0
        self.measured_at: float | None = None  # monotonic seconds

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms

    def observe(self, seconds: int, micros: int, before_ns: int, after_ns: int) -> int:
        """Take the server's ``TIME`` answer (`seconds`, `micros`), asked at `before_ns`
        and answered at `after_ns` by this host's wall clock; the new offset."""
        server_ms = seconds * 1000 + micros // 1000
        self.offset_ms = server_ms - (before_ns + after_ns) // 2_000_000
        self.measured_at = time.monotonic()
        return self.offset_ms

    def measure(self) -> int:
        """Ask the server (through `client`, redis-py's) for its time now; the new offset
        (a redis-py error when the server does not answer)."""
        before = time.time_ns()
        if self.cluster:
            seconds, micros = self.client.time(target_nodes=self.client.get_default_node())
        else:
            seconds, micros = self.client.time()
        return self.observe(int(seconds), int(micros), before, time.time_ns())

    def measure_if_due(self) -> None:
        """`measure` when the last measurement is older than `resample_s` (or none)."""
        last = self.measured_at
        if last is None or time.monotonic() - last >= self.resample_s:
            self.measure()
