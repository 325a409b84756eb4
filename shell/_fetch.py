"""Where a lookup's data comes from: a fetch, as a value.

A fetch takes a `FetchRequest` (the org, the bearer token when the lookup needs one, the
settings and the time left) and gives the *payload*, the JSON-like value that the
lookup's `PerOrgCache.decode` then checks strictly. Two kinds:

* `HttpFetch(path)`: ``GET {settings.base_url}{path}`` with ``{org}`` filled in, through
  the hardened client in `_http.client` (bearer auth, timeouts, one total deadline, a size cap,
  no redirects, plain ``http`` only to loopback);
* `CallableFetch(fn)`: any function of yours. Return the payload, or a
  ``returns.result.Result`` of it; raise (or return ``Failure(FetchError | str)``) for a
  failed fetch. An exception is never propagated and its message is never shown (it
  could hold a secret): the outcome names its type.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar

from returns.result import Failure, Result, Success

from overage_credit_grant.core._record import Record, field

if TYPE_CHECKING:
    from overage_credit_grant.core import PerOrgCache

    from ._outcomes import FetchError
    from ._settings import Settings

__all__ = [
    "CallableFetch",
    "FetchRequest",
    "Fetcher",
    "HttpFetch",
    "fetch_value",
]

ORG_FIELD: Final = "{org}"
T = TypeVar("T")


class FetchRequest(Record):
    """What a fetch is given. `token` is None for a lookup that needs none."""

    org_id: str
    token: str | None = field(repr=False)
    settings: Settings = field(repr=False)
    deadline: float  # time.monotonic() by which the whole fetch must be over

    def remaining_s(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - time.monotonic())


class Fetcher:
    """The fetch protocol the refresh pipeline uses (see the module docstring)."""

    def refusal(self, settings: Settings) -> FetchError | None:
        """Why settings must not be used for a fetch (checked before the lease); None: fine."""
        return None

    def target(self, settings: Settings) -> str | None:
        """What a failed fetch is recorded against, so that backing off after failures
        holds back only fetches aimed at the same place (None: any fetch)."""
        return None

    def __call__(self, request: FetchRequest) -> Result[object, FetchError]:
        raise NotImplementedError


class HttpFetch(Fetcher):
    """``GET {base_url}{path}`` with ``{org}`` replaced by the organization id."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        if not path.startswith("/") or path.count(ORG_FIELD) != 1:
            raise ValueError(f"path must start with '/' and hold {ORG_FIELD} once: {path!r}")
        if "?" in path or "#" in path or "{" in path.replace(ORG_FIELD, ""):
            raise ValueError(f"path must have no query, fragment or other field: {path!r}")
        self.path = path

    def __repr__(self) -> str:
        return f"HttpFetch({self.path!r})"

    def url(self, base: str, org_id: str) -> str:
        return base + self.path.replace(ORG_FIELD, org_id)

    def refusal(self, settings: Settings) -> FetchError | None:
        from ._http.client import check_base_url  # noqa: PLC0415

        checked = check_base_url(settings.base_url)
        return checked.failure() if isinstance(checked, Failure) else None

    def target(self, settings: Settings) -> str | None:
        """The backend: its base URL, without a trailing slash."""
        return settings.base_url.rstrip("/")

    def __call__(self, request: FetchRequest) -> Result[object, FetchError]:
        from overage_credit_grant.core import is_valid_org_id  # noqa: PLC0415

        from ._http.client import check_base_url, get_json  # noqa: PLC0415
        from ._outcomes import FetchError, FetchErrorKind  # noqa: PLC0415

        if not is_valid_org_id(request.org_id):
            return Failure(FetchError(FetchErrorKind.INVALID_ORG, "organization id is not a UUID"))
        s = request.settings
        base = check_base_url(s.base_url)
        if isinstance(base, Failure):
            return Failure(base.failure())
        return get_json(
            self.url(base.unwrap(), request.org_id),
            request.token or "",
            session=s.session,
            connect_timeout_s=s.connect_timeout_s,
            read_timeout_s=s.read_timeout_s,
            deadline=request.deadline,
            max_bytes=s.max_response_bytes,
        )


class CallableFetch(Fetcher):
    """A fetch of your own (see the module docstring)."""

    __slots__ = ("function",)

    def __init__(self, function: Callable[[FetchRequest], Any]) -> None:
        self.function = function

    def __repr__(self) -> str:
        return f"CallableFetch({self.function!r})"

    def __call__(self, request: FetchRequest) -> Result[object, FetchError]:
        from ._outcomes import FetchError, FetchErrorKind  # noqa: PLC0415

        try:
            got = self.function(request)
        except Exception as exc:  # a failed fetch, never a crash; the message may hold secrets
            return Failure(FetchError(FetchErrorKind.NETWORK, f"fetch raised {type(exc).__name__}"))
        if isinstance(got, Success):
            return Success(got.unwrap())
        if isinstance(got, Failure):
            reason = got.failure()
            if isinstance(reason, FetchError):
                return Failure(reason)
            return Failure(FetchError(FetchErrorKind.NETWORK, str(reason)[:200]))
        return Success(got)


def fetch_value(
    fetcher: Fetcher, cache: PerOrgCache[T], request: FetchRequest, name: str
) -> Result[T, FetchError]:
    """Fetch the payload and decode it strictly: a payload `cache.decode` rejects is a
    failed fetch (``PAYLOAD``), never a value."""
    from ._outcomes import FetchError, FetchErrorKind  # noqa: PLC0415

    return fetcher(request).bind(
        lambda payload: cache.decode(payload).alt(
            lambda reason: FetchError(FetchErrorKind.PAYLOAD, f"response is not a {name}: {reason}")
        )
    )
