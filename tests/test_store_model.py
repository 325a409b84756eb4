"""Model check: several Settings (as separate apps would) share one store; a dict is the model.

Random interleavings of refresh, invalidate and read from different Settings, foreign
writes of unrelated keys, and clock steps, against the real file store and a real
loopback backend. After every step the store must hold exactly what the model says.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule

from overage_credit_grant.core import CACHE_KEY, CACHE_TTL_MS, GrantInfo, encode_grant_info
from overage_credit_grant.shell import (
    FileStore,
    InvalidateStatus,
    RefreshStatus,
    Settings,
    get_cached_overage_credit_grant,
    invalidate_overage_credit_grant_cache,
    refresh_overage_credit_grant_cache,
)
from overage_credit_grant.shell._server import Backend, ReferenceServer

from .helpers import TOKEN, Clock
from .strategies import grant_infos, json_values, org_ids

pytestmark = pytest.mark.torture


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

    @rule(app=st.integers(0, apps_count - 1), org=orgs, info=grant_infos())
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
        """Another program sets an unrelated key (under the same lock, as ours do)."""
        FileStore(self.folder / "config.json").update(lambda prev: {**prev, key: value})
        self.unrelated[key] = value

    @rule(
        ms=st.sampled_from([1, CACHE_TTL_MS, CACHE_TTL_MS + 1]) | st.integers(0, 2 * CACHE_TTL_MS)
    )
    def advance(self, ms: int) -> None:
        self.clock.advance(ms)

    @precondition(lambda self: (self.folder / "config.json").exists())
    @invariant()
    def file_holds_the_model(self) -> None:
        data = json.loads((self.folder / "config.json").read_bytes())
        cache = data.pop(CACHE_KEY, {})
        assert data == self.unrelated
        assert set(cache) == set(self.model)
        for org, (info, stamp) in self.model.items():
            assert cache[org] == {"info": encode_grant_info(info), "timestamp": stamp}


# A fifth of the profile's examples: 40 by default, 400 with HYPOTHESIS_PROFILE=long.
SharedStoreMachine.TestCase.settings = settings(
    max_examples=max(10, settings.default.max_examples // 5), stateful_step_count=30
)
TestSharedFileStore = SharedStoreMachine.TestCase
