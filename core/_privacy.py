"""The privacy switch that turns every non-essential request off."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["ESSENTIAL_TRAFFIC_ENV", "is_essential_traffic_only"]

ESSENTIAL_TRAFFIC_ENV: Final = "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"


def is_essential_traffic_only(env: Mapping[str, str]) -> bool:
    """True when the switch is set to any non-empty string (``"0"`` counts, as in the seed)."""
    value = env.get(ESSENTIAL_TRAFFIC_ENV)
    return isinstance(value, str) and value != ""
