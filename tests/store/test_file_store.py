"""The JSON file store against real files (shell/_store/files.py, shell/_store/filewrite.py)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import assume, given
from returns.result import Failure, Success

from overage_credit_grant.shell import FileStore, UpdateStatus
from overage_credit_grant.shell._store.jsonio import parse_config, serialize_config

from ..strategies import configs
from ..support.files import FileState, read_json, write_json


def add_key(key: str, value: object):  # type: ignore[no-untyped-def]
    return lambda prev: {**prev, key: value}


def test_missing_file_reads_as_empty(tmp_path: Path) -> None:
    """No file yet: an empty config, nothing created by reading."""
    store = FileStore(tmp_path / "config.json")
    assert store.read() == {}
    assert not (tmp_path / "config.json").exists()


def test_update_creates_file_with_mode_0600_and_parent_folder(tmp_path: Path) -> None:
    """A new config is private to its owner, in a folder created on demand."""
    path = tmp_path / "new" / "dir" / "config.json"
    result = FileStore(path).update(add_key("a", 1))
    assert result.status is UpdateStatus.WRITTEN
    assert read_json(path) == {"a": 1}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_update_keeps_an_existing_files_mode(tmp_path: Path) -> None:
    """An existing file keeps the permissions its owner chose."""
    path = tmp_path / "config.json"
    write_json(path, {"a": 1})
    os.chmod(path, 0o640)
    assert FileStore(path).update(add_key("b", 2)).status is UpdateStatus.WRITTEN
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert read_json(path) == {"a": 1, "b": 2}


def test_update_returning_prev_writes_nothing(tmp_path: Path) -> None:
    """The reducer's identity means no write: bytes, inode and mtime all stay."""
    path = tmp_path / "config.json"
    write_json(path, {"a": 1})
    before = FileState.of(path)
    assert FileStore(path).update(lambda prev: prev).status is UpdateStatus.UNCHANGED
    assert FileState.of(path) == before
    assert sorted(os.listdir(tmp_path)) == ["config.json", "config.json.lock"]


def test_update_reads_the_file_again_under_the_lock(tmp_path: Path) -> None:
    """A change made after a lock-free read is what the reducer sees, never the old read."""
    path = tmp_path / "config.json"
    store = FileStore(path)
    write_json(path, {"v": 1})
    assert store.read() == {"v": 1}
    write_json(path, {"v": 2, "other": True})  # another process's write
    seen: list[object] = []
    store.update(lambda prev: seen.append(dict(prev)) or prev)  # type: ignore[func-returns-value]
    assert seen == [{"v": 2, "other": True}]


def test_symlinked_config_stays_a_symlink(tmp_path: Path) -> None:
    """The link's target is written; the link itself is left as it is."""
    real = tmp_path / "real" / "config.json"
    real.parent.mkdir()
    write_json(real, {"a": 1})
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert FileStore(link).update(add_key("b", 2)).status is UpdateStatus.WRITTEN
    assert link.is_symlink()
    assert os.readlink(link) == str(real)
    assert read_json(real) == {"a": 1, "b": 2}
    assert (tmp_path / "real" / "config.json.lock").exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"a": 1', "not valid JSON"),
        (b"[1, 2, 3]", "not a JSON object"),
        (b'"text"', "not a JSON object"),
        (b"null", "not a JSON object"),
        (b"\xff\xfe\x00garbage", "not"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
    ],
)
def test_unusable_config_reads_empty_and_is_never_overwritten(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    """Corrupt, non-object or hostile bytes: reads see {}, updates refuse, bytes stay."""
    path = tmp_path / "config.json"
    path.write_bytes(content)
    before = FileState.of(path)
    store = FileStore(path)
    assert store.read() == {}
    assert isinstance(store.read_checked(), Failure)
    result = store.update(add_key("x", 1))
    assert result.status is UpdateStatus.UNREADABLE
    assert reason in result.detail
    assert FileState.of(path) == before


@pytest.mark.parametrize("content", [b"", b"   \n\t  ", b"\n"])
def test_blank_config_counts_as_empty(tmp_path: Path, content: bytes) -> None:
    """A blank file holds nothing to lose: it reads as {} and may be written."""
    path = tmp_path / "config.json"
    path.write_bytes(content)
    assert FileStore(path).read_checked() == Success({})
    assert FileStore(path).update(add_key("a", 1)).status is UpdateStatus.WRITTEN
    assert read_json(path) == {"a": 1}


def test_config_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    """A folder where the config should be: unreadable, left alone."""
    path = tmp_path / "config.json"
    path.mkdir()
    store = FileStore(path)
    assert store.read() == {}
    result = store.update(add_key("a", 1))
    assert result.status is UpdateStatus.UNREADABLE
    assert path.is_dir()


def test_read_only_config_is_never_replaced(tmp_path: Path) -> None:
    """A config its owner made read-only is refused, even though the folder is writable."""
    path = tmp_path / "config.json"
    write_json(path, {"a": 1})
    os.chmod(path, 0o444)
    before = FileState.of(path)
    result = FileStore(path).update(add_key("b", 2))
    assert result.status is UpdateStatus.WRITE_FAILED
    assert "read-only" in result.detail
    assert FileState.of(path) == before
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_lock_free_read_reuses_the_parse_until_the_file_changes(tmp_path: Path) -> None:
    """Same stat signature: the very same object; after a write: the new content."""
    path = tmp_path / "config.json"
    write_json(path, {"a": 1})
    store = FileStore(path)
    first = store.read()
    assert store.read() is first
    store.update(add_key("b", 2))
    second = store.read()
    assert second == {"a": 1, "b": 2}
    assert second is not first
    assert store.read() is second


def test_written_bytes_round_trip_every_json_value(tmp_path: Path) -> None:
    """What is written parses back to the same config, non-ASCII and odd values included."""
    config = {
        "unicode": "héllo ✓ \U0001f600",
        "lone_surrogate": "\ud800",
        "big": 2**80,
        "float": 0.1,
        "neg": -1e-300,
        "nested": {"list": [None, True, False, {"k": []}]},
    }
    path = tmp_path / "config.json"
    assert FileStore(path).update(lambda prev: config).status is UpdateStatus.WRITTEN
    assert json.loads(path.read_bytes()) == config
    assert parse_config(serialize_config(config)) == Success(config)
    path.read_bytes().decode("utf-8")  # always valid UTF-8


def test_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    """A reducer result that cannot be serialized writes nothing and leaves no trace."""
    path = tmp_path / "config.json"
    write_json(path, {"a": 1})
    before = FileState.of(path)
    result = FileStore(path).update(lambda prev: {**prev, "bad": object()})
    assert result.status is UpdateStatus.WRITE_FAILED
    assert "TypeError" in result.detail
    assert FileState.of(path) == before
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_next_write_removes_temp_files_of_interrupted_writers_only(tmp_path: Path) -> None:
    """Orphans of this config go; another config's temp files and other files stay."""
    path = tmp_path / "config.json"
    write_json(path, {"a": 1})
    orphan = tmp_path / ".config.json.k2j4h5g6.tmp"
    orphan.write_bytes(b'{"half": ')
    others = [tmp_path / ".config.json.bak.k2j4h5g6.tmp", tmp_path / "notes.tmp"]
    for other in others:
        other.write_bytes(b"keep")
    assert FileStore(path).update(lambda prev: prev).status is UpdateStatus.UNCHANGED
    assert orphan.exists()  # no write, no sweep
    assert FileStore(path).update(add_key("b", 2)).status is UpdateStatus.WRITTEN
    assert not orphan.exists()
    assert all(other.read_bytes() == b"keep" for other in others)
    assert read_json(path) == {"a": 1, "b": 2}


@given(configs())
def test_fast_json_writes_the_same_values_as_the_standard_library(
    config: dict[str, object],
) -> None:
    """Where the guard lets orjson write (no NaN or Infinity in the file), its output
    (when installed) parses to exactly what the stdlib's does."""
    pytest.importorskip("orjson")
    slow = serialize_config(config)
    assume(b"NaN" not in slow and b"Infinity" not in slow)  # what fast_json_safe checks
    fast = serialize_config(config, fast=True)
    assert json.loads(fast) == json.loads(slow) == config
    fast.decode("utf-8")


def test_nan_in_a_large_config_is_kept_by_the_standard_library(tmp_path: Path) -> None:
    """NaN and Infinity (which orjson would turn into null) survive an update."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"pad": "x" * 100_000, "nan": float("nan"), "inf": float("inf")}))
    store = FileStore(path, fast_json=True)
    assert store.update(add_key("b", 2)).status is UpdateStatus.WRITTEN
    text = path.read_text()
    assert "NaN" in text
    assert "Infinity" in text


def test_huge_integers_in_a_large_config_survive_fast_json(tmp_path: Path) -> None:
    """Integers past 64 bits (which orjson refuses) are written by the fallback."""
    path = tmp_path / "config.json"
    write_json(path, {"pad": "x" * 100_000, "big": 2**100})
    assert FileStore(path, fast_json=True).update(add_key("b", 2)).status is UpdateStatus.WRITTEN
    assert read_json(path)["big"] == 2**100
