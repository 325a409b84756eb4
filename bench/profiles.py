"""Real Claude Code profiles for the benchmarks: a HOME as a logged-in user has it.

`~/.claude.json` written the way Claude Code writes it (``JSON.stringify(config, null,
2)``: two-space indentation, keys in insertion order, non-ASCII kept), holding the
account (`oauthAccount.organizationUuid`), Claude Code's own fresh grant entry and a
project history that makes up the size; `~/.claude/.credentials.json` with an unexpired
token; nothing of ours (our cache goes to its default place, under `~/.config`).
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

ORG = "0f8fad5b-d9cb-469f-a165-70867728950e"
GRANT = {
    "available": True,
    "eligible": True,
    "granted": False,
    "amount_minor_units": 1250,
    "currency": "USD",
}


def stringify(config: object) -> bytes:
    """`JSON.stringify(config, null, 2)` for the values Claude Code keeps (no floats)."""
    return json.dumps(config, indent=2, ensure_ascii=False).encode("utf-8")


def claude_config(size: int, stamp_ms: int, seed: int = 1) -> dict[str, object]:
    """A global config of about `size` bytes, as a long-used Claude Code keeps it (a new
    login, for a size under 1 KB)."""
    rng = random.Random(seed)
    config: dict[str, object] = {
        "numStartups": 2,
        "installMethod": "npm",
        "oauthAccount": {
            "emailAddress": "me@example.com",
            "organizationUuid": ORG,
        },
        "overageCreditGrantCache": {ORG: {"info": GRANT, "timestamp": stamp_ms}},
    }
    if size < 1024:
        return config
    projects: dict[str, object] = {}
    config.update(autoUpdates=True, userID=f"{rng.getrandbits(256):064x}", projects=projects)
    written, each = len(stringify(config)), 4500  # bytes a project takes, measured below
    while written < size:
        before, count = written, max(1, (size - written) // each)
        for _ in range(count):
            projects[f"/home/me/src/project-{len(projects)}"] = {
                "allowedTools": [],
                "history": [
                    {"display": "fix the failing test in " + "x" * rng.randint(20, 200)}
                    for _ in range(20)
                ],
                "lastSessionId": f"{rng.getrandbits(128):032x}",
            }
        written = len(stringify(config))
        each = max(1, (written - before) // count)
    return config


def write_like_claude_code(path: Path, config: object) -> None:
    """A new file in place of the old one: a temp file beside it, then a rename."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_bytes(stringify(config))
    os.replace(temp, path)


def build(home: Path, size: int) -> dict[str, object]:
    """A HOME with a logged-in Claude Code profile of about `size` bytes; the config."""
    (home / ".claude").mkdir(parents=True, exist_ok=True)
    now = int(time.time() * 1000)
    config = claude_config(size, now)
    write_like_claude_code(home / ".claude.json", config)
    token = {"accessToken": "sk-ant-oat01-bench", "expiresAt": now + 8 * 3600_000}
    credentials = {"claudeAiOauth": token}
    (home / ".claude" / ".credentials.json").write_text(json.dumps(credentials))
    return config


def rewrite(
    home: Path, config: dict[str, object], startups: int, amount: int | None = None
) -> None:
    """What Claude Code does after a message: the same config with a counter moved on,
    written anew (temp + rename). The grant entry stays as it was, or (with `amount`)
    Claude Code has just fetched a new grant."""
    config["numStartups"] = startups
    if amount is not None:
        now = int(time.time() * 1000)
        config["overageCreditGrantCache"] = {
            ORG: {"info": {**GRANT, "amount_minor_units": amount}, "timestamp": now}
        }
    write_like_claude_code(home / ".claude.json", config)
