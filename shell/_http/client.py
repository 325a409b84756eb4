"""The one HTTP request of a fetch: get a JSON body, hand it back to be understood.

Hardening, each rule a test: plain ``http`` is allowed only to a loopback host (and
never through a proxy); redirects are never followed (the token must not travel to
another host); connect and per-read time are bounded, and one total deadline bounds
the whole exchange (connect, headers and body: see `deadline`); the body is capped
and never decoded (``Accept-Encoding: identity``; an encoded body is refused, so the
bytes counted are the bytes parsed); only an ``application/json`` 200 is read; the token
is sent only in the ``Authorization`` header and never appears in an error text.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
from typing import Any, Final
from urllib.parse import urlsplit

import requests
import urllib3
from returns.result import Failure, Result, Success

from .._outcomes import FetchError, FetchErrorKind
from .deadline import DeadlineAdapter, watching

__all__ = ["check_base_url", "get_json"]

API_VERSION: Final = "2023-06-01"
_TOKEN: Final = re.compile(r"[\x21-\x7e]+")  # visible ASCII: nothing that could split a header
_CHUNK: Final = 8192
_DETAIL_LIMIT: Final = 200


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str) -> Result[str, FetchError]:
    """The base URL without a trailing slash, or why it may not receive a token: it is
    malformed (not an http(s) URL with a host, a bad port, a query or fragment), or it is
    insecure (plain http to a host that is not loopback, or credentials in the URL)."""
    try:
        parts = urlsplit(base_url)
        host = parts.hostname
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return _malformed(f"base URL is malformed: {_shown(base_url)}")
    if parts.scheme not in ("https", "http") or not host:
        return _malformed(f"base URL is not an http(s) URL with a host: {_shown(base_url)}")
    if parts.query or parts.fragment:
        return _malformed("base URL must not have a query or fragment")
    if parts.username is not None or parts.password is not None:
        return Failure(
            FetchError(FetchErrorKind.INSECURE_URL, "base URL must not carry credentials")
        )
    if parts.scheme == "http" and not _is_loopback(host):
        return Failure(
            FetchError(
                FetchErrorKind.INSECURE_URL,
                "plain http is allowed only to a loopback host; use https",
            )
        )
    return Success(base_url.rstrip("/"))


def _malformed(detail: str) -> Result[str, FetchError]:
    return Failure(FetchError(FetchErrorKind.MALFORMED_URL, detail))


def _shown(url: str) -> str:
    """A URL as it may appear in a message: never a password (a URL carrying one is not
    shown at all), and at most 80 characters."""
    return "<hidden>" if "@" in url else repr(url[:80])


class _Bearer(requests.auth.AuthBase):
    """Sets the bearer header; as `auth`, it also stops requests from consulting .netrc."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_Bearer(<redacted>)"


def _scrub(text: str, token: str) -> str:
    if token:
        text = text.replace(token, "<redacted>")
    return text[:_DETAIL_LIMIT]


def _root_reason(exc: BaseException) -> str | None:
    """The operating system's words for what went wrong, found down the exception chain."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        linked = [getattr(current, "reason", None), current.__cause__, current.__context__]
        linked += list(current.args)
        pending.extend(e for e in linked if isinstance(e, BaseException))
    return None


def _describe(exc: BaseException, token: str) -> str:
    """A short, token-free description: the exception type and the root reason, if any."""
    reason = _root_reason(exc)
    return _scrub(f"{reason} ({type(exc).__name__})" if reason else type(exc).__name__, token)


def get_json(
    url: str,
    token: str,
    *,
    session: Any = None,
    connect_timeout_s: float = 3.05,
    read_timeout_s: float = 10.0,
    deadline: float | None = None,
    max_bytes: int = 64 * 1024,
) -> Result[object, FetchError]:
    """GET `url` with the bearer `token`; the parsed JSON body, or a `FetchError`.

    `url` must already have passed `check_base_url` (its base) and carry a checked org
    id. `deadline` is a `time.monotonic()` instant bounding the whole exchange (default:
    20 s from now). Never raises.
    """
    if not _TOKEN.fullmatch(token):
        return Failure(
            FetchError(FetchErrorKind.BAD_TOKEN, "token has characters a header forbids")
        )
    deadline = time.monotonic() + 20.0 if deadline is None else deadline
    own_session = session is None
    if own_session:
        session = requests.Session()
        adapter = DeadlineAdapter(max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
    # A proxy from the environment must not carry a plain-http token off this machine.
    proxies = {"http": None, "https": None} if _is_loopback(urlsplit(url).hostname or "") else None
    try:
        with watching(deadline) as watch:
            try:
                body = _get_body(
                    session,
                    url,
                    token,
                    (connect_timeout_s, read_timeout_s),
                    deadline,
                    max_bytes,
                    proxies,
                )
            except Exception as exc:
                if watch.expired or time.monotonic() >= deadline:
                    raise TimeoutError("the exchange took longer than the total timeout") from exc
                raise
            if watch.expired:  # a cut mid-headers can read as a short, odd answer
                raise TimeoutError("the exchange took longer than the total timeout")
    except (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError) as exc:
        return Failure(FetchError(FetchErrorKind.TIMEOUT, "timed out: " + _describe(exc, token)))
    except Exception as exc:  # any transport trouble is a failed fetch, not a crash
        return Failure(
            FetchError(FetchErrorKind.NETWORK, "network error: " + _describe(exc, token))
        )
    finally:
        if own_session:
            session.close()
    return body.bind(_parse)


def _get_body(
    http: Any,
    url: str,
    token: str,
    timeouts: tuple[float, float],
    deadline: float,
    max_bytes: int,
    proxies: dict[str, None] | None,
) -> Result[bytes, FetchError]:
    headers = {
        "Content-Type": "application/json",
        "anthropic-version": API_VERSION,
        "Accept": "application/json",
        "Accept-Encoding": "identity",
    }
    response = http.get(
        url,
        headers=headers,
        auth=_Bearer(token),
        timeout=timeouts,
        stream=True,
        allow_redirects=False,
        proxies=proxies,
    )
    with response:
        status = response.status_code
        if 300 <= status < 400:
            return _http_error(status, f"HTTP {status}: redirect refused")
        if status != 200:
            return _http_error(status, f"HTTP {status}")
        ctype = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json" and not ctype.endswith("+json"):
            return _payload_error(f"response is {ctype or 'untyped'}, not application/json")
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            return _payload_error(f"response has an unrequested content encoding ({encoding})")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            return _payload_error(f"response is larger than {max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        read = getattr(response.raw, "read1", response.raw.read)
        while chunk := read(_CHUNK, decode_content=False):
            size += len(chunk)
            if size > max_bytes:
                return _payload_error(f"response is larger than {max_bytes} bytes")
            if time.monotonic() > deadline:
                raise TimeoutError("the exchange took longer than the total timeout")
            chunks.append(chunk)
        return Success(b"".join(chunks))


def _http_error(status: int, detail: str) -> Result[bytes, FetchError]:
    return Failure(FetchError(FetchErrorKind.HTTP, detail, http_status=status))


def _payload_error(detail: str) -> Result[Any, FetchError]:
    return Failure(FetchError(FetchErrorKind.PAYLOAD, detail))


def _parse(body: bytes) -> Result[object, FetchError]:
    try:
        return Success(json.loads(body))
    except (ValueError, RecursionError):
        return _payload_error("response is not valid JSON")
