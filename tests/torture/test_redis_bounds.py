"""A hostile "Redis" under the status line: the render's own Redis reader (no redis-py)
against a server that answers a gigabyte's length, arrays without end, a line without
end, or nothing at all. Each attack is checked for what it targets: the render's wall
time and peak memory, its one line and exit code, the password in its output."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from .test_bounds import env, run

__all__ = ["env"]  # the fixture, shared with test_bounds

pytestmark = pytest.mark.torture
SECRET = "hostile-password-123"


def huge_bulk(conn: socket.socket) -> None:
    conn.sendall(b"$1000000000\r\n")
    for _ in range(100):
        conn.sendall(b"x" * 65536)
        time.sleep(0.05)


def endless_arrays(conn: socket.socket) -> None:
    conn.sendall(b"*1\r\n" * 100_000)


def endless_line(conn: socket.socket) -> None:
    for _ in range(200):
        conn.sendall(b"+" + b"y" * 65536)
        time.sleep(0.01)


def silence(conn: socket.socket) -> None:
    time.sleep(5)


def garbage(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")


@contextlib.contextmanager
def hostile(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """A loopback server that reads a little of each command, then answers with `answer`."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                conn.recv(4096)
                answer(conn)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()


@pytest.mark.parametrize(
    "answer", [huge_bulk, endless_arrays, endless_line, silence, garbage], ids=lambda a: a.__name__
)
@pytest.mark.parametrize("scheme", ["redis", "redis+cluster", "redis+sentinel"])
def test_a_hostile_redis_costs_a_render_at_most_its_timeout(
    env: dict[str, str], answer: Callable[[socket.socket], None], scheme: str
) -> None:
    with hostile(answer) as port:
        path = "/grants" if scheme == "redis+sentinel" else "/0" if scheme == "redis" else ""
        url = f"{scheme}://:{SECRET}@127.0.0.1:{port}{path}"
        result = run({**env, "OVERAGE_GRANT_REDIS_URL": url}, "statusline")
    assert result.code == 0
    assert result.out == "\n"
    assert SECRET not in result.out + result.err
    assert result.seconds < 3.0, result  # the store's 1 s, and the interpreter's start
    assert result.max_rss_mb < 60, result
    name = f"{scheme} {answer.__name__}"
    print(f"\n{name}: {result.seconds:.2f} s, max RSS {result.max_rss_mb:.0f} MB")
