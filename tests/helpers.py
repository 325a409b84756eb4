"""Small helpers shared by the shell tests: a fake clock, the token, file observations."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

TOKEN = "sk-ant-oat01-TEST-TOKEN-never-print-me-7f3a"
GRANT_BODY = {
    "available": True,
    "eligible": True,
    "granted": False,
    "amount_minor_units": 500,
    "currency": "USD",
}


def grant_path(org: str) -> str:
    return f"/api/oauth/organizations/{org}/overage_credit_grant"


class Clock:
    """A clock the test moves by hand (epoch milliseconds)."""

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        self.now_ms += ms


@dataclass(frozen=True)
class FileState:
    """What a write would change: bytes, inode, mtime."""

    data: bytes
    inode: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileState:
        st = os.stat(path)
        return cls(path.read_bytes(), st.st_ino, st.st_mtime_ns)


def read_json(path: Path) -> dict[str, object]:
    data = json.loads(path.read_bytes())
    assert isinstance(data, dict)
    return data


def write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")


def cached_section(path: Path, key: str = "overageCreditGrantCache") -> object:
    """The config's `key` section, or None when the file or the section is missing."""
    if not path.exists():
        return None
    return read_json(path).get(key)
