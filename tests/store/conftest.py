"""Fixtures of the Redis store tests: a client of the session's redis-server, a store on a
prefix of its own, and settings that use it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from overage_credit_grant.shell import RedisStore

from ..support.backend import MakeSettings
from ..support.redis_server import RedisProcess


@pytest.fixture
def client(redis_server: RedisProcess) -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(redis_server.url)
    yield conn
    conn.close()


@pytest.fixture
def store(redis_server: RedisProcess, redis_prefix: str) -> RedisStore:
    """The store's own semantics, every read a round trip (test_near_cache.py has the near
    cache, whose reads follow other hosts' writes within milliseconds, not at once)."""
    return RedisStore.from_url(redis_server.url, prefix=redis_prefix, near_cache=False)


@pytest.fixture
def on_redis(make_settings: MakeSettings, store: RedisStore) -> MakeSettings:
    """Settings like the file tests', but on the Redis store."""
    return lambda **overrides: make_settings(**{"store": store, **overrides})
