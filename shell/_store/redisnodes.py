"""The servers behind one redis-py client: which primaries hold our keys now, how to open a
listener connection to each, and how a Sentinel client follows its master.

Three kinds of client, told apart by what they are (no configuration):

* a `RedisCluster`: the primaries are its slot map's; `current()` reads the map the
  client holds (no I/O), `refresh()` asks a node for ``CLUSTER SLOTS`` and has the client
  rebuild its map when the primaries differ (a failover, a node added);
* a Sentinel master client (a `Redis` on a `SentinelConnectionPool`): one primary, the
  master the Sentinels name; `refresh()` asks them, and when they name another master,
  the client's idle connections are dropped and the busy ones on release (redis-py's
  own pool rule), so its next command goes to the new one;
* anything else (`Redis` on a TCP or Unix socket): one server, which never moves.

`follow_master()` is that Sentinel question alone; the write path asks it before every
write, so no host keeps writing to a master that Sentinel has demoted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Nodes", "kind_of"]

Connect = Callable[[], Any]

# What a pool carries for its own use, not a listener's (bookkeeping, RESP3 notices, the
# cluster's own on-connect hook, the Sentinel proxy).
_POOL_ONLY = (
    "maint_notifications",
    "orig_",
    "himport",
    "redis_connect_func",
    "oss_cluster",
    "connection_pool",
)


def kind_of(client: Any) -> str:
    """``"cluster"``, ``"sentinel"`` or ``"plain"``."""
    if hasattr(client, "nodes_manager") and hasattr(client, "get_primaries"):
        return "cluster"
    pool = getattr(client, "connection_pool", None)
    if pool is not None and hasattr(pool, "get_master_address"):
        return "sentinel"
    return "plain"


def _connect_like(pool: Any, address: tuple[str, int] | None = None) -> Connect:
    """A factory of new connections like `pool`'s (to `address` when given), in RESP2."""
    import redis  # noqa: PLC0415

    kwargs = {k: v for k, v in pool.connection_kwargs.items() if not k.startswith(_POOL_ONLY)}
    cls = pool.connection_class
    if cls.__name__.startswith("SentinelManaged"):  # a plain connection to a known address
        cls = redis.SSLConnection if issubclass(cls, redis.SSLConnection) else redis.Connection
    if address is not None:
        kwargs["host"], kwargs["port"] = address
    kwargs["protocol"] = 2
    return lambda: cls(**kwargs)


class Nodes:
    """The primaries of one client, as ``name -> connection factory``."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.kind = kind_of(client)

    def names(self) -> set[str]:
        """The names of the primaries the client knows now (no I/O, nothing built)."""
        if self.kind == "cluster":
            return {node.name for node in self.client.get_primaries()}
        if self.kind == "sentinel":
            address = self.client.connection_pool.master_address
            return set() if address is None else {f"{address[0]}:{address[1]}"}
        return {"server"}

    def current(self) -> dict[str, Connect]:
        """The primaries as the client knows them now (no I/O)."""
        if self.kind == "cluster":
            return {
                node.name: _connect_like(node.redis_connection.connection_pool)
                for node in self.client.get_primaries()
                if node.redis_connection is not None
            }
        pool = self.client.connection_pool
        if self.kind == "sentinel":
            address = pool.master_address
            if address is None:
                return {}
            return {f"{address[0]}:{address[1]}": _connect_like(pool, tuple(address))}
        return {"server": _connect_like(pool)}

    def refresh(self) -> dict[str, Connect]:
        """The primaries, asked of the servers (raises a redis-py error when none answers)."""
        if self.kind == "cluster":
            slots = self.client.cluster_slots(target_nodes=self.client.RANDOM)
            named = {f"{s['primary'][0]}:{s['primary'][1]}" for s in slots.values()}
            if named != set(self.current()):
                self.client.nodes_manager.initialize()
        elif self.kind == "sentinel":
            self.follow_master()
        return self.current()

    def follow_master(self) -> None:
        """A Sentinel client: point the client at the master the Sentinels name now; a
        redis-py error when none answers, or while a failover is under way. Others:
        nothing to do.

        In a failover the replica is promoted first, and the Sentinels go on naming the
        old master, which stays up and accepts writes, for seconds: writes that the new
        master never sees. So a write goes ahead only when a Sentinel says no failover
        of the service is in progress (its ``failover_in_progress`` flag), and then to
        the master it names; during a failover, writes fail (the caller's outcome says
        the store is unavailable) rather than be lost."""
        if self.kind != "sentinel":
            return
        import redis  # noqa: PLC0415

        pool = self.client.connection_pool
        state = self._sentinel_state(pool)
        if state is not None and "failover_in_progress" in str(state.get("flags", "")):
            raise redis.ConnectionError("a Sentinel failover is under way")
        pool.get_master_address()  # redis-py's own rule: repoint when the master moved

    @staticmethod
    def _sentinel_state(pool: Any) -> dict[str, Any] | None:
        """``SENTINEL MASTER <service>`` from the first Sentinel that answers."""
        for sentinel in pool.sentinel_manager.sentinels:
            try:
                state: dict[str, Any] = sentinel.sentinel_master(pool.service_name)
            except Exception:  # noqa: S112  (the next Sentinel may answer)
                continue
            return state
        return None
