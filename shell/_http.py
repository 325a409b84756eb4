"""The one HTTP request: get a grant's bytes, hand them to the core to understand.

Hardening, each rule a test: the org id is validated before it reaches a URL; plain
``http`` is allowed only to a loopback host; redirects are never followed (the token
must not travel to another host); connect, per-read and total time are bounded; the
body is capped; only an ``application/json`` 200 is read; the token is sent only in
the ``Authorization`` header and never appears in an error text.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import re
import time
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import requests
import urllib3
from returns.result import Failure, Result, Success

from overage_credit_grant.core import GrantInfo, decode_grant_info, is_valid_org_id

__all__ = ["FetchError", "FetchErrorKind", "check_base_url", "fetch_grant", "grant_url"]

API_VERSION: Final = "2023-06-01"
_TOKEN: Final = re.compile(r"[\x21-\x7e]+")  # visible ASCII: nothing that could split a header
_CHUNK: Final = 8192
_DETAIL_LIMIT: Final = 200


class FetchErrorKind(enum.Enum):
    HTTP = "http"
    NETWORK = "network"
    TIMEOUT = "timeout"
    PAYLOAD = "payload"
    INVALID_ORG = "invalid_org"
    INSECURE_URL = "insecure_url"
    BAD_TOKEN = "bad_token"  # noqa: S105  (a status name, not a secret)


@dataclass(frozen=True, slots=True)
class FetchError:
    kind: FetchErrorKind
    detail: str
    http_status: int | None = None


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str) -> Result[str, str]:
    """The base URL without a trailing slash, or why it may not receive a token."""
    try:
        parts = urlsplit(base_url)
        host = parts.hostname
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return Failure("base URL is malformed")
    if parts.scheme not in ("https", "http") or not host:
        return Failure("base URL must be an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        return Failure("base URL must not carry credentials")
    if parts.query or parts.fragment:
        return Failure("base URL must not have a query or fragment")
    if parts.scheme == "http" and not _is_loopback(host):
        return Failure("plain http is allowed only to a loopback host; use https")
    return Success(base_url.rstrip("/"))


def grant_url(base: str, org_id: str) -> str:
    return f"{base}/api/oauth/organizations/{org_id}/overage_credit_grant"


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


def fetch_grant(
    base_url: str,
    org_id: str,
    token: str,
    *,
    session: Any = None,
    connect_timeout_s: float = 3.05,
    read_timeout_s: float = 10.0,
    total_timeout_s: float = 20.0,
    max_bytes: int = 64 * 1024,
) -> Result[GrantInfo, FetchError]:
    """GET the grant of `org_id`; every failure is a `FetchError`, never an exception."""
    if not is_valid_org_id(org_id):
        return Failure(FetchError(FetchErrorKind.INVALID_ORG, "organization id is not a UUID"))
    base = check_base_url(base_url)
    if isinstance(base, Failure):
        return Failure(FetchError(FetchErrorKind.INSECURE_URL, base.failure()))
    if not _TOKEN.fullmatch(token):
        return Failure(
            FetchError(FetchErrorKind.BAD_TOKEN, "token has characters a header forbids")
        )
    own_session = session is None
    http = requests.Session() if own_session else session
    # A proxy from the environment must not carry a plain-http token off this machine.
    host = urlsplit(base.unwrap()).hostname or ""
    proxies = {"http": None, "https": None} if _is_loopback(host) else None
    try:
        body = _get_body(
            http,
            grant_url(base.unwrap(), org_id),
            token,
            (connect_timeout_s, read_timeout_s),
            time.monotonic() + total_timeout_s,
            max_bytes,
            proxies,
        )
    except (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError) as exc:
        return Failure(FetchError(FetchErrorKind.TIMEOUT, "timed out: " + _describe(exc, token)))
    except Exception as exc:  # any transport trouble is a failed fetch, not a crash
        return Failure(
            FetchError(FetchErrorKind.NETWORK, "network error: " + _describe(exc, token))
        )
    finally:
        if own_session:
            http.close()
    return body.bind(_understand)


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
                raise TimeoutError("response took longer than the total timeout")
            chunks.append(chunk)
        return Success(b"".join(chunks))


def _http_error(status: int, detail: str) -> Result[bytes, FetchError]:
    return Failure(FetchError(FetchErrorKind.HTTP, detail, http_status=status))


def _payload_error(detail: str) -> Result[Any, FetchError]:
    return Failure(FetchError(FetchErrorKind.PAYLOAD, detail))


def _understand(body: bytes) -> Result[GrantInfo, FetchError]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return _payload_error("response is not valid JSON")
    return decode_grant_info(payload).alt(
        lambda reason: FetchError(FetchErrorKind.PAYLOAD, f"response is not a grant: {reason}")
    )
