"""Model check: several Settings (as separate apps would) share one store; a dict is the model.

Random interleavings of refresh, invalidate and read from different Settings, foreign
writes of unrelated keys, and clock steps, against the real file store and a real
loopback backend. After every step the store must hold exactly what the model says.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pytest
import redis as redis_client
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from overage_credit_grant.core import CACHE_KEY, CACHE_TTL_MS, GrantInfo, encode_grant_info
from overage_credit_grant.shell import (
    FileStore,
    InvalidateStatus,
    RedisStore,
    RefreshStatus,
    Settings,
    get_cached_overage_credit_grant,
    invalidate_overage_credit_grant_cache,
    refresh_overage_credit_grant_cache,
)
from overage_credit_grant.shell._server import Backend, ReferenceServer

from .helpers import TOKEN, Clock
from .redis_server import RedisProcess, redis_binary
from .strategies import grant_infos, json_values, org_ids

pytestmark = pytest.mark.torture


POOL = [
    GrantInfo(True, True, False, 500, "USD"),
    GrantInfo(True, True, True, 500, "USD"),
    GrantInfo(False, False, False, None, None),
]


class OpenBackend(Backend):
    """Answers any org it has a grant for, to one shared token: the model sets the grants."""

    def answer(self, path: str, authorization: str | None) -> tuple[int, object]:
        org = path.split("/")[4] if path.count("/") == 5 else ""
        self.tokens[TOKEN] = org
        return super().answer(path, authorization)


class SharedStoreMachine(RuleBasedStateMachine):
    """N apps (Settings) on one config file, checked against {org: (info, stamp)}."""

    server: ClassVar[ReferenceServer | None] = None
    apps_count: ClassVar[int] = 3
    orgs = Bundle("orgs")

    def __init__(self) -> None:
        super().__init__()
        if SharedStoreMachine.server is None:
            SharedStoreMachine.server = ReferenceServer(OpenBackend(tokens={}, grants={})).start()
        self.backend = SharedStoreMachine.server.backend
        self.folder = Path(tempfile.mkdtemp(prefix="model-"))
        self.clock = Clock(1_764_000_000_000)
        self.apps = [self.app_settings(i) for i in range(self.apps_count)]
        self.model: dict[str, tuple[GrantInfo, int]] = {}
        self.unrelated: dict[str, object] = {}

    def app_settings(self, i: int) -> Settings:
        assert SharedStoreMachine.server is not None
        return Settings(
            config_path=self.folder / "config.json",
            token=TOKEN,
            base_url=SharedStoreMachine.server.base_url,
            clock=self.clock,
            lock_timeout_s=10,
            env={},
        )

    # -- what differs between stores ----------------------------------------------------

    def write_unrelated(self, key: str, value: object) -> None:
        """Another program sets an unrelated key (under the same lock, as ours do)."""
        FileStore(self.folder / "config.json").update(lambda prev: {**prev, key: value})

    def stored(self) -> tuple[dict[str, object], dict[str, object]] | None:
        """(unrelated data, cache entries) as they are in the store, or None before any."""
        path = self.folder / "config.json"
        if not path.exists():
            return None
        data = json.loads(path.read_bytes())
        cache = data.pop(CACHE_KEY, {})
        return data, cache

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def fresh(self, org: str) -> GrantInfo | None:
        held = self.model.get(org)
        if held is not None and 0 <= self.clock.now_ms - held[1] <= CACHE_TTL_MS:
            return held[0]
        return None

    @rule(target=orgs, org=org_ids())
    def new_org(self, org: str) -> str:
        return org

    # A small pool beside the full strategy: the backend often answers what is already
    # stored, which is where "no write" must happen.
    @rule(app=st.integers(0, apps_count - 1), org=orgs, info=st.sampled_from(POOL) | grant_infos())
    def refresh(self, app: int, org: str, info: GrantInfo) -> None:
        self.backend.set_grant(org, encode_grant_info(info))
        outcome = refresh_overage_credit_grant_cache(replace(self.apps[app], organization=org))
        if self.fresh(org) == info:
            assert outcome.status is RefreshStatus.UNCHANGED, outcome
        else:
            assert outcome.status is RefreshStatus.WRITTEN, outcome
            self.model[org] = (info, self.clock.now_ms)

    @rule(app=st.integers(0, apps_count - 1), org=orgs)
    def invalidate(self, app: int, org: str) -> None:
        outcome = invalidate_overage_credit_grant_cache(replace(self.apps[app], organization=org))
        expected = (
            InvalidateStatus.REMOVED if org in self.model else InvalidateStatus.NOTHING_TO_REMOVE
        )
        assert outcome.status is expected, outcome
        self.model.pop(org, None)

    @rule(app=st.integers(0, apps_count - 1), org=orgs)
    def read(self, app: int, org: str) -> None:
        got = get_cached_overage_credit_grant(replace(self.apps[app], organization=org))
        assert got == self.fresh(org)

    @rule(key=st.text(max_size=8).filter(lambda k: k != CACHE_KEY), value=json_values())
    def foreign_write(self, key: str, value: object) -> None:
        self.write_unrelated(key, value)
        self.unrelated[key] = value

    @rule(
        ms=st.sampled_from([1, CACHE_TTL_MS, CACHE_TTL_MS + 1]) | st.integers(0, 2 * CACHE_TTL_MS)
    )
    def advance(self, ms: int) -> None:
        self.clock.advance(ms)

    @invariant()
    def store_holds_the_model(self) -> None:
        found = self.stored()
        if found is None:
            return
        unrelated, cache = found
        assert unrelated == self.unrelated
        assert set(cache) == set(self.model)
        for org, (info, stamp) in self.model.items():
            assert cache[org] == {"info": encode_grant_info(info), "timestamp": stamp}


class RedisFleetMachine(SharedStoreMachine):
    """The same model, the apps being hosts that share one Redis (separate pools)."""

    redis: ClassVar[RedisProcess | None] = None

    def __init__(self) -> None:
        if RedisFleetMachine.redis is None:
            RedisFleetMachine.redis = RedisProcess().start()
        self.prefix = f"model-{uuid.uuid4().hex[:10]}:"
        self.client = redis_client.Redis.from_url(RedisFleetMachine.redis.url)
        super().__init__()

    def app_settings(self, i: int) -> Settings:
        assert RedisFleetMachine.redis is not None
        store = RedisStore.from_url(RedisFleetMachine.redis.url, prefix=self.prefix)
        return replace(super().app_settings(i), store=store)

    def teardown(self) -> None:
        for app in self.apps:
            assert isinstance(app.store, RedisStore)
            app.store.client.close()
        self.client.close()
        super().teardown()

    def write_unrelated(self, key: str, value: object) -> None:
        self.client.set(f"{self.prefix}other:{key}", json.dumps(value))

    def stored(self) -> tuple[dict[str, object], dict[str, object]] | None:
        unrelated: dict[str, object] = {}
        cache: dict[str, object] = {}
        for raw in self.client.scan_iter(match=f"{self.prefix}*", count=1000):
            name = raw.decode()[len(self.prefix) :]
            value = json.loads(self.client.get(raw) or b"null")
            if name.startswith("other:"):
                unrelated[name[len("other:") :]] = value
            elif name.startswith(CACHE_KEY + ":"):
                cache[name[len(CACHE_KEY) + 1 :]] = value
        return unrelated, cache


@pytest.fixture(scope="module", autouse=True)
def _stop_model_servers() -> Iterator[None]:
    yield
    if SharedStoreMachine.server is not None:
        SharedStoreMachine.server.stop()
        SharedStoreMachine.server = None
    if RedisFleetMachine.redis is not None:
        RedisFleetMachine.redis.stop()
        RedisFleetMachine.redis = None


# A fifth of the profile's examples: 40 by default, 400 with HYPOTHESIS_PROFILE=long.
_MODEL_SETTINGS = settings(
    max_examples=max(10, settings.default.max_examples // 5), stateful_step_count=30
)
SharedStoreMachine.TestCase.settings = _MODEL_SETTINGS
RedisFleetMachine.TestCase.settings = _MODEL_SETTINGS
TestSharedFileStore = SharedStoreMachine.TestCase


def test_the_redis_fleet_obeys_the_same_model() -> None:
    """The Redis run; skips (under CI: fails) when redis-server is missing."""
    redis_binary()
    RedisFleetMachine.TestCase().runTest()
