"""requests' transport with one deadline over the whole exchange.

requests bounds each socket operation (connect, each read) but not their sum: a server
that sends one header line every few seconds keeps a request alive forever without
ever tripping the read timeout. `DeadlineAdapter` closes that gap. Every connection it
makes is watched by the exchange in progress on this thread: when the exchange's
deadline passes, a timer shuts the socket down (``shutdown(SHUT_RDWR)``), which wakes
any blocked read at once, in the TLS handshake, the headers or the body; the caller
then reports a timeout. A connection made after the deadline is cut as soon as it
exists, so a slow connect ends too (a connect is also bounded by its own timeout).

What is left unbounded by the deadline: name resolution (``getaddrinfo`` cannot be
interrupted; the system resolver has timeouts of its own) and a session of your own
(`Settings.session`) that does not mount this adapter.
"""

from __future__ import annotations

import _thread
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["DeadlineAdapter", "Watch", "watching"]


class Watch:
    """The deadline of one exchange and the connections it has used."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.expired = False
        self._lock = _thread.allocate_lock()
        self._connections: list[Any] = []
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.name = "overage-grant-http-deadline"

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._connections.clear()

    def attach(self, connection: Any) -> None:
        with self._lock:
            if connection not in self._connections:
                self._connections.append(connection)
            if self.expired:
                _cut(connection)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            for connection in self._connections:
                _cut(connection)


def _cut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            # The plain socket's shutdown, even for TLS: it only wakes the reader.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


_current = threading.local()


@contextlib.contextmanager
def watching(deadline: float) -> Iterator[Watch]:
    """Watch every connection this thread uses until the block ends."""
    watch = Watch(deadline)
    previous = getattr(_current, "watch", None)
    _current.watch = watch
    watch.start()
    try:
        yield watch
    finally:
        watch.stop()
        _current.watch = previous


def _attach(connection: Any) -> None:
    watch: Watch | None = getattr(_current, "watch", None)
    if watch is not None:
        watch.attach(connection)


class _Watched:
    """Joins every connection it is mixed into to the exchange watching this thread."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _attach(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS: dict[str, type[HTTPConnectionPool]] = {
    "http": _WatchedHTTPPool,
    "https": _WatchedHTTPSPool,
}


class DeadlineAdapter(HTTPAdapter):
    """An `HTTPAdapter` whose connections obey the deadline of `watching`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if proxy.lower().startswith("http"):  # SOCKS managers bring their own connections
            manager.pool_classes_by_scheme = _POOLS
        return manager
