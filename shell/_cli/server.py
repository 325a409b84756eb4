"""The reference backend: the grant endpoint on the stdlib HTTP server.

For the demo, the tests, and anyone developing a client. Loopback by default.

Grants file (JSON)::

    {
      "tokens": {"<bearer token>": "<organization uuid>", ...},
      "grants": {"<organization uuid>": {"available": true, "eligible": true,
                                          "granted": false, "amount_minor_units": 500,
                                          "currency": "USD"}, ...}
    }

Answers ``GET /api/oauth/organizations/{org}/overage_credit_grant``: 401 without a
bearer token or with an unknown one, 403 when the token belongs to another org, 404 for
an org with no grant, else 200 and the grant. ``GET /status`` gives the request counts.
One log line per request, without the token; a client that resets, breaks the pipe or
stays silent past `CLIENT_TIMEOUT_S` gives one log line too, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final, TextIO

from overage_credit_grant.core import decode_grant_info, is_valid_org_id

__all__ = ["SAMPLE_ORG", "SAMPLE_TOKEN", "Backend", "ReferenceServer", "load_backend"]

SAMPLE_ORG: Final = "0f8fad5b-d9cb-469f-a165-70867728950e"
SAMPLE_TOKEN: Final = "demo-token-not-a-secret"  # noqa: S105  (the built-in sample's, public)
_SAMPLE_GRANT: Final = {
    "available": True,
    "eligible": True,
    "granted": False,
    "amount_minor_units": 500,
    "currency": "USD",
}
_ROUTE: Final = re.compile(r"/api/oauth/organizations/([^/]+)/overage_credit_grant")
CLIENT_TIMEOUT_S: Final = 10.0


@dataclass
class Backend:
    """The server's state: who may ask for which org, each org's grant, a request count."""

    tokens: dict[str, str]
    grants: dict[str, dict[str, object]]
    requests: int = 0
    by_org: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def sample(cls) -> Backend:
        return cls(tokens={SAMPLE_TOKEN: SAMPLE_ORG}, grants={SAMPLE_ORG: dict(_SAMPLE_GRANT)})

    def set_grant(self, org: str, grant: Mapping[str, object]) -> None:
        with self.lock:
            self.grants[org] = dict(grant)

    def answer(self, path: str, authorization: str | None) -> tuple[int, object]:
        """The status and JSON body for one GET, counting grant requests."""
        if path == "/status":
            with self.lock:
                return 200, {"requests": self.requests, "by_org": dict(self.by_org)}
        match = _ROUTE.fullmatch(path)
        if match is None:
            return 404, {"error": "not_found"}
        org = match.group(1)
        with self.lock:
            self.requests += 1
            self.by_org[org] = self.by_org.get(org, 0) + 1
            token = authorization[7:] if authorization and authorization[:7] == "Bearer " else None
            owner = self.tokens.get(token) if token else None
            if owner is None:
                return 401, {"error": "unauthorized"}
            if owner != org:
                return 403, {"error": "forbidden"}
            if org not in self.grants:
                return 404, {"error": "unknown_organization"}
            return 200, dict(self.grants[org])


def load_backend(path: Path) -> Backend:
    """Read a grants file; raises ValueError with a one-line reason when it is malformed."""
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"cannot read grants file: {exc.strerror}") from None
    except ValueError:
        raise ValueError("grants file is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError("grants file must be a JSON object with 'tokens' and 'grants'")
    tokens, grants = data.get("tokens"), data.get("grants")
    if not isinstance(tokens, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tokens.items()
    ):
        raise ValueError("grants file: 'tokens' must map token strings to organization ids")
    if not isinstance(grants, dict):
        raise ValueError("grants file: 'grants' must map organization ids to grants")
    for org, grant in grants.items():
        if not is_valid_org_id(org):
            raise ValueError(f"grants file: {org!r} is not an organization id")
        reason = decode_grant_info(grant).swap().value_or(None)
        if reason is not None:
            raise ValueError(f"grants file: grant of {org}: {reason}")
    return Backend(tokens=dict(tokens), grants={k: dict(v) for k, v in grants.items()})


class _Handler(BaseHTTPRequestHandler):
    server: ReferenceServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.client_timeout_s)  # a silent client is dropped

    def do_GET(self) -> None:
        status, body = self.server.backend.answer(
            self.path.split("?")[0], self.headers.get("Authorization")
        )
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The request line holds no token (it travels in a header), so it is safe to log.
        self.server.log_line(f"{self.command} {self.path.split('?')[0]} {code}")

    def log_error(self, format: str, *args: Any) -> None:
        # "Request timed out", a malformed request line: one line, without headers.
        self.server.log_line(f"{self.client_address[0]}: {format % args}")

    def log_message(self, format: str, *args: Any) -> None:
        return


class ReferenceServer(ThreadingHTTPServer):
    """The backend on a real socket; `start()` serves from a daemon thread."""

    daemon_threads = True

    def __init__(
        self,
        backend: Backend | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_to: TextIO | None = None,
        client_timeout_s: float = CLIENT_TIMEOUT_S,
    ) -> None:
        super().__init__((host, port), _Handler)
        self.backend = backend or Backend.sample()
        self.log_to = log_to
        self.client_timeout_s = client_timeout_s
        self._thread: threading.Thread | None = None

    def log_line(self, line: str) -> None:
        if self.log_to is not None:
            with contextlib.suppress(OSError, ValueError):
                print(line, file=self.log_to, flush=True)

    def handle_error(self, request: object, client_address: Any) -> None:
        """A client that went away mid-exchange: one line, never socketserver's traceback."""
        error = sys.exc_info()[1]
        name = type(error).__name__ if error is not None else "error"
        self.log_line(f"{client_address[0]}: connection ended early ({name})")

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        text = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{text}]" if ":" in text else text
        return f"http://{shown}:{port}"

    def start(self) -> ReferenceServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> ReferenceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(server: ReferenceServer, announce: Callable[[], None] = lambda: None) -> None:
    """Say where it listens (`announce`), then serve in the foreground until SIGINT or
    SIGTERM, and close the socket cleanly. A signal that comes while it announces (whoever
    reads the address may stop it at once) stops it just as cleanly."""
    import signal  # noqa: PLC0415

    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        announce()
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        print("stopped", file=sys.stderr)
