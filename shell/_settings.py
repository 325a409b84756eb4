"""Where everything comes from: the config file, the account, the backend, the clock.

`Settings` is a frozen value; `Settings.from_env()` resolves the defaults exactly as
DESIGN.md says. Nothing here touches the network. The account sources (Claude Code's
global config and credentials file) are only ever *read*, never locked or written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from overage_credit_grant.core import is_valid_org_id
from overage_credit_grant.core._record import Record, field

if TYPE_CHECKING:
    from ._port import Store

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
_MAX_ACCOUNT_FILE_BYTES: Final = 64 * 1024 * 1024


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
        """The defaults of DESIGN.md, read from `env` (the process environment if None)."""
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


def is_protected_path(path: StrPath, protected: tuple[StrPath, ...]) -> bool:
    """True when `path` is, or resolves to, one of Claude Code's own files.

    Besides the files named in `protected`, any file named like Claude Code's global
    config or credentials (or their backups and lock) is refused wherever it lives.
    """
    target = os.path.realpath(path)
    name = os.path.basename(target)
    names = (".claude.json", ".credentials.json")
    if any(name == n or name.startswith(n + ".") for n in names):
        return True
    return any(target == os.path.realpath(p) for p in protected)


def _read_json_object(path: StrPath | None) -> Mapping[str, object] | None:
    """A JSON object read from `path`, or None when missing, unreadable or malformed."""
    if path is None:
        return None
    from ._jsonio import parse_config, read_regular_file  # noqa: PLC0415  (import-light)

    read = read_regular_file(path, _MAX_ACCOUNT_FILE_BYTES).value_or(None)
    return None if read is None else parse_config(read[1]).value_or(None)


def raw_organization(settings: Settings) -> str | None:
    """The organization id as configured (not yet validated), or None when there is none.

    Claude Code's global config can be large, so its parse is reused while the file's
    stat signature is unchanged (the same cache the config store uses).
    """
    if settings.organization is not None:
        return settings.organization
    if settings.claude_config_path is None:
        return None
    from ._store import read_json_cached  # noqa: PLC0415  (keeps settings import-light)

    config = read_json_cached(settings.claude_config_path).value_or({})
    account = config.get("oauthAccount")
    org = account.get("organizationUuid") if isinstance(account, Mapping) else None
    return org if isinstance(org, str) and org else None


_checked_orgs: dict[str, bool] = {}


def valid_organization(settings: Settings) -> str | None:
    """The organization id when one is configured and is a canonical UUID."""
    org = raw_organization(settings)
    if org is None:
        return None
    valid = _checked_orgs.get(org)
    if valid is None:
        if len(_checked_orgs) >= 256:
            _checked_orgs.clear()
        valid = _checked_orgs[org] = is_valid_org_id(org)
    return org if valid else None


def resolve_token(settings: Settings, now_ms: int) -> str | None:
    """The bearer token: explicit, else Claude Code's credentials unless they expired."""
    if settings.token:
        return settings.token
    creds = _read_json_object(settings.credentials_path)
    oauth = creds.get("claudeAiOauth") if creds is not None else None
    if not isinstance(oauth, Mapping):
        return None
    token = oauth.get("accessToken")
    expires = oauth.get("expiresAt")
    if isinstance(expires, int | float) and not isinstance(expires, bool) and expires <= now_ms:
        return None
    return token if isinstance(token, str) and token else None
