"""The reference backend under clients that misbehave: one log line each, no traceback,
and it keeps serving."""

from __future__ import annotations

import io
import signal
import socket
import struct
import time
from pathlib import Path

import requests

from overage_credit_grant.shell._cli.server import SAMPLE_ORG, ReferenceServer

from ..support.backend import grant_path
from ..support.cli import clean_env, start_serve


def reset_after_sending(base_url: str, request: bytes) -> None:
    """Send `request`, then reset the connection (RST) before reading the answer."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as conn:
        conn.sendall(request)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_clients_that_reset_give_one_line_each_and_no_traceback(tmp_path: Path) -> None:
    proc, base_url = start_serve(clean_env(tmp_path), None)
    path = grant_path(SAMPLE_ORG).encode()
    for auth in (b"", b"Authorization: Bearer wrong\r\n"):  # 401s
        for _ in range(5):
            reset_after_sending(
                base_url, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n"
            )
    reset_after_sending(base_url, b"GET / HTTP/1.1\r\n")  # a request cut mid-headers
    time.sleep(0.3)
    assert requests.get(base_url + "/status", timeout=5).status_code == 200  # still serving
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err
    lines = err.splitlines()  # after the address, which start_serve read
    assert lines[-1] == "stopped"
    assert sum("connection ended early (ConnectionResetError)" in line for line in lines) >= 10
    for line in lines[:-1]:  # one short line per request or reset (after the sample's)
        assert line.startswith(("GET ", "127.0.0.1: ", "built-in sample: ")), line
        assert len(line) < 200


def test_a_silent_client_is_dropped_with_one_line() -> None:
    log = io.StringIO()
    with ReferenceServer(log_to=log, client_timeout_s=0.3) as server:
        host, port = server.server_address[:2]
        with socket.create_connection((str(host), port)) as silent:
            silent.sendall(b"GET / HTTP/1.1\r\n")  # and then nothing
            silent.settimeout(5)
            started = time.monotonic()
            assert silent.recv(100) == b""  # the server closed it
            assert time.monotonic() - started < 3
        assert requests.get(server.base_url + "/status", timeout=5).status_code == 200
    said = log.getvalue().splitlines()
    assert said[0].startswith("127.0.0.1: ")
    assert "timed out" in said[0]
    assert "Traceback" not in log.getvalue()
