"""Hostile input, round two: every attack is bounded in time, memory and files, not only
"nothing written". Each test runs the command line in its own process and checks what the
attack targets: wall time, the process's peak memory (its VmHWM, see `RUN_CLI`), the
files beside the config, the config's values, and secrets in the output.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from overage_credit_grant.core import CACHE_KEY

from ..support.backend import GRANT_BODY, TOKEN
from ..support.files import FileState, write_json

pytestmark = pytest.mark.torture
SCRIPT = str(Path(sys.executable).with_name("overage-grant"))
ORG = "0f8fad5b-d9cb-469f-a165-70867728950e"
MB = 1024 * 1024


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float
    max_rss_mb: float


# The command as the console script runs it, reporting its own peak RSS at exit. Why not
# wait4's ru_maxrss: on Linux a child inherits its parent's high-water mark across fork
# and exec, so every child of a 200 MB pytest would "peak" at 200 MB. VmHWM belongs to
# the process's own address space, which exec makes new.
RUN_CLI = """
import atexit, os, sys
def report():
    with open("/proc/self/status") as status, open(os.environ["PEAK_RSS_FILE"], "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
atexit.register(report)
from overage_credit_grant.shell._cli.entry import main
sys.exit(main(sys.argv[1:]))
"""


def start(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[bytes], float, Path]:
    peak = Path(tempfile.mkstemp(prefix="peak-rss-")[1])
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, *args],
        env={**env, "PEAK_RSS_FILE": str(peak)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    return proc, time.monotonic(), peak


def finish(proc: subprocess.Popen[bytes], started: float, peak: Path, limit_s: float = 60) -> Run:
    """Wait for the process and check that nothing secret or broken came out."""
    assert proc.stdout is not None
    assert proc.stderr is not None
    out, err = [b""], [b""]
    readers = [
        threading.Thread(target=lambda: out.append(proc.stdout.read())),  # type: ignore[union-attr]
        threading.Thread(target=lambda: err.append(proc.stderr.read())),  # type: ignore[union-attr]
    ]
    for reader in readers:
        reader.start()
    try:
        proc.wait(limit_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"still running after {limit_s}s")
    seconds = time.monotonic() - started
    peak_kb = int(peak.read_text() or 0)
    peak.unlink()
    for reader in readers:
        reader.join()
    text_out, text_err = out[-1].decode(), err[-1].decode()
    for text in (text_out, text_err):
        assert TOKEN not in text
        assert "Traceback" not in text
    return Run(proc.returncode, text_out, text_err, seconds, peak_kb / 1024)


def run(env: dict[str, str], *args: str) -> Run:
    return finish(*start(env, *args))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "OVERAGE_GRANT_CONFIG": str(tmp_path / "config.json"),
        "CLAUDE_CODE_ORGANIZATION_UUID": ORG,
        "CLAUDE_CODE_OAUTH_TOKEN": TOKEN,
        "CLAUDE_CONFIG_DIR": str(tmp_path / "claude"),
    }


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    """A config with a stale entry (so a refresh asks) and keys of the user's."""
    config = tmp_path / "config.json"
    write_json(
        config, {"keep": list(range(50)), CACHE_KEY: {ORG: {"info": GRANT_BODY, "timestamp": 1}}}
    )
    return config


def beside(config: Path) -> list[str]:
    return sorted(os.listdir(config.parent))


def values_of(config: Path) -> dict[str, object]:
    """The config's values, without the backoff state a failed fetch records."""
    data = json.loads(config.read_bytes())
    assert isinstance(data, dict)
    data.pop(CACHE_KEY + "Backoff", None)
    return data


# -- a raw loopback server that answers as told ------------------------------------------


class RawServer:
    """A loopback TCP server that reads each request's head, then lets `answer` write
    whatever it likes to the socket (slowly, wrongly, forever)."""

    def __init__(self, answer: Callable[[socket.socket], None]) -> None:
        self.answer = answer
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.requests = 0
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.requests += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            with contextlib.suppress(OSError):  # the client hung up: what we wanted
                self.answer(conn)

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()


@contextlib.contextmanager
def serving(answer: Callable[[socket.socket], None]) -> Iterator[RawServer]:
    server = RawServer(answer)
    try:
        yield server
    finally:
        server.close()


def gzip_bomb(expanded_mb: int) -> bytes:
    """`expanded_mb` MiB of spaces, gzipped (about 1 KiB per MiB), built a MiB at a time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    spaces = b" " * MB
    return b"".join([*(packer.compress(spaces) for _ in range(expanded_mb)), packer.flush()])


def bomb_answer(bomb: bytes, encoding: str | None) -> Callable[[socket.socket], None]:
    def answer(conn: socket.socket) -> None:
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        if encoding:
            head += f"Content-Encoding: {encoding}\r\n"
        head += f"Content-Length: {len(bomb)}\r\n\r\n"
        conn.sendall(head.encode() + bomb)

    return answer


def drip_headers(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for i in range(200):
        time.sleep(0.4)
        conn.sendall(f"X-Drip-{i}: still here\r\n".encode())


def drip_body(conn: socket.socket) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    for _ in range(200):
        time.sleep(0.4)
        conn.sendall(b" ")


# -- the attacks -------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", None], ids=["declared-gzip", "undeclared"])
def test_a_gzip_bomb_is_bounded_in_memory_and_time(
    env: dict[str, str], seeded: Path, encoding: str | None
) -> None:
    """300 MiB of spaces in 300 KB of gzip: never decoded (an encoded body is refused; the
    cap counts the bytes that would be parsed), under 200 MB peak, nothing stored."""
    bomb = gzip_bomb(300)
    assert len(bomb) < 400 * 1024
    before = values_of(seeded)
    with serving(bomb_answer(bomb, encoding)) as server:
        result = run({**env, "OVERAGE_GRANT_BASE_URL": server.url}, "refresh")
    assert result.code == 1
    assert "fetch failed payload" in result.err
    assert result.max_rss_mb < 200, result
    assert result.seconds < 30
    assert values_of(seeded) == before  # nothing stored but the org's backoff state
    assert beside(seeded) == ["config.json", "config.json.lease", "config.json.lock", "home"]
    print(f"\ngzip bomb ({encoding}): {result.seconds:.2f}s, max RSS {result.max_rss_mb:.0f} MB")


def test_dripping_headers_and_a_dripping_body_end_at_the_total_deadline(
    env: dict[str, str], tmp_path: Path
) -> None:
    """One header line (or one body byte) every 0.4 s never trips the read timeout; the
    20 s total deadline ends both exchanges, the whole process within 28 s."""
    results: dict[str, Run] = {}
    with serving(drip_headers) as headers, serving(drip_body) as body:
        procs = {}
        for name, server in (("headers", headers), ("body", body)):
            config = tmp_path / name / "config.json"
            config.parent.mkdir()
            procs[name] = start(
                {**env, "OVERAGE_GRANT_BASE_URL": server.url, "OVERAGE_GRANT_CONFIG": str(config)},
                "refresh",
            )
        for name, launched in procs.items():
            results[name] = finish(*launched)
    for name, result in results.items():
        assert result.code == 1, result
        assert "fetch failed timeout" in result.err, result
        assert result.seconds < 28, (name, result.seconds)
        assert result.max_rss_mb < 100
        print(f"\ndripping {name}: {result.seconds:.1f}s, max RSS {result.max_rss_mb:.0f} MB")
        assert values_of(tmp_path / name / "config.json") == {}  # only the backoff state


def _plant(kind: str, path: Path) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        holder = socket.socket(socket.AF_UNIX)
        holder.bind(str(path))
        holder.close()
    elif kind == "directory":
        path.mkdir()
    else:
        path.symlink_to(f"/dev/{kind}")


PLANTS = ["fifo", "socket", "directory", "zero", "null", "urandom"]


@pytest.mark.parametrize("kind", PLANTS)
def test_a_non_regular_file_at_the_config_path_never_blocks(
    env: dict[str, str], tmp_path: Path, kind: str
) -> None:
    """FIFO, socket, directory, devices: every command answers at once with a clear line,
    reads nothing forever, and leaves the thing as it was."""
    config = tmp_path / "config.json"
    _plant(kind, config)
    mode = os.lstat(config).st_mode
    for command in (["show", "--no-refresh"], ["refresh"], ["invalidate"], ["status"], ["show"]):
        result = run(env, *command)
        assert result.seconds < 15, (command, result)
        assert result.code == 1, (command, result)
        assert result.err.count("\n") == 1, result.err
        assert "regular file" in result.err or "directory" in result.err, result.err
        assert result.max_rss_mb < 100
    line = run(env, "statusline")
    assert (line.code, line.out) == (0, "\n")
    assert os.lstat(config).st_mode == mode
    assert beside(config) == ["config.json", "home"]  # no lock, no lease, no temp file


@pytest.mark.parametrize("kind", ["fifo", "zero", "directory"])
@pytest.mark.parametrize("which", ["claude-config", "credentials"])
def test_claude_codes_files_as_non_regular_files_never_block(
    env: dict[str, str], tmp_path: Path, kind: str, which: str
) -> None:
    claude = tmp_path / "claude"
    claude.mkdir()
    target = claude / (".claude.json" if which == "claude-config" else ".credentials.json")
    _plant(kind, target)
    mode = os.lstat(target).st_mode
    env = dict(env)
    if which == "claude-config":
        del env["CLAUDE_CODE_ORGANIZATION_UUID"]
        expected = "no organization"
    else:
        del env["CLAUDE_CODE_OAUTH_TOKEN"]
        expected = "no usable OAuth token"
    result = run({**env, "OVERAGE_GRANT_BASE_URL": "http://127.0.0.1:9"}, "refresh")
    assert result.seconds < 15
    assert result.code == 3, result
    assert expected in result.err
    assert run(env, "statusline").out == "\n"
    assert os.lstat(target).st_mode == mode
    assert sorted(os.listdir(claude)) == [target.name]  # no lock, no temp file


def test_a_planted_lock_symlink_leaves_its_target_intact(env: dict[str, str], seeded: Path) -> None:
    """filelock (>= 3.20.3, which pyproject.toml requires) opens the lock without following
    a symlink: the update fails cleanly and the user's file keeps its bytes."""
    victim = seeded.parent / "precious.txt"
    victim.write_bytes(b"the user's own bytes\n")
    Path(f"{seeded}.lock").symlink_to(victim)
    before = FileState.of(seeded)
    result = run({**env, "OVERAGE_GRANT_BASE_URL": "http://127.0.0.1:9"}, "invalidate")
    assert result.code == 1
    assert "cannot lock config" in result.err
    assert victim.read_bytes() == b"the user's own bytes\n"
    assert FileState.of(seeded) == before


def test_pyproject_requires_a_filelock_that_never_follows_a_lock_symlink() -> None:
    import importlib.metadata
    import re
    import tomllib

    root = Path(__file__).resolve().parents[2]
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    [floor] = [re.fullmatch(r"filelock>=([\d.]+)", d) for d in deps if d.startswith("filelock")]
    assert floor is not None
    version = tuple(int(x) for x in floor.group(1).split("."))
    assert version >= (3, 20, 3)
    installed = importlib.metadata.version("filelock")
    assert tuple(int(x) for x in installed.split(".")[:3]) >= (3, 20, 3)


def test_a_token_with_cr_lf_injects_nothing(env: dict[str, str], seeded: Path) -> None:
    hits: list[bytes] = []
    with serving(lambda conn: hits.append(b"asked")) as server:
        result = run(
            {
                **env,
                "OVERAGE_GRANT_BASE_URL": server.url,
                "CLAUDE_CODE_OAUTH_TOKEN": "abc\r\nX-Evil: 1",
            },
            "refresh",
        )
        assert server.requests == 0
    assert result.code == 3
    assert "token has characters a header forbids" in result.err
    assert "X-Evil" not in result.out + result.err
