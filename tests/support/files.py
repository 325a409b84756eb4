"""Observing config files: their JSON, and what a write would change (bytes, inode, mtime)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


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


OTHER_ORG = "00000000-0000-4000-8000-000000000000"


def seeded(path: Path, org: str, info: dict[str, object], stamp: int) -> dict[str, object]:
    """Write a config holding unrelated keys, another org's entry and `org`'s entry."""
    config = {
        "theme": "dark",
        "projects": {"/x": {"allowedTools": ["a"]}},
        "overageCreditGrantCache": {
            OTHER_ORG: {
                "info": {
                    "available": True,
                    "eligible": True,
                    "granted": True,
                    "amount_minor_units": 500,
                    "currency": "USD",
                },
                "timestamp": 1,
            },
            org: {"info": info, "timestamp": stamp},
        },
    }
    write_json(path, config)
    return config
