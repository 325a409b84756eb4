"""Where things are by default, and the environment variables that say otherwise.

A leaf: it imports nothing but `os` and `sys` at load, so the status line's fast path can
use it without loading the rest of the package. `platformdirs` is imported only on the
platforms whose rules are not written out here.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Final

__all__ = [
    "ACCOUNT_KEY",
    "APP_NAME",
    "BASE_URL_ENV",
    "CLAUDE_CODE_KEYS",
    "CLAUDE_DIR_ENV",
    "CONFIG_ENV",
    "NEAR_CACHE_ENV",
    "ORG_ENV",
    "PRIVACY_ENV",
    "REDIS_URL_ENV",
    "RENDER_ENV",
    "TOKEN_ENV",
    "claude_paths",
    "default_cache_dir",
    "default_config_path",
]

APP_NAME: Final = "overage-credit-grant"
CONFIG_ENV: Final = "OVERAGE_GRANT_CONFIG"
BASE_URL_ENV: Final = "OVERAGE_GRANT_BASE_URL"
REDIS_URL_ENV: Final = "OVERAGE_GRANT_REDIS_URL"
NEAR_CACHE_ENV: Final = "OVERAGE_GRANT_REDIS_NEAR_CACHE"
ORG_ENV: Final = "CLAUDE_CODE_ORGANIZATION_UUID"
TOKEN_ENV: Final = "CLAUDE_CODE_OAUTH_TOKEN"  # noqa: S105  (a variable name)
CLAUDE_DIR_ENV: Final = "CLAUDE_CONFIG_DIR"
PRIVACY_ENV: Final = "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"  # the core's switch
# What we read of Claude Code's global config: the account, and the grant's cache, which
# Claude Code keeps too (the core's CACHE_KEY). One reading serves both.
ACCOUNT_KEY: Final = "oauthAccount"
CLAUDE_CODE_KEYS: Final = (ACCOUNT_KEY, "overageCreditGrantCache")
# Every variable a status line render depends on (which files, which account, whether
# it may ask the network), and none that holds a secret.
RENDER_ENV: Final = (
    CONFIG_ENV,
    BASE_URL_ENV,
    ORG_ENV,
    CLAUDE_DIR_ENV,
    PRIVACY_ENV,
    "HOME",
    "XDG_CONFIG_HOME",
)


def claude_paths(env: Mapping[str, str]) -> tuple[str, str]:
    """Claude Code's global config and credentials file, as Claude Code finds them."""
    claude_dir = env.get(CLAUDE_DIR_ENV) or ""
    if claude_dir:
        return os.path.join(claude_dir, ".claude.json"), os.path.join(
            claude_dir, ".credentials.json"
        )
    home = env.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, ".claude.json"), os.path.join(home, ".claude", ".credentials.json")


def _written_out(env: Mapping[str, str], linux: str, darwin: str) -> str | None:
    """The user folder `platformdirs` gives on Linux (``$XDG_...`` or ``~/<linux>``) and on
    macOS (``~/<darwin>``), where the rule is that simple; None elsewhere."""
    home = env.get("HOME", "")
    if (
        not home.startswith("/")
        or hasattr(sys, "getandroidapilevel")
        or "ANDROID_DATA" in os.environ
    ):
        return None
    variable = "XDG_CONFIG_HOME" if linux == ".config" else "XDG_CACHE_HOME"
    xdg = env.get(variable, "")
    if sys.platform == "linux" and (not xdg or (xdg.startswith("/") and xdg == xdg.strip())):
        return xdg or os.path.join(home, linux)
    if sys.platform == "darwin" and not xdg:
        return os.path.join(home, darwin)
    return None


def default_config_path(env: Mapping[str, str]) -> str:
    """``<user config dir>/overage-credit-grant/config.json``, the folder as `platformdirs`
    gives it. Its rule is written out where it is two lines (Linux and macOS, with an
    absolute HOME and no unusual ``XDG_CONFIG_HOME``), so a status line need not import
    platformdirs and all it loads; anything else asks platformdirs."""
    base = _written_out(env, ".config", os.path.join("Library", "Application Support"))
    if base is not None:
        return os.path.join(base, APP_NAME, "config.json")
    import platformdirs  # noqa: PLC0415  (the rules of every other case)

    return os.path.join(platformdirs.user_config_dir(APP_NAME), "config.json")


def default_cache_dir(env: Mapping[str, str]) -> str | None:
    """``<user cache dir>/overage-credit-grant`` on Linux and macOS; None elsewhere."""
    base = _written_out(env, ".cache", os.path.join("Library", "Caches"))
    return None if base is None else os.path.join(base, APP_NAME)
