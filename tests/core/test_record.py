"""The public value types (core/_record.py): the contract the frozen dataclasses had.

Each record is checked against a real frozen dataclass with the same fields, on values
hypothesis draws: equality, hashing and repr must agree exactly; instances must be
immutable; replace, copy, pickle and match patterns must work; and mypy must see a
frozen dataclass.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overage_credit_grant.core import CacheEntry, GrantInfo, PerOrgCache
from overage_credit_grant.core._record import FrozenInstanceError
from overage_credit_grant.shell import (
    FetchError,
    FetchErrorKind,
    InvalidateOutcome,
    InvalidateStatus,
    RefreshOutcome,
    RefreshStatus,
    Settings,
    StoreError,
    StoreErrorKind,
    UpdateResult,
    UpdateStatus,
)

from ..strategies import grant_infos, org_ids


@dataclasses.dataclass(frozen=True)
class GrantInfoAsDataclass:
    available: bool
    eligible: bool
    granted: bool
    amount_minor_units: int | None
    currency: str | None


def as_dataclass(info: GrantInfo) -> GrantInfoAsDataclass:
    return GrantInfoAsDataclass(*(getattr(info, f) for f in GrantInfo._fields))


@given(grant_infos(), grant_infos())
def test_grant_info_equality_hash_and_repr_are_the_dataclasses(a: GrantInfo, b: GrantInfo) -> None:
    ref_a, ref_b = as_dataclass(a), as_dataclass(b)
    assert (a == b) is (ref_a == ref_b)
    assert (a != b) is (ref_a != ref_b)
    if a == b:
        assert hash(a) == hash(b)
    assert repr(a) == repr(ref_a).replace("GrantInfoAsDataclass", "GrantInfo")
    assert a != ref_a  # another class is never equal
    assert a.replace() == a
    assert pickle.loads(pickle.dumps(a)) == a
    assert copy.deepcopy(a) == a


@given(org_ids(), grant_infos(), st.integers())
def test_cache_entries_are_values(org: str, info: GrantInfo, stamp: int) -> None:
    entry = CacheEntry(org, info, stamp)
    assert entry == CacheEntry(org_id=org, value=info, timestamp_ms=stamp)
    assert hash(entry) == hash(CacheEntry(org, info, stamp))
    assert entry.replace(timestamp_ms=stamp + 1) != entry
    match entry:
        case CacheEntry(org_id, value, timestamp):
            assert (org_id, value, timestamp) == (org, info, stamp)


INSTANCES: list[Any] = [
    GrantInfo(True, True, False, 500, "USD"),
    CacheEntry("o", 1, 2),
    PerOrgCache(key="k", decode=lambda x: x, encode=lambda x: x),  # type: ignore[arg-type,return-value]
    Settings(config_path="c.json"),
    RefreshOutcome(RefreshStatus.WRITTEN, "", 5),
    InvalidateOutcome(InvalidateStatus.REMOVED),
    FetchError(FetchErrorKind.HTTP, "HTTP 503", 503),
    UpdateResult(UpdateStatus.WRITTEN),
    StoreError(StoreErrorKind.UNREADABLE, "why"),
]


@pytest.mark.parametrize("value", INSTANCES, ids=lambda v: type(v).__name__)
def test_every_public_record_is_immutable_and_slotted(value: Any) -> None:
    name = type(value)._fields[0]
    with pytest.raises(FrozenInstanceError):
        setattr(value, name, None)
    with pytest.raises(AttributeError):
        delattr(value, name)
    with pytest.raises(AttributeError):
        value.not_a_field = 1
    assert not hasattr(value, "__dict__")
    assert value.replace() == value
    assert value == copy.copy(value)


def test_constructors_check_their_arguments_like_a_dataclass() -> None:
    with pytest.raises(TypeError, match="missing required argument: 'currency'"):
        GrantInfo(True, True, False, 500)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        GrantInfo(True, True, False, 500, "USD", colour="red")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values"):
        GrantInfo(True, True, False, 500, "USD", available=False)  # type: ignore[misc]
    with pytest.raises(TypeError, match="takes 5 positional"):
        GrantInfo(True, True, False, 500, "USD", "x")  # type: ignore[call-arg]


def test_settings_hide_secrets_and_make_fresh_defaults() -> None:
    token = "sk-ant-oat01-never-shown"
    s = Settings(config_path="c.json", token=token, redis_url=f"redis://:{token}@h/0")
    assert token not in repr(s)
    assert "config_path='c.json'" in repr(s)
    assert Settings(config_path="a").env is not Settings(config_path="a").env  # a factory
    assert s.replace(organization="x").token == token


def test_mypy_sees_frozen_dataclasses(tmp_path: Path) -> None:
    """Through the same mirror of the import names that CI type-checks (.ci/typecheck.py)."""
    pytest.importorskip("mypy")
    root = Path(__file__).resolve().parents[2]
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        textwrap.dedent(
            """
            from overage_credit_grant.core import GrantInfo
            from overage_credit_grant.shell import Settings
            info = GrantInfo(True, True, False, 500, "USD")
            info.amount_minor_units = 1
            GrantInfo(True, True, False, "500", "USD")
            Settings(config_path="c", lock_timeout_s="slow")
            ok: int | None = info.amount_minor_units
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(root / ".ci" / "typecheck.py"), "--no-incremental", str(snippet)],
        capture_output=True,
        text=True,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 1, out
    assert 'Property "amount_minor_units" defined in "GrantInfo" is read-only' in out
    assert 'Argument 4 to "GrantInfo" has incompatible type "str"' in out
    assert 'Argument "lock_timeout_s" to "Settings" has incompatible type "str"' in out
    assert "Found 3 errors" in out
