"""Model check: several apps share one store, each using two lookups; dicts are the model.

Random interleavings of refresh, invalidate and read, by different Settings (as separate
apps would), of two lookups (the grant and a seat count) that share one config, plus
foreign writes of unrelated keys and clock steps, against the real file store (and
Redis) and a real loopback backend. After every step the store must hold exactly what
the model says: each lookup's section its own entries, every foreign key its value.

On Redis the apps are hosts with their near caches on: after a write, each waits for
Redis's invalidations to reach it (`NearCache.sync`), as a fleet converges in milliseconds.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import redis as redis_client
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from overage_credit_grant.core import GrantInfo
from overage_credit_grant.shell import (
    FileStore,
    InvalidateStatus,
    RedisStore,
    RefreshStatus,
    Settings,
)

from ..strategies import grant_infos, json_values, org_ids
from ..support.backend import TOKEN
from ..support.clock import Clock
from ..support.lookups import GRANT_KIND, KINDS, SEATS_KIND, Kind, Seats
from ..support.redis_server import RedisProcess, redis_binary

pytestmark = pytest.mark.torture

# Small pools beside the full strategies: the backend often answers what is already
# stored, which is where "no write" must happen.
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "grant": st.sampled_from(
        [
            GrantInfo(True, True, False, 500, "USD"),
            GrantInfo(True, True, True, 500, "USD"),
            GrantInfo(False, False, False, None, None),
        ]
    )
    | grant_infos(),
    "seats": st.sampled_from([Seats(5, "team"), Seats(40, "enterprise")])
    | st.builds(Seats, st.integers(0, 10**6), st.sampled_from(["team", "pro", "max"])),
}
SECTIONS = {kind.lookup.cache.key for kind in KINDS}


class AnswerBook:
    """What the loopback backend answers, per (lookup path, org): the model sets it."""

    def __init__(self) -> None:
        self.bodies: dict[str, object] = {}

    def handler(self, request: Request) -> Response:
        body = self.bodies.get(request.path)
        if body is None:
            return Response("unknown", status=404)
        return Response(json.dumps(body), content_type="application/json")


class SharedStoreMachine(RuleBasedStateMachine):
    """N apps (Settings) on one config file, checked against {lookup: {org: (value, stamp)}}."""

    server: ClassVar[HTTPServer | None] = None
    book: ClassVar[AnswerBook] = AnswerBook()
    apps_count: ClassVar[int] = 3
    orgs = Bundle("orgs")

    def __init__(self) -> None:
        super().__init__()
        if SharedStoreMachine.server is None:
            server = HTTPServer(host="127.0.0.1")
            server.expect_request(re.compile("/api/.*")).respond_with_handler(self.book.handler)
            SharedStoreMachine.server = server
            server.start()
        self.folder = Path(tempfile.mkdtemp(prefix="model-"))
        self.clock = Clock(1_764_000_000_000)
        self.apps = [self.app_settings(i) for i in range(self.apps_count)]
        self.model: dict[str, dict[str, tuple[object, int]]] = {k.name: {} for k in KINDS}
        self.unrelated: dict[str, object] = {}

    def app_settings(self, i: int) -> Settings:
        assert SharedStoreMachine.server is not None
        return Settings(
            config_path=self.folder / "config.json",
            token=TOKEN,
            base_url=SharedStoreMachine.server.url_for("/").rstrip("/"),
            clock=self.clock,
            lock_timeout_s=10,
            env={},
        )

    # -- what differs between stores ----------------------------------------------------

    def write_unrelated(self, key: str, value: object) -> None:
        """Another program sets an unrelated key (under the same lock, as ours do)."""
        FileStore(self.folder / "config.json").update(lambda prev: {**prev, key: value})

    def stored(self) -> tuple[dict[str, object], dict[str, dict[str, object]]] | None:
        """(unrelated data, {section: entries}) as they are in the store, or None before any."""
        path = self.folder / "config.json"
        if not path.exists():
            return None
        data = json.loads(path.read_bytes())
        return data, {section: data.pop(section, {}) for section in SECTIONS}

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def settle(self) -> None:
        """What must happen after a write before every app sees it (nothing, on one file)."""

    def fresh(self, kind: Kind, org: str) -> object | None:
        held = self.model[kind.name].get(org)
        if held is not None and 0 <= self.clock.now_ms - held[1] <= kind.lookup.cache.ttl_ms:
            return held[0]
        return None

    @rule(target=orgs, org=org_ids())
    def new_org(self, org: str) -> str:
        return org

    @rule(app=st.integers(0, apps_count - 1), org=orgs, data=st.data())
    def refresh(self, app: int, org: str, data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from(KINDS), label="lookup")
        value = data.draw(VALUES[kind.name], label="value")
        self.book.bodies[kind.path(org)] = dict(kind.lookup.cache.encode(value))
        outcome = kind.lookup.refresh(self.apps[app].replace(organization=org))
        if self.fresh(kind, org) == value:
            assert outcome.status is RefreshStatus.UNCHANGED, outcome
        else:
            assert outcome.status is RefreshStatus.WRITTEN, outcome
            self.model[kind.name][org] = (value, self.clock.now_ms)
        self.settle()

    @rule(app=st.integers(0, apps_count - 1), org=orgs, kind=st.sampled_from(KINDS))
    def invalidate(self, app: int, org: str, kind: Kind) -> None:
        outcome = kind.lookup.invalidate(self.apps[app].replace(organization=org))
        held = self.model[kind.name]
        expected = InvalidateStatus.REMOVED if org in held else InvalidateStatus.NOTHING_TO_REMOVE
        assert outcome.status is expected, outcome
        held.pop(org, None)
        self.settle()

    @rule(app=st.integers(0, apps_count - 1), org=orgs, kind=st.sampled_from(KINDS))
    def read(self, app: int, org: str, kind: Kind) -> None:
        s = self.apps[app].replace(organization=org)
        for _ in range(2):  # on Redis, the second read may come from the near cache
            assert kind.lookup.get(s) == self.fresh(kind, org)

    @rule(key=st.text(max_size=8).filter(lambda k: k not in SECTIONS), value=json_values())
    def foreign_write(self, key: str, value: object) -> None:
        self.write_unrelated(key, value)
        self.unrelated[key] = value
        self.settle()

    @rule(
        ms=st.sampled_from([1, GRANT_KIND.lookup.cache.ttl_ms, SEATS_KIND.lookup.cache.ttl_ms + 1])
        | st.integers(0, 2 * GRANT_KIND.lookup.cache.ttl_ms)
    )
    def advance(self, ms: int) -> None:
        self.clock.advance(ms)

    @invariant()
    def store_holds_the_model(self) -> None:
        found = self.stored()
        if found is None:
            return
        unrelated, sections = found
        assert unrelated == self.unrelated
        for kind in KINDS:
            entries = sections[kind.lookup.cache.key]
            held = self.model[kind.name]
            assert set(entries) == set(held)
            for org, (value, stamp) in held.items():
                info = dict(kind.lookup.cache.encode(value))
                assert entries[org] == {"info": info, "timestamp": stamp}


class RedisFleetMachine(SharedStoreMachine):
    """The same model, the apps being hosts that share one Redis (separate pools)."""

    redis: ClassVar[RedisProcess | None] = None
    near_hits: ClassVar[list[int]] = []

    def __init__(self) -> None:
        if RedisFleetMachine.redis is None:
            RedisFleetMachine.redis = RedisProcess().start()
        self.prefix = f"model-{uuid.uuid4().hex[:10]}:"
        self.client = redis_client.Redis.from_url(RedisFleetMachine.redis.url)
        super().__init__()

    def app_settings(self, i: int) -> Settings:
        assert RedisFleetMachine.redis is not None
        store = RedisStore.from_url(RedisFleetMachine.redis.url, prefix=self.prefix)
        return super().app_settings(i).replace(store=store)

    def settle(self) -> None:
        """Hosts see each other's writes once Redis's invalidations reach them: wait for
        that (each near cache's sync) before the model expects it."""
        for app in self.apps:
            assert isinstance(app.store, RedisStore)
            assert app.store.near is not None
            app.store.near.sync()

    def teardown(self) -> None:
        for app in self.apps:
            assert isinstance(app.store, RedisStore)
            assert app.store.near is not None
            RedisFleetMachine.near_hits.append(app.store.near.stats["hits"])
            app.store.close()
        self.client.close()
        super().teardown()

    def write_unrelated(self, key: str, value: object) -> None:
        self.client.set(f"{self.prefix}other:{key}", json.dumps(value))

    def stored(self) -> tuple[dict[str, object], dict[str, dict[str, object]]] | None:
        unrelated: dict[str, object] = {}
        sections: dict[str, dict[str, object]] = {section: {} for section in SECTIONS}
        for raw in self.client.scan_iter(match=f"{self.prefix}*", count=1000):
            name = raw.decode()[len(self.prefix) :]
            if name == "epoch":  # the near cache's dataset token
                continue
            value = json.loads(self.client.get(raw) or b"null")
            section, _, rest = name.partition(":")
            if section == "other":
                unrelated[rest] = value
            else:  # a key of no known section: KeyError; an org without its hash tag too
                assert rest.startswith("{"), name
                assert rest.endswith("}"), name
                sections[section][rest[1:-1]] = value
        return unrelated, sections


@pytest.fixture(scope="module", autouse=True)
def _stop_model_servers() -> Iterator[None]:
    yield
    if SharedStoreMachine.server is not None:
        SharedStoreMachine.server.clear()
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
    assert sum(RedisFleetMachine.near_hits) > 0, "the near caches served reads"
