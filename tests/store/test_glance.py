"""The status line's view of the Redis store (shell/_store/glance.py): it reads what
`RedisStore` reads, on one server, a password-protected one and a cluster; its leases are
the same leases; its RESP reader reads what the protocol writes."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overage_credit_grant.core import CACHE_KEY, GRANT_CACHE
from overage_credit_grant.shell import LeaseStatus, RedisStore
from overage_credit_grant.shell._store.glance import GlanceStore, glance_store
from overage_credit_grant.shell._store.resp import Connection, RespError

from ..strategies import cache_entries, json_values, org_ids
from ..support.redis_server import RedisProcess

SECTIONS = (CACHE_KEY, f"{CACHE_KEY}Backoff")


def glance(url: str, prefix: str) -> GlanceStore:
    found = glance_store(url, 1.0, prefix)
    assert found is not None
    return found


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(org_ids(), st.one_of(st.none(), cache_entries()), st.one_of(st.none(), json_values()))
def test_it_reads_what_the_redis_store_reads(
    redis_server: RedisProcess, org: str, entry: object, backoff: object
) -> None:
    prefix = f"glance-{uuid.uuid4().hex[:8]}:"
    store = RedisStore.from_url(redis_server.url, prefix=prefix, near_cache=False)
    for section, value in zip(SECTIONS, (entry, backoff), strict=True):
        if value is not None:
            store.update(lambda prev, s=section, v=value: {s: {org: v}}, org, (section,))  # type: ignore[misc]
    view = glance(redis_server.url, prefix)
    try:
        assert view.read(org, SECTIONS) == store.read(org, SECTIONS)
        assert abs(view.now_ms() - store.now_ms()) < 1000
    finally:
        view.close()
        store.close()


def test_its_leases_are_the_redis_stores(redis_server: RedisProcess, redis_prefix: str) -> None:
    org = str(uuid.uuid4())
    store = RedisStore.from_url(redis_server.url, prefix=redis_prefix, near_cache=False)
    view = glance(redis_server.url, redis_prefix)
    status, owner = view.hand_over_lease(org, CACHE_KEY)
    assert status is LeaseStatus.ACQUIRED
    assert view.hand_over_lease(org, CACHE_KEY)[0] is LeaseStatus.BUSY
    with store.lease(org, CACHE_KEY) as held:
        assert held is LeaseStatus.BUSY  # taken for another process
    store.adopt_lease(org, CACHE_KEY, owner)
    with store.lease(org, CACHE_KEY) as held:
        assert held is LeaseStatus.ACQUIRED  # the process it was taken for
        with view.lease(org, CACHE_KEY) as other:
            assert other is LeaseStatus.BUSY
    with view.lease(org, CACHE_KEY) as held:
        assert held is LeaseStatus.ACQUIRED  # released
    view.close()
    store.close()


def test_a_password_is_used_and_never_shown() -> None:
    secret = f"pw-{uuid.uuid4().hex}"
    server = RedisProcess(password=secret).start()
    org = str(uuid.uuid4())
    try:
        store = RedisStore.from_url(server.url, prefix="pw:", near_cache=False)
        store.update(lambda prev: {CACHE_KEY: {org: {"info": {}, "timestamp": 1}}}, org)
        right = glance(server.url, "pw:")
        assert right.read(org) == store.read(org)
        wrong = glance(server.url.replace(secret, "nope"), "pw:")
        failed = wrong.read_checked(org)
        assert failed.failure().detail == "redis unavailable (RespError)"
        for shown in (repr(right), right.location, right.key, failed.failure().detail):
            assert secret not in shown
        right.close()
        store.close()
    finally:
        server.stop()


def test_nothing_listening_is_an_outcome_within_the_timeout() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for url in (
        f"redis://127.0.0.1:{port}/0",
        f"redis+cluster://127.0.0.1:{port}",
        f"redis+sentinel://127.0.0.1:{port}/grants",
    ):
        view = glance(url, "x:")
        started = time.monotonic()
        assert view.read_checked(str(uuid.uuid4())).failure().detail.startswith("redis unavailable")
        assert view.hand_over_lease(str(uuid.uuid4()))[0] is LeaseStatus.UNAVAILABLE
        assert time.monotonic() - started < 2.5


def test_urls_it_does_not_handle_fully_go_to_the_redis_store() -> None:
    assert glance_store("redis://h:6379/0?ssl_cert_reqs=none", 1.0) is None
    assert glance_store("unix:///tmp/redis.sock?db=2", 1.0) is None
    assert glance_store("mongodb://h", 1.0) is None
    assert glance_store("redis+sentinel://h:26379/s?sentinel_password=x", 1.0) is not None


# -- the RESP reader -----------------------------------------------------------------------

Value = bytes | int | list["Value"] | None


def resp_values() -> st.SearchStrategy[Value]:
    leaves = st.none() | st.binary(max_size=40) | st.integers(-(2**63), 2**63 - 1)
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=6), max_leaves=20)


def written(value: Value) -> bytes:
    """`value` as the protocol writes it (the test's own writer)."""
    if value is None:
        return b"$-1\r\n"
    if isinstance(value, int):
        return b":%d\r\n" % value
    if isinstance(value, bytes):
        return b"$%d\r\n%s\r\n" % (len(value), value)
    return b"*%d\r\n" % len(value) + b"".join(written(v) for v in value)


def depth(value: Value) -> int:
    return 1 + max((depth(v) for v in value), default=0) if isinstance(value, list) else 0


@given(st.lists(resp_values(), min_size=1, max_size=4), st.integers(1, 7))
def test_the_reader_reads_what_the_protocol_writes_in_any_chunks(
    values: list[Value], chunk: int
) -> None:
    left, right = socket.socketpair()
    with left, right:
        conn = Connection.over(right, deadline=time.monotonic() + 5)
        data = b"".join(written(v) for v in values)

        def send() -> None:  # the reader must cope with any split
            with contextlib.suppress(OSError):  # the reader stopped early, and closed
                for i in range(0, len(data), chunk):
                    left.sendall(data[i : i + chunk])

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        if all(depth(v) <= 4 for v in values):
            assert [conn.read_reply() for _ in values] == values
        else:
            with pytest.raises(OSError, match="too large or too deep"):
                [conn.read_reply() for _ in values]


def test_an_error_reply_is_an_error_and_garbage_is_not_a_reply() -> None:
    left, right = socket.socketpair()
    with left, right:
        conn = Connection.over(right, deadline=time.monotonic() + 5)
        left.sendall(b"-MOVED 12 127.0.0.1:7000\r\n?what\r\n")
        error = conn.read_reply()
        assert isinstance(error, RespError)
        assert error.code == "MOVED"
        with pytest.raises(OSError, match="not a RESP reply"):
            conn.read_reply()


def test_amounts_read_match_the_grant_decoder(redis_server: RedisProcess, org: str) -> None:
    """What the status line decodes from the glance read is the grant itself."""
    prefix = f"glance-{uuid.uuid4().hex[:8]}:"
    store = RedisStore.from_url(redis_server.url, prefix=prefix, near_cache=False)
    body = {"available": True, "eligible": True, "granted": False}
    info = {**body, "amount_minor_units": 700, "currency": "USD"}
    store.update(lambda prev: {CACHE_KEY: {org: {"info": info, "timestamp": 5}}}, org)
    view = glance(redis_server.url, prefix)
    entry = GRANT_CACHE.entry(view.read(org), org).unwrap()
    assert entry.value.amount_minor_units == 700
    view.close()
    store.close()
