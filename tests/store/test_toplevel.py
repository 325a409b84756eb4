"""Reading two top-level keys of Claude Code's large file without parsing the rest
(shell/_store/toplevel.py): the scan gives exactly what parsing the whole file gives, on
every file Claude Code's layout can hold, and steps aside (None) for every other file."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overage_credit_grant.shell._store.files import read_keys_cached
from overage_credit_grant.shell._store.toplevel import SCAN_FROM, raw_values, top_level_values

from ..strategies import json_values, org_ids

KEYS = ("oauthAccount", "overageCreditGrantCache")
PAD = "x" * 1000


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("toplevel") / "claude.json")


def scan(path: str, data: bytes, keys: tuple[str, ...] = KEYS) -> dict[str, object] | None:
    with open(path, "wb") as f:
        f.write(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        return top_level_values(fd, os.fstat(fd).st_size, keys)
    finally:
        os.close(fd)


def whole(data: bytes, keys: tuple[str, ...] = KEYS) -> dict[str, object] | None:
    """What parsing the whole file gives for `keys` (None: it does not parse)."""
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return {k: parsed[k] for k in keys if k in parsed} if isinstance(parsed, dict) else None


def layout(items: list[tuple[str, object]]) -> bytes:
    """Claude Code's layout, `JSON.stringify(config, null, 2)`, keys in this order (a key
    may come twice: JSON.stringify never writes that, a hand or a tool may)."""
    if not items:
        return b"{}"
    lines = [
        f"  {json.dumps(key)}: " + json.dumps(value, indent=2).replace("\n", "\n  ")
        for key, value in items
    ]
    return ("{\n" + ",\n".join(lines) + "\n}").encode("utf-8")


keys = st.sampled_from([*KEYS, "projects", "numStartups", "theme", "a b", "ü"])
configs = st.lists(st.tuples(keys, json_values(max_leaves=8)), max_size=8)
accounts = st.builds(lambda org: {"organizationUuid": org, "email": "me@example.com"}, org_ids())


@given(configs, accounts, st.booleans())
def test_the_scan_reads_what_a_full_parse_reads(
    scratch: str, items: list[tuple[str, object]], account: object, newline: bool
) -> None:
    """Any config in the layout, duplicate keys included (the last one wins), padded past
    `SCAN_FROM`, with or without a final newline."""
    data = layout([("projects", [PAD] * (SCAN_FROM // 900)), ("oauthAccount", account), *items])
    data += b"\n" if newline else b""
    assert json.loads(data)  # it is JSON
    assert scan(scratch, data) == whole(data)
    raw = raw_values(os.open(scratch, os.O_RDONLY), len(data), KEYS)
    assert raw is not None
    assert {k: json.loads(v) for k, v in raw.items()} == whole(data)


@given(configs, st.data())
def test_a_file_cut_short_is_never_scanned(
    scratch: str, items: list[tuple[str, object]], data: st.DataObject
) -> None:
    """A prefix of a config (a crash mid-write, a full disk): the scan steps aside, so the
    reader parses the whole file, which fails, as for any unreadable file."""
    full = layout([("projects", [PAD] * (SCAN_FROM // 900)), *items, ("oauthAccount", {})])
    cut = data.draw(st.integers(0, len(full) - 1))
    assert scan(scratch, full[:cut]) is None


@given(configs)
def test_compact_and_other_layouts_are_parsed_whole(
    scratch: str, items: list[tuple[str, object]]
) -> None:
    config = dict([("projects", [PAD] * (SCAN_FROM // 900)), *items])
    for data in (
        json.dumps(config).encode(),
        json.dumps(config, indent=4).encode(),
        b"\xef\xbb\xbf" + layout(list(config.items())),
        b"  " + layout(list(config.items())),
    ):
        assert scan(scratch, data) is None


@given(st.binary(max_size=300), st.binary(max_size=300))
def test_any_bytes_in_the_frame_never_raise(scratch: str, head: bytes, tail: bytes) -> None:
    """Whatever sits between an opening and a closing that look right: None or values that
    parsed, never an exception."""
    data = b'{\n  "' + head + b'\n  "oauthAccount": ' + tail + b" " * SCAN_FROM + b"\n}"
    found = scan(scratch, data)
    assert found is None or set(found) <= set(KEYS)


def test_small_files_are_parsed_whole(scratch: str) -> None:
    data = layout([("oauthAccount", {"organizationUuid": "x"})])
    assert len(data) < SCAN_FROM
    assert scan(scratch, data) is None
    assert read_keys_cached(scratch, KEYS).unwrap() == whole(data)


def test_damage_outside_the_keys_read_is_not_seen(scratch: str) -> None:
    """The rule's one documented difference: another copy's tail after the closing line
    (concurrent writers) makes the whole file unparsable, but the keys the scan reads are
    intact, and it reads them."""
    good = layout([("oauthAccount", {"organizationUuid": "x"}), ("projects", [PAD] * 80)])
    damaged = good + b'0",\n    "y"\n  ]\n}'
    assert whole(damaged) is None
    assert scan(scratch, damaged) == {"oauthAccount": {"organizationUuid": "x"}}
