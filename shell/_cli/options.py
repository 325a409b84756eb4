"""From parsed options to `Settings`, and the usage errors an option's value can make.

A value of the wrong form given on the command line (an ``--org`` that is not a UUID, a
``--base-url`` or ``--redis-url`` that does not parse) is a usage error (exit 2) for
every command, found before the command runs. The same value coming from the
environment or Claude Code's files is a setting the command refuses (exit 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from returns.result import Failure

from overage_credit_grant.core import is_valid_org_id

from .._settings import Settings

__all__ = ["UsageError", "settings_of", "usage_problem"]


class UsageError(Exception):
    """The command line itself is wrong (exit 2)."""


def usage_problem(args: Any) -> str | None:
    """What is wrong with the values of the command line's options, or None."""
    if args.org is not None and not is_valid_org_id(args.org):
        return f"--org must be an organization UUID (8-4-4-4-12 hex digits), got {_shown(args.org)}"
    if args.base_url is not None:
        from .._http.client import check_base_url  # noqa: PLC0415  (only when one is given)
        from .._outcomes import FetchErrorKind  # noqa: PLC0415

        checked = check_base_url(args.base_url)
        if isinstance(checked, Failure) and checked.failure().kind is FetchErrorKind.MALFORMED_URL:
            return f"--base-url: {checked.failure().detail}"
    if args.redis_url is not None:
        return _redis_url_problem(args.redis_url)
    return None


def _redis_url_problem(url: str) -> str | None:
    from .._store.redisurl import topology_problem  # noqa: PLC0415  (only when one is given)

    problem = topology_problem(url)
    return None if problem is None else f"--redis-url: {problem}"


def _shown(value: str) -> str:
    return repr(value[:60] + ("..." if len(value) > 60 else ""))


def settings_of(args: Any, env: Mapping[str, str] | None = None) -> Settings:
    """`Settings.from_env(env)` with the command line's options over it."""
    overrides: dict[str, Any] = {}
    if args.config is not None:
        overrides["config_path"] = args.config
    if args.base_url is not None:
        overrides["base_url"] = args.base_url
    if args.org is not None:
        overrides["organization"] = args.org
    if args.redis_url is not None:
        overrides["redis_url"] = args.redis_url
    # One command, one process: a near cache would only cost its listener's connection.
    return Settings.from_env(env, redis_near_cache=False, **overrides)
