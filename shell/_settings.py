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

if TYPE_CHECKING:
    from ._store.port import Store

__all__ = [
    "DEFAULT_BASE_URL",
    "Settings",
    "StrPath",
    "wall_clock_ms",
]

StrPath: TypeAlias = "str | os.PathLike[str]"  # a str or a pathlib.Path, as you like

DEFAULT_BASE_URL: Final = "https://api.anthropic.com"
CONFIG_ENV: Final = "OVERAGE_GRANT_CONFIG"
BASE_URL_ENV: Final = "OVERAGE_GRANT_BASE_URL"
REDIS_URL_ENV: Final = "OVERAGE_GRANT_REDIS_URL"
NEAR_CACHE_ENV: Final = "OVERAGE_GRANT_REDIS_NEAR_CACHE"
ORG_ENV: Final = "CLAUDE_CODE_ORGANIZATION_UUID"
TOKEN_ENV: Final = "CLAUDE_CODE_OAUTH_TOKEN"  # noqa: S105  (a variable name)
CLAUDE_DIR_ENV: Final = "CLAUDE_CONFIG_DIR"
_APP_NAME: Final = "overage-credit-grant"


def wall_clock_ms() -> int:
    """Milliseconds since the Unix epoch, from the system clock."""
    return time.time_ns() // 1_000_000


class Settings(Record):
    """Everything the shell needs, explicit. Build one per app, or use `from_env()`.

    `organization` and `token`, when given, win over Claude Code's files. `token`,
    `env` and `session` are left out of `repr` so a logged `Settings` leaks nothing.
    `store`, when given, replaces the JSON file store; `redis_url` selects the shared
    Redis store (`store_timeout_s` bounds each of its calls; `redis_near_cache` keeps the
    records read in memory, coherent through Redis's invalidations: on by default, off
    with ``OVERAGE_GRANT_REDIS_NEAR_CACHE=0``).
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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """The defaults, read from `env` (the process environment if None)."""
        env = dict(os.environ) if env is None else dict(env)
        claude_dir = env.get(CLAUDE_DIR_ENV) or ""
        if claude_dir:
            claude_config = os.path.join(claude_dir, ".claude.json")
            credentials = os.path.join(claude_dir, ".credentials.json")
        else:
            home = os.path.expanduser("~")
            claude_config = os.path.join(home, ".claude.json")
            credentials = os.path.join(home, ".claude", ".credentials.json")
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
            fields["config_path"] = config or _default_config_path()
        return cls(**fields)


def _default_config_path() -> str:
    import platformdirs  # noqa: PLC0415  (only when no path is configured)

    return os.path.join(platformdirs.user_config_dir(_APP_NAME), "config.json")
