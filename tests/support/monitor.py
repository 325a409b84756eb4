"""What a real redis-server was asked, seen by the server itself (``MONITOR``)."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator

import redis

READS = frozenset({"GET", "MGET", "EXISTS", "PTTL", "TTL", "SCAN"})


@contextlib.contextmanager
def commands_naming(client: redis.Redis, *keys: str) -> Iterator[list[str]]:
    """Every command that names one of `keys` while the block runs, as the server logged
    it (a script's own commands included)."""
    seen: list[str] = []
    marker = f"end-{uuid.uuid4().hex}"
    ready = threading.Event()

    def watch() -> None:
        with client.monitor() as monitor:
            ready.set()
            for event in monitor.listen():
                command = str(event["command"])
                if marker in command:
                    return
                if any(key in command for key in keys):
                    seen.append(command)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    ready.wait(5)
    time.sleep(0.05)  # MONITOR is on before the block's first command
    yield seen
    client.echo(marker)
    thread.join(5)


def writes(commands: list[str]) -> list[str]:
    """The commands that are not reads."""
    return [c for c in commands if c.split()[0].upper() not in READS]
