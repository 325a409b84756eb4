"""The status line on the Redis store: however many renders race with nothing cached, one
background refresh starts and one request is sent, and no render waits for it."""

from __future__ import annotations

import json
import threading
import time
import uuid

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from ..support.backend import GRANT_BODY, grant_path
from ..support.redis_server import RedisProcess
from .test_statusline import Render, env, render, wait_for

__all__ = ["env"]  # the fixture, shared with test_statusline


def test_thirty_renders_at_once_start_one_refresh_and_send_one_request(
    env: dict[str, str], threaded_httpserver: HTTPServer, redis_server: RedisProcess
) -> None:
    org = str(uuid.uuid4())
    asked: list[float] = []

    def slow(_: Request) -> Response:
        asked.append(time.monotonic())
        time.sleep(0.3)
        return Response(json.dumps(GRANT_BODY), content_type="application/json")

    threaded_httpserver.expect_request(grant_path(org)).respond_with_handler(slow)
    env = {
        **env,
        "OVERAGE_GRANT_BASE_URL": threaded_httpserver.url_for("/").rstrip("/"),
        "OVERAGE_GRANT_REDIS_URL": redis_server.url,
        "CLAUDE_CODE_ORGANIZATION_UUID": org,
    }
    renders: list[Render] = []
    threads = [threading.Thread(target=lambda: renders.append(render(env))) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(renders) == 30
    wait_for(lambda: render(env).out.startswith("$5"))
    time.sleep(1.0)  # a late starter would have asked by now
    print(f"\n30 renders at once: slowest {max(r.seconds for r in renders):.2f} s")
    assert len(asked) == 1
    assert max(r.seconds for r in renders) < 2.0
