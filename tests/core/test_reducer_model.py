"""The reducers against a plain dict model, over random runs (core/_cache.py)."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule
from returns.maybe import Nothing, Some

from overage_credit_grant.core import (
    CACHE_KEY,
    CACHE_TTL_MS,
    GrantInfo,
    after_invalidate,
    after_refresh,
    cached_grant,
)

from ..strategies import configs, epoch_ms, grant_infos, org_ids


class ReducerMachine(RuleBasedStateMachine):
    """Refresh, invalidate, read and clock steps for several orgs, checked against a dict.

    The model maps org -> (info, stamp). A refresh must skip (return `prev`) exactly when
    the model holds equal info stamped within the TTL; otherwise the model takes the new
    info (or keeps the equal one) stamped `now`.
    """

    orgs = Bundle("orgs")

    def __init__(self) -> None:
        super().__init__()
        self.config: Mapping[str, object] = {}
        self.unrelated: dict[str, object] = {}
        self.model: dict[str, tuple[GrantInfo, int]] = {}
        self.now = 0

    @initialize(config=configs(with_cache=False), now=epoch_ms())
    def start(self, config: dict[str, object], now: int) -> None:
        self.config = config
        self.unrelated = dict(config)
        self.now = now

    @rule(target=orgs, org=org_ids())
    def add_org(self, org: str) -> str:
        return org

    @rule(org=orgs, info=grant_infos())
    def refresh(self, org: str, info: GrantInfo) -> None:
        prev = self.config
        nxt = after_refresh(prev, org, info, self.now)
        held = self.model.get(org)
        fresh_equal = (
            held is not None and held[0] == info and 0 <= self.now - held[1] <= CACHE_TTL_MS
        )
        assert (nxt is prev) is fresh_equal
        if not fresh_equal:
            self.model[org] = (info, self.now)
        self.config = nxt

    @rule(org=orgs, info=grant_infos())
    def refresh_twice(self, org: str, info: GrantInfo) -> None:
        once = after_refresh(self.config, org, info, self.now)
        assert after_refresh(once, org, info, self.now) is once
        self.model[org] = (info, self.now) if once is not self.config else self.model[org]
        self.config = once

    @rule(org=orgs)
    def invalidate(self, org: str) -> None:
        prev = self.config
        nxt = after_invalidate(prev, org)
        assert (nxt is prev) is (org not in self.model and not self._stored(org))
        self.model.pop(org, None)
        self.config = nxt

    @rule(
        ms=st.sampled_from([1, CACHE_TTL_MS - 1, CACHE_TTL_MS, CACHE_TTL_MS + 1])
        | st.integers(0, 3 * CACHE_TTL_MS)
    )
    def advance(self, ms: int) -> None:
        self.now += ms

    @rule(ms=st.integers(1, CACHE_TTL_MS))
    def clock_steps_back(self, ms: int) -> None:
        self.now -= ms

    @rule(org=orgs)
    def read(self, org: str) -> None:
        held = self.model.get(org)
        if held is not None and 0 <= self.now - held[1] <= CACHE_TTL_MS:
            assert cached_grant(self.config, org, self.now) == Some(held[0])
        else:
            assert cached_grant(self.config, org, self.now) == Nothing

    def _stored(self, org: str) -> bool:
        cache = self.config.get(CACHE_KEY)
        return isinstance(cache, Mapping) and org in cache

    @invariant()
    def unrelated_keys_untouched(self) -> None:
        assert {k: v for k, v in self.config.items() if k != CACHE_KEY} == self.unrelated

    @invariant()
    def cache_holds_exactly_the_model(self) -> None:
        cache = self.config.get(CACHE_KEY, {})
        assert isinstance(cache, Mapping)
        assert set(cache) == set(self.model)


TestReducerMachine = ReducerMachine.TestCase
