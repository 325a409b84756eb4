"""Redis's invalidation messages for one key prefix, heard by one listener thread.

One connection does ``CLIENT TRACKING ON REDIRECT <its own id> BCAST PREFIX <prefix>``
and ``SUBSCRIBE __redis__:invalidate``; a daemon thread reads it. Every key any client
changes under the prefix is handed to `on_keys`; a null payload (FLUSHDB, FLUSHALL), a
new subscription and a lost one all call `on_reset`. `live` says whether the messages can
be trusted right now: subscribed, and heard from Redis within `stale_after_s` (the
thread pings every `heartbeat_s`, and Redis answers on the same connection). It
reconnects by itself, waiting longer each time up to 1 s. `sync` waits until every
message Redis queued before the call has been handled. A forked child does not inherit
it: `overseer.Overseer`, which owns the trackers, starts new ones there.
"""

from __future__ import annotations

import _thread
import collections
import contextlib
import time
from collections.abc import Callable
from typing import Any, Final

__all__ = ["CHANNEL", "Tracker"]

CHANNEL: Final = "__redis__:invalidate"


def _condition() -> Any:
    import threading  # noqa: PLC0415

    return threading.Condition()


class Tracker:
    """The listener of one prefix's invalidations (see the module docstring)."""

    def __init__(
        self,
        connect: Callable[[], Any],
        prefix: str,
        on_keys: Callable[[list[str]], None],
        on_reset: Callable[[], None],
        *,
        heartbeat_s: float = 0.25,
        stale_after_s: float = 0.75,
    ) -> None:
        self._connect = connect  # a new RESP2 redis-py Connection, not yet connected
        self.prefix = prefix
        self._on_keys, self._on_reset = on_keys, on_reset
        self.heartbeat_s = heartbeat_s
        self.stale_after_s = stale_after_s
        self.subscribed = False
        self.last_heard = 0.0
        self.started = False
        self.reconnects = 0
        self._closed = False
        self._lock = _thread.allocate_lock()
        self._sync = _condition()
        self._sync_wanted = 0  # tickets asked for by `sync`
        self._sync_done = 0  # tickets whose ping Redis has answered
        self._pings: collections.deque[int] = collections.deque()
        self._send_lock = _thread.allocate_lock()
        self._connection: Any = None

    @property
    def live(self) -> bool:
        """Subscribed, and heard from Redis within `stale_after_s`."""
        return self.subscribed and time.monotonic() - self.last_heard < self.stale_after_s

    def start(self) -> None:
        with self._lock:
            if self.started or self._closed:
                return
            self.started = True
        import threading  # noqa: PLC0415

        threading.Thread(target=self._listen, name="overage-grant-near-cache", daemon=True).start()

    def close(self) -> None:
        self._closed = True
        self.subscribed = False

    def sync(self, timeout_s: float = 2.0) -> bool:
        """Wait until every change Redis made before this call has been handled.

        Redis answers a PING on the invalidation connection only after every message it
        queued there before it, so the answer to a ping sent now means "all earlier
        invalidations are in". False when not serving (nothing is cached then) or on
        timeout.
        """
        with self._sync:
            if not self.subscribed:
                return False
            self._sync_wanted += 1
            ticket = self._sync_wanted
        try:
            self._ping()
        except Exception:  # the listener will notice the broken connection itself
            return False
        with self._sync:
            done = self._sync.wait_for(
                lambda: self._sync_done >= ticket or not self.subscribed, timeout_s
            )
            return done and self._sync_done >= ticket

    def _ping(self) -> None:
        """Ask Redis for a pong on the invalidation connection (any thread may ask; only
        the listener reads)."""
        with self._send_lock:
            connection = self._connection
            if connection is None:
                raise ConnectionError("not subscribed")
            self._pings.append(self._sync_wanted)
            connection.send_command("PING")

    def _listen(self) -> None:
        wait = 0.05
        while not self._closed:
            connection = None
            try:
                connection = self._subscribe()
                wait = 0.05
                self._serve(connection)
            except Exception:  # noqa: S110  (any trouble: flush, then reconnect)
                pass
            finally:
                with self._send_lock:
                    self._connection = None
                with self._sync:
                    self.subscribed = False
                    self._sync.notify_all()
                self._on_reset()
                if connection is not None:
                    with contextlib.suppress(Exception):
                        connection.disconnect()
            if not self._closed:
                self.reconnects += 1
                time.sleep(wait)
                wait = min(1.0, wait * 2)

    def _subscribe(self) -> Any:
        connection = self._connect()
        connection.connect()
        connection.send_command("CLIENT", "ID")
        own_id = connection.read_response()
        connection.send_command(
            "CLIENT", "TRACKING", "ON", "REDIRECT", own_id, "BCAST", "PREFIX", self.prefix
        )
        if connection.read_response() not in (b"OK", "OK"):
            raise ConnectionError("CLIENT TRACKING refused")
        connection.send_command("SUBSCRIBE", CHANNEL)
        connection.read_response()
        self._on_reset()  # whatever was cached before this subscription is not known current
        with self._send_lock:
            self._pings.clear()
            self._connection = connection
        self.last_heard = time.monotonic()
        self.subscribed = True
        return connection

    def _serve(self, connection: Any) -> None:
        pinged = time.monotonic()
        while not self._closed:
            if connection.can_read(timeout=self.heartbeat_s / 2):
                self._handle(connection.read_response())
                self.last_heard = time.monotonic()
            now = time.monotonic()
            if now - self.last_heard >= self.stale_after_s:
                raise ConnectionError("no word from Redis: the invalidations may be lost")
            if now - pinged >= self.heartbeat_s:
                self._ping()
                pinged = now

    def _pong(self) -> None:
        if self._pings:
            ticket = self._pings.popleft()
            with self._sync:
                if ticket > self._sync_done:
                    self._sync_done = ticket
                    self._sync.notify_all()

    def _handle(self, message: object) -> None:
        if not isinstance(message, list) or len(message) < 2:
            return
        kind = message[0]
        if kind in (b"pong", "pong"):
            self._pong()
            return
        if kind not in (b"message", "message"):
            return  # a subscription notice: only a sign of life
        keys = message[2] if len(message) > 2 else None
        if keys is None:
            self._on_reset()  # FLUSHDB / FLUSHALL
            return
        if isinstance(keys, list):
            self._on_keys([_text(key) for key in keys])


def _text(key: object) -> str:
    return key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
