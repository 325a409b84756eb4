"""Where the account comes from: Claude Code's files, only ever read.

The organization is the explicit setting, else ``oauthAccount.organizationUuid`` in Claude
Code's global config; the token is the explicit setting, else Claude Code's credentials
file unless they have expired. Those files are never locked or written: a cache path that
is (or resolves to) one of them is refused by every writer (`is_protected_path`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

from overage_credit_grant.core import CACHE_KEY, is_valid_org_id

from ._memo import Memo, memo
from ._places import ACCOUNT_KEY, CLAUDE_CODE_KEYS, ORG_ENV, TOKEN_ENV
from ._settings import Settings, StrPath
from ._store.files import read_keys_cached

__all__ = [
    "ACCOUNT_KEY",
    "CLAUDE_CODE_KEYS",
    "claude_code_config",
    "is_protected_path",
    "no_organization",
    "no_token",
    "raw_organization",
    "resolve_token",
    "valid_organization",
]

_MAX_ACCOUNT_FILE_BYTES: Final = 64 * 1024 * 1024
_org_is_valid: Memo[str, bool] = memo("is an organization id valid")


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
    from ._store.jsonio import parse_config, read_regular_file  # noqa: PLC0415  (import-light)

    read = read_regular_file(path, _MAX_ACCOUNT_FILE_BYTES).value_or(None)
    return None if read is None else parse_config(read[1]).value_or(None)


def claude_code_config(settings: Settings, key: str = CACHE_KEY) -> Mapping[str, object]:
    """The top-level keys we use of Claude Code's global config (the account, and `key`'s
    section), or ``{}``. Only these keys are parsed of a large file in Claude Code's own
    layout; what was read is reused while the file's stat signature is unchanged, and
    (`settings.file_check_s`) trusted that long without a `stat`. Never locked or written."""
    path = settings.claude_config_path
    if path is None:
        return {}
    keys = CLAUDE_CODE_KEYS if key in CLAUDE_CODE_KEYS else (*CLAUDE_CODE_KEYS, key)
    # What a search finds is kept in our cache folder (of the settings' HOME) for the next
    # process; settings with no environment keep nothing.
    return read_keys_cached(path, keys, settings.file_check_s, settings.env).value_or({})


def raw_organization(
    settings: Settings, claude_code: Mapping[str, object] | None = None
) -> str | None:
    """The organization id as configured (not yet validated), or None when there is none:
    the explicit setting, else ``oauthAccount.organizationUuid`` of Claude Code's config
    (`claude_code`, when the caller has it already read)."""
    if settings.organization is not None:
        return settings.organization
    if claude_code is None:
        claude_code = claude_code_config(settings)
    account = claude_code.get(ACCOUNT_KEY)
    org = account.get("organizationUuid") if isinstance(account, Mapping) else None
    return org if isinstance(org, str) and org else None


def valid_organization(
    settings: Settings, claude_code: Mapping[str, object] | None = None
) -> str | None:
    """The organization id when one is configured and is a canonical UUID."""
    org = raw_organization(settings, claude_code)
    if org is None:
        return None
    valid = _org_is_valid.get(org)
    if valid is None:
        valid = _org_is_valid.put(org, is_valid_org_id(org))
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


def no_organization(settings: Settings) -> str:
    """Why there is no organization, and where one would come from."""
    where = settings.claude_config_path
    login = f"oauthAccount in {os.fspath(where)}" if where is not None else "Claude Code's login"
    return f"no organization: set {ORG_ENV} or --org, or log in to Claude Code ({login})"


def no_token(settings: Settings) -> str:
    """Why there is no usable OAuth token, and where one would come from."""
    where = settings.credentials_path
    login = f"claudeAiOauth in {os.fspath(where)}" if where is not None else "Claude Code's login"
    return (
        f"no usable OAuth token: set {TOKEN_ENV}, or log in to Claude Code ({login}; "
        "an expired token is not used)"
    )
