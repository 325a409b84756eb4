"""The listeners of one near cache, kept in step with the servers that hold our keys.

A `tracking.Tracker` hears the invalidations of one server. The overseer keeps one per
primary (a cluster's primaries; a Sentinel's current master; a plain server) and, on a
thread of its own, every `heartbeat_s`:

* **follows the topology**: a Sentinel is asked which master it names; a cluster's slot
  map is read from the client (no I/O) and asked of a node at least every `refresh_s`
  (and at once while a listener is down, which is how a failover shows). When the set
  of primaries changes, the listeners of the old ones stop, new ones start, and the
  cache is flushed: what it held was heard from servers that no longer hold the keys;
* **checks the dataset token** (`epoch`, where the topology has one): a random value
  kept at ``<prefix>epoch``. Redis sends no invalidation for ``SWAPDB`` (nor for a
  dataset loaded behind its clients' backs); the token then reads differently, or is
  gone, and the cache is flushed. A cluster has no ``SWAPDB`` and needs no token.

`live`: the last round of checks succeeded within `stale_after_s`, and every primary's
listener is live. A round that fails (a Sentinel or a node that does not answer) is not
counted, so the cache stops serving within `stale_after_s` of the trouble.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import Any

from .redisnodes import Nodes
from .tracking import Tracker

__all__ = ["Overseer"]


class Overseer:
    """The near cache's listeners, one per primary (see the module docstring)."""

    def __init__(
        self,
        nodes: Nodes,
        prefix: str,
        on_keys: Callable[[list[str]], None],
        on_reset: Callable[[], None],
        *,
        epoch: Callable[[], object] | None = None,
        heartbeat_s: float = 0.25,
        stale_after_s: float = 0.75,
        refresh_s: float = 1.0,
    ) -> None:
        self.nodes = nodes
        self.prefix = prefix
        self._on_keys, self._on_reset = on_keys, on_reset
        self._epoch = epoch
        self.heartbeat_s = heartbeat_s
        self.stale_after_s = stale_after_s
        self.refresh_s = refresh_s
        self.trackers: dict[str, Tracker] = {}  # replaced whole, never changed in place
        self.checked_at = -1e9  # monotonic seconds of the last round that succeeded
        self.started = False
        self.retargets = 0
        self._retired_reconnects = 0
        self._token: object = None
        self._refreshed_at = -1e9
        self._closed = False
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forget_after_fork)

    @property
    def live(self) -> bool:
        now = time.monotonic()
        if now - self.checked_at >= self.stale_after_s:
            return False
        trackers = self.trackers
        for tracker in trackers.values():
            if not tracker.subscribed or now - tracker.last_heard >= tracker.stale_after_s:
                return False
        return bool(trackers)

    @property
    def subscribed(self) -> bool:
        """Every primary the client knows now has a subscribed listener (no I/O)."""
        trackers = self.trackers
        return (
            bool(trackers)
            and all(t.subscribed for t in trackers.values())
            and self.nodes.names() == set(trackers)
        )

    @property
    def reconnects(self) -> int:
        return self._retired_reconnects + sum(t.reconnects for t in self.trackers.values())

    def start(self) -> None:
        if self.started or self._closed:
            return
        self.started = True
        import threading  # noqa: PLC0415

        threading.Thread(target=self._run, name="overage-grant-overseer", daemon=True).start()

    def close(self) -> None:
        self._closed = True
        for tracker in self.trackers.values():
            tracker.close()

    def sync(self, timeout_s: float = 2.0) -> bool:
        """Wait until every change each primary made before this call has been handled."""
        trackers = self.trackers
        return bool(trackers) and all(t.sync(timeout_s) for t in trackers.values())

    # -- the rounds -----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._closed:
            started = time.monotonic()
            with contextlib.suppress(Exception):  # a failed round is simply not counted
                self._round(started)
                self.checked_at = time.monotonic()
            time.sleep(max(0.0, self.heartbeat_s - (time.monotonic() - started)))

    def _round(self, now: float) -> None:
        trackers = self.trackers
        troubled = not trackers or not all(t.live for t in trackers.values())
        due = now - self._refreshed_at >= self.refresh_s
        if self.nodes.kind == "sentinel" or troubled or due:
            found = self.nodes.refresh()
            self._refreshed_at = now
        else:
            found = self.nodes.current()
        if set(found) != set(trackers):
            self._retarget(found)
        if self._epoch is not None:
            token = self._epoch()
            if self._token is not None and token != self._token:
                self._on_reset()  # another dataset: nothing cached is known current
            self._token = token

    def _retarget(self, found: dict[str, Callable[[], Any]]) -> None:
        kept = {name: t for name, t in self.trackers.items() if name in found}
        for name, tracker in self.trackers.items():
            if name not in found:
                self._retired_reconnects += tracker.reconnects
                tracker.close()
        for name, connect in found.items():
            if name not in kept:
                tracker = Tracker(
                    connect,
                    self.prefix,
                    self._on_keys,
                    self._on_reset,
                    heartbeat_s=self.heartbeat_s,
                    stale_after_s=self.stale_after_s,
                )
                kept[name] = tracker
                tracker.start()
        self.trackers = kept
        self.retargets += 1
        self._on_reset()

    def _forget_after_fork(self) -> None:
        self.trackers = {}
        self.checked_at = -1e9
        self.started = False
        self._token = None
