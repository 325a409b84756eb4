"""How long to wait after failed fetches: doubling from a base, capped."""

from __future__ import annotations

__all__ = ["backoff_delay_ms"]


def backoff_delay_ms(failures: int, base_ms: int, cap_ms: int) -> int:
    """The wait after `failures` consecutive failures: 0, base, 2*base, 4*base, ... <= cap."""
    if failures <= 0 or base_ms <= 0 or cap_ms <= 0:
        return 0
    # Doubling past the cap is pointless; bounding the exponent keeps the integer small.
    doublings = min(failures - 1, max(cap_ms // base_ms, 1).bit_length())
    return min(cap_ms, base_ms << doublings)
