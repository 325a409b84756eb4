"""Command line entry point."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    print("usage: overage-grant {show,refresh,invalidate,status,serve,demo}")
    return 0
