"""The file store's fetch lease: byte-range locks in one file (shell/_store/lease.py).

Real processes hold real locks; the tests check exclusivity across processes and
threads, that a dead holder frees its lease, the POSIX pitfall (releasing one lease
must not drop another held by the same process), and planted files at the lease path.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from overage_credit_grant.shell import LeaseStatus, RefreshStatus, Settings
from overage_credit_grant.shell._store.lease import lease_offset, lease_range

from ..support.backend import GRANT_BODY, TOKEN, grant_path
from ..support.lookups import GRANT_KIND

HOLDER = """
import sys
from overage_credit_grant.shell._store.lease import lease_range
path, one, two = sys.argv[1:4]
with lease_range(path, one) as first, lease_range(path, two) as second:
    print(first.value, second.value, flush=True)
    sys.stdin.readline()
"""


@contextmanager
def held_elsewhere(path: Path, *identities: str) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the leases of two identities until we let it go."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), *identities],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().split() == ["acquired", "acquired"]
        yield proc
    finally:
        proc.kill()
        proc.wait()


def status(path: Path, identity: str) -> LeaseStatus:
    with lease_range(str(path), identity) as got:
        return got


def test_a_lease_is_exclusive_across_processes_and_dies_with_its_holder(tmp_path: Path) -> None:
    path = tmp_path / "config.json.lease"
    with held_elsewhere(path, "a/org-1", "a/org-2") as holder:
        assert status(path, "a/org-1") is LeaseStatus.BUSY
        assert status(path, "a/org-2") is LeaseStatus.BUSY
        assert status(path, "b/org-1") is LeaseStatus.ACQUIRED  # another lookup
        assert status(path, "a/org-3") is LeaseStatus.ACQUIRED  # another org
        holder.kill()
        holder.wait()
        assert status(path, "a/org-1") is LeaseStatus.ACQUIRED
    assert os.path.getsize(path) == 0


def test_threads_of_one_process_exclude_each_other(tmp_path: Path) -> None:
    """POSIX locks belong to the process; the lease still tells a second thread BUSY."""
    path = str(tmp_path / "config.json.lease")
    seen: list[LeaseStatus] = []
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lease_range(path, "x") as got:
            seen.append(got)
            inside.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(5)
    seen.append(status(Path(path), "x"))
    release.set()
    holder.join()
    seen.append(status(Path(path), "x"))
    assert seen == [LeaseStatus.ACQUIRED, LeaseStatus.BUSY, LeaseStatus.ACQUIRED]


def test_releasing_one_lease_keeps_the_others_held(tmp_path: Path) -> None:
    """The classic POSIX pitfall: closing a descriptor drops all the process's locks."""
    path = tmp_path / "config.json.lease"
    probe = (
        "import sys\n"
        "from overage_credit_grant.shell._store.lease import lease_range\n"
        "with lease_range(sys.argv[1], sys.argv[2]) as got: print(got.value)\n"
    )

    def from_outside(identity: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", probe, str(path), identity],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    with lease_range(str(path), "kept") as kept:
        assert kept is LeaseStatus.ACQUIRED
        with lease_range(str(path), "short") as short:
            assert short is LeaseStatus.ACQUIRED
        assert from_outside("short") == "acquired"
        assert from_outside("kept") == "busy"
    assert from_outside("kept") == "acquired"


def test_planted_files_at_the_lease_path_are_never_followed_or_touched(
    tmp_path: Path, httpserver: object
) -> None:
    """A symlink (to a file of the user's), a FIFO or a directory at the lease path: the
    lease fails cleanly, no request is sent, the target keeps its bytes."""
    from pytest_httpserver import HTTPServer

    assert isinstance(httpserver, HTTPServer)
    org = "0f8fad5b-d9cb-469f-a165-70867728950e"
    httpserver.expect_request(grant_path(org)).respond_with_json(GRANT_BODY)
    victim = tmp_path / "precious.txt"
    victim.write_bytes(b"the user's own bytes\n")
    config = tmp_path / "config.json"
    lease = tmp_path / "config.json.lease"
    settings = Settings(
        config_path=config,
        organization=org,
        token=TOKEN,
        base_url=httpserver.url_for("/").rstrip("/"),
        env={},
    )
    for plant in ("symlink", "fifo", "directory"):
        if plant == "symlink":
            lease.symlink_to(victim)
        elif plant == "fifo":
            os.mkfifo(lease)
        else:
            lease.mkdir()
        outcome = GRANT_KIND.lookup.refresh(settings)
        assert outcome.status is RefreshStatus.WRITE_FAILED, outcome
        assert outcome.detail == "cannot take the refresh lease"
        assert victim.read_bytes() == b"the user's own bytes\n"
        assert httpserver.log == []
        if plant == "directory":
            lease.rmdir()
        else:
            lease.unlink()
    assert GRANT_KIND.lookup.refresh(settings).status is RefreshStatus.WRITTEN


@given(st.text(), st.text())
def test_lease_offsets_fit_any_off_t_and_depend_only_on_the_identity(a: str, b: str) -> None:
    assert 0 <= lease_offset(a) < 2**56
    assert lease_offset(a) == lease_offset(a)
    if a != b:
        assert lease_offset(a) != lease_offset(b) or a == b  # 56 bits: a clash is ~1e-17
