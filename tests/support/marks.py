"""pytest helpers over the two lookups of `lookups` (kept apart from it: worker processes
import `lookups`, and must not pay for pytest)."""

from __future__ import annotations

import json

import pytest
from pytest_httpserver import HTTPServer

from .lookups import KINDS, Kind

each_kind = pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)


def answer(server: HTTPServer, kind: Kind, org: str, body: object, status: int = 200) -> None:
    """Make the loopback backend answer `kind`'s request for `org` with `body` as JSON."""
    server.expect_request(kind.path(org)).respond_with_data(
        json.dumps(body), status=status, content_type="application/json"
    )
