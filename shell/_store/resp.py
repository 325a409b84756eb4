"""Just enough of the Redis protocol (RESP2) for a one-shot process, over a plain socket.

redis-py costs 150 ms to import (it loads asyncio and its observability stack whatever
is used); a status line render has a budget of a few tens of milliseconds and sends two or
three commands. `Connection` sends commands and reads their replies, pipelined, and
nothing else: no pool, no retries, no RESP3, no pub/sub. Every socket operation is bounded
by the time left before `deadline` (monotonic seconds), so a server that is slow, silent
or hostile cannot hold the caller past it, and every reply is bounded in size and depth.

Errors: `RespError` is the server's error reply (its first word says which: ``MOVED``,
``ASK``, ``NOAUTH``...); everything else that goes wrong (refused, timed out, a reply that
is not RESP) is an `OSError`.
"""

from __future__ import annotations

import socket
import time
from typing import Final, TypeAlias

__all__ = ["Connection", "Reply", "RespError"]

Reply: TypeAlias = "bytes | int | list[Reply] | RespError | None"

MAX_BULK: Final = 1 << 20  # our values are a few hundred bytes; a megabyte is hostile
MAX_ITEMS: Final = 4096
MAX_DEPTH: Final = 4
MAX_LINE: Final = 64 * 1024


class RespError(Exception):
    """An error reply from the server."""

    @property
    def code(self) -> str:
        return str(self).split(" ", 1)[0]


def _encode(args: tuple[object, ...]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class Connection:
    """One connection to one server (see the module docstring)."""

    def __init__(
        self,
        address: tuple[str, int] | str,
        *,
        deadline: float,
        tls: bool = False,
    ) -> None:
        self.deadline = deadline
        if isinstance(address, str):  # a Unix socket's path
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self._left())
            sock.connect(address)
        else:
            sock = socket.create_connection(address, timeout=self._left())
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            import ssl  # noqa: PLC0415  (only rediss:// pays for it)

            host = address if isinstance(address, str) else address[0]
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        self._sock = sock
        self._buffer = b""

    @classmethod
    def over(cls, sock: socket.socket, *, deadline: float) -> Connection:
        """A connection over a socket already connected (a socket pair, in the tests)."""
        conn = cls.__new__(cls)
        conn.deadline, conn._sock, conn._buffer = deadline, sock, b""
        return conn

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("out of time")
        return left

    def close(self) -> None:
        self._sock.close()

    def call(self, *args: object) -> Reply:
        """One command's reply; an error reply is raised."""
        [reply] = self.pipeline([args])
        if isinstance(reply, RespError):
            raise reply
        return reply

    def pipeline(self, commands: list[tuple[object, ...]]) -> list[Reply]:
        """Send every command at once; their replies in order (error replies returned)."""
        payload = b"".join(_encode(c) for c in commands)
        self._sock.settimeout(self._left())
        self._sock.sendall(payload)
        return [self.read_reply() for _ in commands]

    def read_reply(self) -> Reply:
        """The next reply (an error reply is returned, not raised)."""
        try:
            return self._reply(0)
        except ValueError as exc:  # a length or an integer that is not one
            raise OSError("not a RESP reply") from exc

    # -- reading --------------------------------------------------------------------------

    def _fill(self) -> None:
        self._sock.settimeout(self._left())
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self._buffer += chunk

    def _line(self) -> bytes:
        while True:
            end = self._buffer.find(b"\r\n")
            if end >= 0:
                line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
                return line
            if len(self._buffer) > MAX_LINE:
                raise OSError("a reply line is too long")
            self._fill()

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size + 2:
            self._fill()
        data, tail = self._buffer[:size], self._buffer[size : size + 2]
        if tail != b"\r\n":
            raise OSError("a bulk reply is not terminated")
        self._buffer = self._buffer[size + 2 :]
        return data

    def _reply(self, depth: int) -> Reply:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            return RespError(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            if size > MAX_BULK:
                raise OSError("a bulk reply is too large")
            return self._exactly(size)
        if kind == b"*":
            count = int(rest)
            if count < 0:
                return None
            if count > MAX_ITEMS or depth >= MAX_DEPTH:
                raise OSError("an array reply is too large or too deep")
            return [self._reply(depth + 1) for _ in range(count)]
        raise OSError("not a RESP reply")
