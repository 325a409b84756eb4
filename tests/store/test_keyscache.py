"""What was read of Claude Code's file, kept for the next process (shell/_store/keyscache.py,
shell/_store/smallfile.py): given back only for the very file and stat it was kept for,
whatever the characters of the paths (a home folder named in any language, or in bytes
that are not UTF-8), and never a reason for a read to fail."""

from __future__ import annotations

import os
import tempfile

from hypothesis import given
from hypothesis import strategies as st

from overage_credit_grant.shell._store.keyscache import NAME, kept_raw_values, recall, remember
from overage_credit_grant.shell._store.toplevel import SCAN_FROM, raw_values

from ..strategies import path_names

KEYS = ("oauthAccount", "overageCreditGrantCache")
VALUES = st.dictionaries(st.sampled_from(KEYS), st.binary(max_size=40))


def keepable(path: str) -> bool:
    """What the record's lines can hold: no line break, no field separator."""
    return "\n" not in path and "\x1f" not in path


@given(path_names(), path_names(), VALUES)
def test_what_is_kept_is_recalled_for_that_file_and_stat_only(
    home: str, file_name: str, raw: dict[str, bytes]
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = os.path.join(scratch, home, "cache")
        path = os.path.join(scratch, home, file_name)
        other = os.path.join(scratch, "other")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        for name in (path, other):
            with open(name, "wb") as f:
                f.write(b"{}")
        st_path = os.stat(path)
        assert recall(folder, path, st_path, KEYS) is None  # nothing kept yet
        remember(folder, path, st_path, KEYS, raw)
        if not keepable(path):  # not kept, so never recalled: the file is read again
            assert recall(folder, path, st_path, KEYS) is None
            return
        assert os.listdir(folder) == [NAME]  # no temp file left beside it
        assert recall(folder, path, st_path, KEYS) == raw
        assert recall(folder, path, os.stat(other), KEYS) is None
        assert recall(folder, other, st_path, KEYS) is None
        assert recall(folder, path, st_path, KEYS[:1]) is None


@given(path_names())
def test_a_search_kept_gives_what_the_search_gives(home: str) -> None:
    """Searched once and kept, then recalled: both times what `raw_values` finds."""
    body = (
        '{\n  "projects": "' + "x" * SCAN_FROM + '",\n'
        '  "oauthAccount": {\n    "organizationUuid": "o"\n  }\n}\n'
    ).encode()
    with tempfile.TemporaryDirectory() as scratch:
        folder = os.path.join(scratch, home)
        path = os.path.join(folder, ".claude.json")
        os.makedirs(folder)
        with open(path, "wb") as f:
            f.write(body)
        fd = os.open(path, os.O_RDONLY)
        try:
            st_path = os.fstat(fd)
            searched = raw_values(fd, st_path.st_size, KEYS)
            assert searched is not None
            assert set(searched) == {"oauthAccount"}
            assert kept_raw_values(folder, path, fd, st_path, KEYS) == searched
            assert recall(folder, path, st_path, KEYS) == (searched if keepable(path) else None)
            assert kept_raw_values(folder, path, fd, st_path, KEYS) == searched
        finally:
            os.close(fd)
