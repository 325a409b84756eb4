"""Two per-org lookups for the generic shell's contract tests: the grant, and a seat count."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from returns.result import Failure, Result, Success

from overage_credit_grant.core import GRANT_CACHE, GrantInfo, PerOrgCache, encode_grant_info
from overage_credit_grant.shell import GRANT, PerOrgLookup


@dataclass(frozen=True, slots=True)
class Seats:
    """A second record type: how many seats an organization has, on which plan."""

    seats: int
    plan: str


def decode_seats(payload: object) -> Result[Seats, str]:
    if not isinstance(payload, Mapping):
        return Failure("seat count must be a JSON object")
    seats, plan = payload.get("seats"), payload.get("plan")
    if type(seats) is not int or seats < 0:
        return Failure("field 'seats' must be a non-negative integer")
    if not isinstance(plan, str) or not plan:
        return Failure("field 'plan' must be a non-empty string")
    return Success(Seats(seats, plan))


def encode_seats(value: Seats) -> dict[str, object]:
    return {"seats": value.seats, "plan": value.plan}


SEATS_CACHE: PerOrgCache[Seats] = PerOrgCache(
    key="seatCountCache", decode=decode_seats, encode=encode_seats, ttl_ms=10 * 60 * 1000
)
SEATS_PATH = "/api/oauth/organizations/{org}/seats"
SEATS = PerOrgLookup(SEATS_CACHE, path=SEATS_PATH, name="seat count")


@dataclass(frozen=True)
class Kind:
    """One lookup and the bodies its backend answers, for parametrized tests."""

    name: str
    lookup: PerOrgLookup[Any]
    body: dict[str, object]
    other_body: dict[str, object]  # different data
    bad_body: object  # JSON that must never be stored

    def path(self, org: str) -> str:
        return str(self.lookup.fetcher.path).replace("{org}", org)  # type: ignore[attr-defined]

    def value(self, body: Mapping[str, object] | None = None) -> object:
        return self.lookup.cache.decode(dict(body or self.body)).unwrap()

    def varied(self, n: int) -> dict[str, object]:
        """A body whose data differs for every n."""
        field = "amount_minor_units" if self.name == "grant" else "seats"
        return {**self.body, field: n}


GRANT_BODY = encode_grant_info(GrantInfo(True, True, False, 500, "USD"))
GRANT_KIND = Kind(
    "grant",
    GRANT,
    GRANT_BODY,
    {**GRANT_BODY, "amount_minor_units": 1000},
    {**GRANT_BODY, "granted": "no"},
)
SEATS_KIND = Kind(
    "seats",
    SEATS,
    {"seats": 12, "plan": "team"},
    {"seats": 40, "plan": "enterprise"},
    {"seats": -1, "plan": "team"},
)
KINDS = (GRANT_KIND, SEATS_KIND)
BY_NAME = {kind.name: kind for kind in KINDS}
LOOKUPS: dict[str, PerOrgLookup[Any]] = {kind.name: kind.lookup for kind in KINDS}

assert GRANT.cache is GRANT_CACHE
