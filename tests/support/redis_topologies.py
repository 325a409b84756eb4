"""Real Redis topologies on loopback, started and stopped by the tests (and the bench):
a Redis Cluster (`ClusterProcesses`), and a master with a replica watched by a Sentinel
(`SentinelProcesses`). Every server is a plain `redis-server`; the cluster is joined by
``redis-cli --cluster create``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from overage_credit_grant.core import CACHE_KEY, GRANT_CACHE, GrantInfo
from overage_credit_grant.shell import RedisStore, UpdateStatus

from .redis_server import RedisProcess, free_port, redis_binary


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too."""
    for _ in range(200):
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


def redis_cli() -> str:
    """The redis-cli to set topologies up with; skips the test where there is none (fails
    under CI, whose .ci/run installs it)."""
    found = shutil.which("redis-cli")
    if found is None:
        import pytest  # the bench uses this module without pytest

        if os.environ.get("CI"):
            pytest.fail("redis-cli is missing: .ci/run installs it from Debian's packages")
        pytest.skip("redis-cli is not installed (apt-get install redis-tools)")
    return found


def _ask(port: int, *command: str, timeout_s: float = 2.0) -> str:
    """One command through redis-cli, its answer as text."""
    cli = redis_cli()
    done = subprocess.run(
        [cli, "-h", "127.0.0.1", "-p", str(port), *command],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    return done.stdout.strip()


def _wait(check: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():  # type: ignore[operator]
                return
        time.sleep(0.05)
    raise RuntimeError(f"timed out: {what}")


class ClusterProcesses:
    """`masters` cluster masters, each with `replicas` replicas, on loopback."""

    def __init__(self, masters: int = 3, replicas: int = 0, node_timeout_ms: int = 1000) -> None:
        self.binary = redis_binary()
        redis_cli()
        self.folder = Path(tempfile.mkdtemp(prefix="redis-cluster-"))
        self.node_timeout_ms = node_timeout_ms
        self.masters, self.replicas = masters, replicas
        self.ports = [_cluster_port() for _ in range(masters * (1 + replicas))]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports[:2])

    def start_node(self, port: int) -> None:
        folder = self.folder / str(port)
        folder.mkdir(exist_ok=True)
        options = {
            "port": str(port),
            "bind": "127.0.0.1",
            "cluster-enabled": "yes",
            "cluster-config-file": str(folder / "nodes.conf"),
            "cluster-node-timeout": str(self.node_timeout_ms),
            "save": "",
            "appendonly": "no",
            "dir": str(folder),
            "protected-mode": "no",
            "repl-diskless-sync-delay": "0",  # replicas sync at once, not after 5 s
        }
        self.procs[port] = subprocess.Popen(
            [self.binary, *(x for k, v in options.items() for x in (f"--{k}", v))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(lambda: _ask(port, "PING") == "PONG", 10, f"node {port} answers")

    def start(self) -> ClusterProcesses:
        for port in self.ports:
            self.start_node(port)
        cli = redis_cli()
        nodes = [f"127.0.0.1:{p}" for p in self.ports]
        subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *nodes,
                "--cluster-replicas",
                str(self.replicas),
                "--cluster-yes",
            ],
            capture_output=True,
            timeout=60,
            check=True,
        )
        _wait(self.healthy, 30, "the cluster is ok on every node")
        _wait(self.replicas_in_sync, 30, "every replica is in sync with its master")
        return self

    def replicas_in_sync(self) -> bool:
        """Every replica has synced (a replica that never did cannot take over)."""
        return all(
            "master_link_status:up" in _ask(p, "INFO", "replication")
            for p in self.procs
            if self.alive(p) and self.role(p) == "slave"
        )

    def healthy(self) -> bool:
        return all(
            "cluster_state:ok" in _ask(p, "CLUSTER", "INFO") for p in self.procs if self.alive(p)
        )

    def alive(self, port: int) -> bool:
        proc = self.procs.get(port)
        return proc is not None and proc.poll() is None

    def master_ports(self) -> list[int]:
        """The ports of the nodes that are masters now."""
        return [p for p in self.procs if self.alive(p) and _ask(p, "ROLE").startswith("master")]

    def owned_slots(self, port: int) -> set[int]:
        """The slots the master at `port` serves."""
        import redis

        client = redis.Redis(port=port)
        owned: set[int] = set()
        for start, end, master, *_replicas in client.execute_command("CLUSTER", "SLOTS"):
            if master[1] == port:
                owned.update(range(start, end + 1))
        client.close()
        return owned

    def role(self, port: int) -> str:
        return _ask(port, "ROLE").splitlines()[0] if self.alive(port) else "dead"

    def kill(self, port: int) -> None:
        proc = self.procs.pop(port, None)
        if proc is not None:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        for port in list(self.procs):
            self.kill(port)
        shutil.rmtree(self.folder, ignore_errors=True)


class SentinelProcesses:
    """A master, a replica and one Sentinel watching them as `service`."""

    def __init__(self, service: str = "grants", down_after_ms: int = 1000) -> None:
        self.binary = redis_binary()
        redis_cli()
        self.service = service
        self.down_after_ms = down_after_ms
        self.master = RedisProcess(self.binary)
        self.replica = RedisProcess(self.binary)
        self.sentinel_port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="redis-sentinel-"))
        self.sentinel: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{self.service}"

    def start(self) -> SentinelProcesses:
        self.master.start()
        self.replica.start()
        _ask(self.replica.port, "REPLICAOF", "127.0.0.1", str(self.master.port))
        _wait(
            lambda: "master_link_status:up" in _ask(self.replica.port, "INFO", "replication"),
            20,
            "the replica is in sync",
        )
        conf = self.folder / "sentinel.conf"
        conf.write_text(
            f"port {self.sentinel_port}\n"
            "bind 127.0.0.1\n"
            "protected-mode no\n"
            f"dir {self.folder}\n"
            f"sentinel monitor {self.service} 127.0.0.1 {self.master.port} 1\n"
            f"sentinel down-after-milliseconds {self.service} {self.down_after_ms}\n"
            f"sentinel failover-timeout {self.service} 5000\n"
            f"sentinel parallel-syncs {self.service} 1\n"
        )
        self.sentinel = subprocess.Popen(
            [self.binary, str(conf), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(lambda: self.master_port() == self.master.port, 20, "the Sentinel sees the master")
        _wait(lambda: self.replicas_known() >= 1, 20, "the Sentinel sees the replica")
        return self

    def master_port(self) -> int:
        answer = _ask(
            self.sentinel_port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service
        ).split()
        return int(answer[1]) if len(answer) == 2 else 0

    def replicas_known(self) -> int:
        answer = _ask(self.sentinel_port, "SENTINEL", "REPLICAS", self.service)
        return answer.count("slave")

    def role(self, port: int) -> str:
        """Redis's word for the role of the server at `port` now: master or slave."""
        return _ask(port, "ROLE").splitlines()[0]

    def failover(self) -> None:
        """A manual failover: the replica promoted while the old master stays up (asked
        again while the Sentinel is not ready to, say, "NOGOODSLAVE")."""
        _wait(
            lambda: _ask(self.sentinel_port, "SENTINEL", "FAILOVER", self.service) == "OK",
            20,
            "the Sentinel starts the failover",
        )

    def stop(self) -> None:
        if self.sentinel is not None:
            self.sentinel.kill()
            self.sentinel.wait()
        self.master.stop()
        self.replica.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def put_grant(store: RedisStore, org: str, amount: int) -> UpdateStatus:
    """Store a grant of `amount` for `org`, stamped by the store's clock, as a host does."""
    info = GrantInfo(True, True, False, amount, "USD")
    now = store.now_ms()
    return store.update(
        lambda prev: GRANT_CACHE.after_refresh(prev, org, info, now), org, (CACHE_KEY,)
    ).status
