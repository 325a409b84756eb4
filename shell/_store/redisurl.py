"""One URL for every Redis topology, and the redis-py client it names.

* ``redis://[user:password@]host:port/db``, ``rediss://...``, ``unix://...``: one server
  (redis-py's own URL rules);
* ``redis+cluster://[user:password@]host:port[,host:port...]`` (``rediss+cluster://``
  for TLS): a Redis Cluster, found from any of the nodes given;
* ``redis+sentinel://[user:password@]host:port[,host:port...]/service[/db]``
  (``rediss+sentinel://``): the master Sentinel names for `service`, asked of any of the
  Sentinels given. The password is the servers'; a Sentinel's own, when it has one,
  is the ``sentinel_password`` query parameter.

Every call is bounded by `timeout_s` (connect and each read). A single server and a
Sentinel master get no hidden retries; a cluster client follows the redirections a slot
move or a failover sends (MOVED, ASK), a bounded number of times.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

__all__ = ["SCHEMES", "Topology", "client_for", "public_url", "topology_problem"]

PLAIN: Final = ("redis", "rediss", "unix")
CLUSTER: Final = ("redis+cluster", "rediss+cluster")
SENTINEL: Final = ("redis+sentinel", "rediss+sentinel")
SCHEMES: Final = (*PLAIN, *CLUSTER, *SENTINEL)
_DEFAULT_PORT: Final = {"redis+sentinel": 26379, "rediss+sentinel": 26379}


class Topology:
    """What a URL names: its kind, its hosts, and (for Sentinel) the service and db."""

    __slots__ = (
        "db",
        "hosts",
        "kind",
        "password",
        "sentinel_password",
        "service",
        "tls",
        "username",
    )

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            known = ", ".join(f"{s}://" for s in SCHEMES)
            raise ValueError(f"a Redis URL starts with one of {known}")
        self.kind = "plain" if scheme in PLAIN else "cluster" if scheme in CLUSTER else "sentinel"
        self.tls = scheme.startswith("rediss")
        netloc = parts.netloc
        userinfo, _, hostlist = netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        self.username = unquote(user) or None
        self.password = unquote(password) or None
        self.hosts: list[tuple[str, int]] = []
        if self.kind != "plain":
            for item in filter(None, hostlist.split(",")):
                host, _, port = item.rpartition(":") if ":" in item else (item, "", "")
                host = host.strip("[]") or "localhost"
                number = int(port) if port else _DEFAULT_PORT.get(scheme, 6379)
                if not 0 < number < 65536:
                    raise ValueError(f"port {number} is out of range")
                self.hosts.append((host, number))
            if not self.hosts:
                raise ValueError("a cluster or Sentinel URL names at least one host:port")
        path = [p for p in parts.path.split("/") if p]
        self.service = unquote(path[0]) if self.kind == "sentinel" and path else None
        if self.kind == "sentinel" and not self.service:
            raise ValueError("a Sentinel URL names the service: redis+sentinel://host:port/service")
        self.db = int(path[1]) if self.kind == "sentinel" and len(path) > 1 else 0
        query = parse_qs(parts.query)
        given = query.get("sentinel_password")
        self.sentinel_password = given[0] if given else None


def topology_problem(url: str) -> str | None:
    """Why `url` names no Redis we can reach, or None."""
    try:
        parts = urlsplit(url)
        _ = parts.port if parts.scheme.lower() in PLAIN else None
        Topology(url)
    except ValueError as exc:
        return str(exc) or "the Redis URL is malformed"
    if parts.scheme.lower() in ("redis", "rediss") and not parts.hostname:
        return "the Redis URL has no host"
    return None


def public_url(url: str) -> str:
    """The URL without its passwords (the servers' and a Sentinel's)."""
    parts = urlsplit(url)
    userinfo, at, hostlist = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    netloc = (f"{user}@" if user else "") + hostlist if at else parts.netloc
    query = "&".join(
        q for q in parts.query.split("&") if q and not q.startswith("sentinel_password=")
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def client_for(url: str, timeout_s: float) -> Any:
    """The redis-py client `url` names, every call bounded by `timeout_s`: a `Redis`, a
    `RedisCluster`, or a Sentinel's master client (a `Redis` on a Sentinel pool)."""
    import redis  # noqa: PLC0415  (only fleets pay for redis)
    from redis.backoff import NoBackoff  # noqa: PLC0415
    from redis.retry import Retry  # noqa: PLC0415

    topology = Topology(url)
    bounded: dict[str, Any] = {
        "socket_timeout": timeout_s,
        "socket_connect_timeout": timeout_s,
        "username": topology.username,
        "password": topology.password,
    }
    if topology.kind == "plain":
        return redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
        )
    if topology.kind == "cluster":
        from redis import cluster  # noqa: PLC0415

        node: Any = cluster.ClusterNode  # untyped in redis-py
        return cluster.RedisCluster(
            startup_nodes=[node(host, port) for host, port in topology.hosts],
            ssl=topology.tls,
            require_full_coverage=False,
            **bounded,
        )
    from redis import sentinel as sentinels  # noqa: PLC0415

    sentinel_kwargs: dict[str, Any] = {
        "socket_timeout": timeout_s,
        "socket_connect_timeout": timeout_s,
    }
    if topology.tls:
        sentinel_kwargs["ssl"] = True
    if topology.sentinel_password:
        sentinel_kwargs["password"] = topology.sentinel_password
    make: Any = sentinels.Sentinel  # untyped in redis-py
    sentinel = make(topology.hosts, sentinel_kwargs=sentinel_kwargs)
    return sentinel.master_for(
        topology.service,
        db=topology.db,
        ssl=topology.tls,
        retry=Retry(NoBackoff(), 0),
        **bounded,
    )
