"""A clock the test moves by hand, injected through `Settings(clock=...)`."""

from __future__ import annotations


class Clock:
    """Epoch milliseconds that change only when the test says so."""

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        self.now_ms += ms
