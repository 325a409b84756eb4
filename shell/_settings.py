"""Where everything comes from: the config file, the account, the backend, the clock.

`Settings` is a frozen value; `Settings.from_env()` resolves the defaults the README
lists (environment variables, else Claude Code's files, else the platform's config folder).
Nothing here touches the network. The account sources (Claude Code's
global config and credentials file) are only ever *read*, never locked or written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from overage_credit_grant.core._record import Record, field

from ._places import (
    BASE_URL_ENV,
    CONFIG_ENV,
    NEAR_CACHE_ENV,
    ORG_ENV,
    REDIS_URL_ENV,
    TOKEN_ENV,
    claude_paths,
    default_config_path,
)

if TYPE_CHECKING:
    from ._store.port import Store

__all__ = [
    "DEFAULT_BASE_URL",
    "Settings",
    "StrPath",
    "now_ms",
    "wall_clock_ms",
]

StrPath: TypeAlias = "str | os.PathLike[str]"  # a str or a pathlib.Path, as you like

DEFAULT_BASE_URL: Final = "https://api.anthropic.com"


def wall_clock_ms() -> int:
    """Milliseconds since the Unix epoch, from the system clock."""
    return time.time_ns() // 1_000_000


def now_ms(s: Settings, store: Store) -> int:
    """Now, by the clock the store's entries are stamped and judged with: an injected
    `Settings.clock` as it is (every store, every host of a test shares it); the default
    clock means the store's own (`Store.now_ms`: the machine's for a file, the Redis
    server's for a fleet)."""
    clock = s.clock
    return store.now_ms() if clock is wall_clock_ms else clock()


class Settings(Record):
    """Everything the shell needs, explicit. Build one per app, or use `from_env()`.

    `organization` and `token`, when given, win over Claude Code's files. `token`,
    `env` and `session` are left out of `repr` so a logged `Settings` leaks nothing.
    `store`, when given, replaces the JSON file store; `redis_url` selects the shared
    Redis store (`store_timeout_s` bounds each of its calls; `redis_near_cache` keeps the
    records read in memory, coherent through Redis's invalidations: on by default, off
    with ``OVERAGE_GRANT_REDIS_NEAR_CACHE=0``). `file_check_s`: how long a lock-free read
    trusts its last look at a file (our config, Claude Code's) before it looks again: a
    change another process makes is seen within that time, and this process's own writes
    at once; 0 looks every time. `clock`: left as the default, entries are stamped and
    judged by the store's clock (`now_ms`: the Redis server's on a fleet, so hosts whose
    clocks disagree still agree on what is fresh); injected, it is used as it is.
    """

    config_path: StrPath
    organization: str | None = None
    token: str | None = field(default=None, repr=False)
    claude_config_path: StrPath | None = None
    credentials_path: StrPath | None = None
    base_url: str = DEFAULT_BASE_URL
    connect_timeout_s: float = 3.05
    read_timeout_s: float = 10.0
    total_timeout_s: float = 20.0
    max_response_bytes: int = 64 * 1024
    lock_timeout_s: float = 10.0
    backoff_base_ms: int = 60_000
    backoff_cap_ms: int = 60 * 60 * 1000
    clock: Callable[[], int] = wall_clock_ms
    session: Any = field(default=None, repr=False)  # a requests.Session, or None for a new one
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    protected_paths: tuple[StrPath, ...] = ()
    store: Store | None = field(default=None, repr=False)
    redis_url: str | None = field(default=None, repr=False)  # may carry a password
    store_timeout_s: float = 1.0
    redis_near_cache: bool = True
    file_check_s: float = 0.25

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """The defaults, read from `env` (the process environment if None)."""
        env = dict(os.environ) if env is None else dict(env)
        claude_config, credentials = claude_paths(env)
        config = env.get(CONFIG_ENV) or ""
        fields: dict[str, Any] = {
            "organization": env.get(ORG_ENV) or None,
            "token": env.get(TOKEN_ENV) or None,
            "claude_config_path": claude_config,
            "credentials_path": credentials,
            "base_url": env.get(BASE_URL_ENV) or DEFAULT_BASE_URL,
            "redis_url": env.get(REDIS_URL_ENV) or None,
            "redis_near_cache": env.get(NEAR_CACHE_ENV, "").strip().lower()
            not in ("0", "false", "no", "off"),
            "env": env,
            "protected_paths": (claude_config, credentials),
            **overrides,
        }
        if "config_path" not in fields:
            fields["config_path"] = config or default_config_path(env)
        return cls(**fields)
