"""The asyncio entry points against a real loopback backend, for both lookups.

"Never blocks the event loop" is checked the way a user would notice it: a ticker task
that wakes every 10 ms keeps waking while a slow fetch is in flight. (The gap bound is
half the fetch's delay: a blocked loop could not tick at all.)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from overage_credit_grant.shell import InvalidateStatus, RefreshStatus

from ..support.backend import MakeSettings, slowly
from ..support.files import read_json
from ..support.lookups import KINDS, Kind
from ..support.marks import each_kind

DELAY_S = 1.0


async def ticking(stop: asyncio.Event, ticks: list[float]) -> None:
    while not stop.is_set():
        ticks.append(time.monotonic())
        await asyncio.sleep(0.01)


@contextlib.contextmanager
def threads_started() -> Iterator[list[str]]:
    """The names of the threads started in this process while the block runs (each new
    `threading.Thread` calls the profile hook once, first thing, then drops it)."""
    names: list[str] = []

    def first_call(*_: object) -> None:
        names.append(threading.current_thread().name)
        sys.setprofile(None)

    threading.setprofile(first_call)
    try:
        yield names
    finally:
        threading.setprofile(None)  # type: ignore[arg-type]


def largest_gap(ticks: list[float]) -> float:
    return max(b - a for a, b in itertools.pairwise(ticks))


@each_kind
def test_eight_tasks_share_one_request_while_the_loop_keeps_ticking(
    kind: Kind, make_settings: MakeSettings, httpserver: HTTPServer, org: str
) -> None:
    httpserver.expect_request(kind.path(org)).respond_with_handler(slowly(kind.body))
    s = make_settings(read_timeout_s=5, total_timeout_s=5)

    async def scenario() -> tuple[list[RefreshStatus], list[float]]:
        stop, ticks = asyncio.Event(), []
        ticker = asyncio.create_task(ticking(stop, ticks))
        outcomes = await asyncio.gather(*(kind.lookup.arefresh(s) for _ in range(8)))
        stop.set()
        await ticker
        return [o.status for o in outcomes], ticks

    statuses, ticks = asyncio.run(scenario())
    assert statuses == [RefreshStatus.WRITTEN] * 8
    assert len(httpserver.log) == 1
    assert len(ticks) >= 20, "the ticker kept running during the fetch"
    assert largest_gap(ticks) < DELAY_S / 2
    assert kind.lookup.get(s) == kind.value()


@each_kind
def test_tasks_and_threads_share_one_flight(
    kind: Kind, make_settings: MakeSettings, httpserver: HTTPServer, org: str
) -> None:
    httpserver.expect_request(kind.path(org)).respond_with_handler(slowly(kind.body, 0.5))
    s = make_settings(read_timeout_s=5, total_timeout_s=5)
    from_threads: list[RefreshStatus] = []
    threads = [
        threading.Thread(target=lambda: from_threads.append(kind.lookup.refresh(s).status))
        for _ in range(4)
    ]

    async def scenario() -> list[RefreshStatus]:
        first = asyncio.create_task(kind.lookup.arefresh(s))
        await asyncio.sleep(0.1)  # the task leads; the threads join its flight
        for t in threads:
            t.start()
        more = await asyncio.gather(*(kind.lookup.arefresh(s) for _ in range(4)))
        return [(await first).status, *(o.status for o in more)]

    from_tasks = asyncio.run(scenario())
    for t in threads:
        t.join()
    assert from_tasks + from_threads == [RefreshStatus.WRITTEN] * 9
    assert len(httpserver.log) == 1


@each_kind
def test_cancelling_a_waiting_task_abandons_only_its_wait(
    kind: Kind, make_settings: MakeSettings, httpserver: HTTPServer, org: str, config_path: Path
) -> None:
    httpserver.expect_request(kind.path(org)).respond_with_handler(slowly(kind.body, 0.5))
    s = make_settings(read_timeout_s=5, total_timeout_s=5)

    async def scenario() -> RefreshStatus:
        doomed = asyncio.create_task(kind.lookup.arefresh(s))
        patient = asyncio.create_task(kind.lookup.arefresh(s))
        await asyncio.sleep(0.1)
        doomed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await doomed
        return (await patient).status

    assert asyncio.run(scenario()) is RefreshStatus.WRITTEN
    assert len(httpserver.log) == 1
    assert org in read_json(config_path)[kind.lookup.cache.key]  # type: ignore[operator]


@each_kind
def test_aget_and_ainvalidate(
    kind: Kind, make_settings: MakeSettings, httpserver: HTTPServer, org: str
) -> None:
    httpserver.expect_request(kind.path(org)).respond_with_json(kind.body)
    s = make_settings()

    async def scenario() -> tuple[object, object, InvalidateStatus, object]:
        before = await kind.lookup.aget(s)
        await kind.lookup.arefresh(s)
        cached = await kind.lookup.aget(s)
        removed = await kind.lookup.ainvalidate(s)
        return before, cached, removed.status, await kind.lookup.aget(s)

    before, cached, removed, after = asyncio.run(scenario())
    assert before is None
    assert cached == kind.value()
    assert removed is InvalidateStatus.REMOVED
    assert after is None


def test_the_async_skips_start_no_refresh_thread_and_send_no_request(
    make_settings: MakeSettings, httpserver: HTTPServer
) -> None:
    """A skip is decided on the event loop's worker thread: no refresh thread is started
    (every thread start is seen through the interpreter's audit hook) and nothing is sent."""
    private = make_settings(env={"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"})

    async def scenario() -> list[RefreshStatus]:
        return [(await kind.lookup.arefresh(private)).status for kind in KINDS]

    with threads_started() as started:
        assert asyncio.run(scenario()) == [RefreshStatus.SKIPPED_ESSENTIAL_TRAFFIC] * 2
        names_while_skipping = list(started)
    assert not [name for name in names_while_skipping if name.startswith("refresh")]
    assert httpserver.log == []

    # The same watch does see a refresh thread when a refresh really starts.
    httpserver.expect_request(KINDS[0].path(private.organization or "")).respond_with_json(
        KINDS[0].body
    )
    with threads_started() as started:
        assert asyncio.run(KINDS[0].lookup.arefresh(private.replace(env={}))).ok
    assert any(name.startswith("refresh") for name in started)
