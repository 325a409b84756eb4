"""Where the Redis store keeps things: one hash slot per organization, a SCAN pattern that
finds exactly one section's records, and a compare-and-set that writes only over what
was seen (against the real redis-server)."""

from __future__ import annotations

import uuid

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.crc import key_slot

from overage_credit_grant.shell import RedisStore
from overage_credit_grant.shell._store import rediskeys as rk

from ..strategies import org_ids, redis_key_parts, redis_values
from ..support.redis_server import RedisProcess

_SERVER = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@given(redis_key_parts(), org_ids(), st.lists(redis_key_parts(), min_size=1, max_size=4))
def test_every_key_of_an_org_hashes_to_one_slot(prefix: str, org: str, sections: list[str]) -> None:
    keys = [rk.entry_key(prefix, s, org) for s in sections]
    keys += [rk.lease_key(prefix, s, org) for s in sections]
    assert {key_slot(k.encode()) for k in keys} == {key_slot(org.encode())}


@given(redis_key_parts(), redis_key_parts(), redis_key_parts(), org_ids())
def test_a_records_key_names_its_org_and_no_other_sections(
    prefix: str, section: str, other: str, org: str
) -> None:
    assert rk.org_of(rk.entry_key(prefix, section, org), prefix, section) == org
    assert rk.org_of(rk.lease_key(prefix, section, org), prefix, section) is None
    if other != section and not other.startswith(section + ":"):
        assert rk.org_of(rk.entry_key(prefix, other, org), prefix, section) is None


@_SERVER
@given(redis_key_parts(), redis_key_parts(), redis_key_parts(), org_ids())
def test_the_scan_pattern_finds_exactly_its_sections_records(
    client: redis.Redis, prefix: str, section: str, other: str, org: str
) -> None:
    prefix = f"{uuid.uuid4().hex[:8]}{prefix}"  # apart from every other example
    mine = rk.entry_key(prefix, section, org)
    others = {
        rk.entry_key(prefix, other, org),
        rk.lease_key(prefix, section, org),
        rk.epoch_key(prefix),
        f"{prefix}{section}:{org}",  # no hash tag: not a record
    } - {mine}
    for key in (mine, *others):
        client.set(key, b"x")
    try:
        found = {k.decode() for k in client.scan_iter(match=rk.section_pattern(prefix, section))}
        assert found == {mine} | {k for k in others if rk.org_of(k, prefix, section)}
    finally:
        client.delete(mine, *others)


@_SERVER
@given(
    st.lists(st.tuples(redis_values(), redis_values(), redis_values()), min_size=1, max_size=3),
    st.booleans(),
)
def test_compare_and_set_writes_only_over_what_was_seen(
    client: redis.Redis, records: list[tuple[bytes | None, bytes | None, bytes | None]], keep: bool
) -> None:
    """Each record: (what Redis holds, what the writer saw, what it writes). The script
    writes every record, or none: all, exactly when what it saw is what Redis holds."""
    org = str(uuid.uuid4())
    keys = [rk.entry_key("cas:", f"s{i}", org) for i in range(len(records))]
    for key, (held, _, _) in zip(keys, records, strict=True):
        if held is None:
            client.delete(key)
        else:
            client.set(key, held)
    args: list[object] = [60_000]
    for i, (_, seen, new) in enumerate(records):
        args.append(rk.encoded(seen))
        unchanged = keep and i == 0
        args.append(rk.KEEP if unchanged else rk.ABSENT if new is None else b"=" + new)
    script = client.register_script(rk.COMPARE_AND_SET)
    wrote = script(keys=keys, args=args)
    matched = all(held == seen for held, seen, _ in records)
    assert bool(wrote) == matched
    for i, (key, (held, _, new)) in enumerate(zip(keys, records, strict=True)):
        expected = held if not matched or (keep and i == 0) else new
        assert client.get(key) == expected
    client.delete(*keys)


def test_a_prefix_or_section_with_a_brace_is_refused(redis_server: RedisProcess) -> None:
    """A brace would move the hash tag and split an org's keys over slots."""
    with pytest.raises(ValueError, match="brace"):
        RedisStore.from_url(redis_server.url, prefix="a{b", near_cache=False)
    store = RedisStore.from_url(redis_server.url, prefix="ok:", near_cache=False)
    with pytest.raises(ValueError, match="brace"):
        store.read(str(uuid.uuid4()), ("odd{section}",))
    store.close()
