"""The essential-traffic switch (core/_privacy.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from overage_credit_grant.core import ESSENTIAL_TRAFFIC_ENV, is_essential_traffic_only


@given(st.text(min_size=1), st.dictionaries(st.text(), st.text()))
def test_any_non_empty_value_means_essential_traffic_only(
    value: str, others: dict[str, str]
) -> None:
    """Any non-empty string turns non-essential traffic off ("0" and "false" included)."""
    assert is_essential_traffic_only({**others, ESSENTIAL_TRAFFIC_ENV: value})


@given(st.dictionaries(st.text().filter(lambda k: k != ESSENTIAL_TRAFFIC_ENV), st.text()))
def test_unset_or_empty_means_traffic_allowed(env: dict[str, str]) -> None:
    """Without the variable, or with it empty, traffic is allowed."""
    assert not is_essential_traffic_only(env)
    assert not is_essential_traffic_only({**env, ESSENTIAL_TRAFFIC_ENV: ""})
