"""The loopback test backend: the token it expects (never to be printed), what it answers,
and the type of the `make_settings` fixture that points a `Settings` at it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from overage_credit_grant.core import GrantInfo, decode_grant_info

if TYPE_CHECKING:
    from werkzeug import Request, Response

    from overage_credit_grant.shell import Settings

MakeSettings = Callable[..., "Settings"]

TOKEN = "sk-ant-oat01-TEST-TOKEN-never-print-me-7f3a"
GRANT_BODY = {
    "available": True,
    "eligible": True,
    "granted": False,
    "amount_minor_units": 500,
    "currency": "USD",
}
FIVE: GrantInfo = decode_grant_info(GRANT_BODY).unwrap()  # the $5 grant of GRANT_BODY


def grant_path(org: str) -> str:
    return f"/api/oauth/organizations/{org}/overage_credit_grant"


def slowly(body: object = GRANT_BODY, delay_s: float = 1.0) -> Callable[[Request], Response]:
    """A handler that answers `body` as JSON after `delay_s` seconds."""

    def handler(_: Request) -> Response:
        from werkzeug import Response

        time.sleep(delay_s)
        return Response(json.dumps(body), content_type="application/json")

    return handler


def per_org_grant(delay_s: float = 0.0) -> Callable[[Request], Response]:
    """A handler that answers every org's grant, its amount taken from the org id, so that
    each org's stored entry says which answer it came from."""

    def handler(request: Request) -> Response:
        from werkzeug import Response

        time.sleep(delay_s)
        org = request.path.split("/")[4]
        body = {**GRANT_BODY, "amount_minor_units": int(org[:4], 16)}
        return Response(json.dumps(body), content_type="application/json")

    return handler
