"""`Settings.from_env()` and the account: environment variables, Claude Code's files, the
platform's config folder; secrets never shown.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from pytest_httpserver import HTTPServer

from overage_credit_grant.shell import (
    DEFAULT_BASE_URL,
    RefreshStatus,
    Settings,
    refresh_overage_credit_grant_cache,
)
from overage_credit_grant.shell._account import raw_organization, resolve_token

from ..support.backend import TOKEN, MakeSettings
from ..support.clock import Clock
from ..support.files import write_json

ORG = "0f8fad5b-d9cb-469f-a165-70867728950e"


NOW = 1_764_000_000_000


def test_environment_variables_win(tmp_path: Path) -> None:
    env = {
        "OVERAGE_GRANT_CONFIG": str(tmp_path / "c.json"),
        "OVERAGE_GRANT_BASE_URL": "http://127.0.0.1:9",
        "CLAUDE_CODE_ORGANIZATION_UUID": ORG,
        "CLAUDE_CODE_OAUTH_TOKEN": TOKEN,
        "CLAUDE_CONFIG_DIR": str(tmp_path / "claude"),
    }
    s = Settings.from_env(env)
    assert Path(s.config_path) == tmp_path / "c.json"
    assert s.base_url == "http://127.0.0.1:9"
    assert raw_organization(s) == ORG
    assert resolve_token(s, NOW) == TOKEN
    assert TOKEN not in repr(s)


def test_claude_config_dir_supplies_org_and_token(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    claude.mkdir()
    write_json(claude / ".claude.json", {"oauthAccount": {"organizationUuid": ORG}})
    write_json(
        claude / ".credentials.json",
        {"claudeAiOauth": {"accessToken": TOKEN, "expiresAt": NOW + 1}},
    )
    s = Settings.from_env({"CLAUDE_CONFIG_DIR": str(claude)})
    assert s.base_url == DEFAULT_BASE_URL
    assert raw_organization(s) == ORG
    assert resolve_token(s, NOW) == TOKEN
    assert resolve_token(s, NOW + 1) is None  # expired
    assert {Path(p) for p in s.protected_paths} == {
        claude / ".claude.json",
        claude / ".credentials.json",
    }


def test_unusable_credentials_mean_no_token(tmp_path: Path) -> None:
    creds = tmp_path / ".credentials.json"
    s = Settings(config_path=tmp_path / "c.json", credentials_path=creds)
    for content in (
        b"",
        b"{",
        b"[]",
        b'{"claudeAiOauth": []}',
        b'{"claudeAiOauth": {}}',
        b'{"claudeAiOauth": {"accessToken": 5}}',
        b"\xff\xfe",
    ):
        creds.write_bytes(content)
        assert resolve_token(s, NOW) is None


def test_home_defaults_and_the_platform_config_dir(tmp_path: Path) -> None:
    """Without variables: ~/.claude.json, ~/.claude/.credentials.json, the user config dir."""
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    write_json(home / ".claude.json", {"oauthAccount": {"organizationUuid": ORG}})
    write_json(home / ".claude" / ".credentials.json", {"claudeAiOauth": {"accessToken": TOKEN}})
    code = (
        "import json\n"
        "from overage_credit_grant.shell import Settings\n"
        "from overage_credit_grant.shell._account import raw_organization, resolve_token\n"
        "s = Settings.from_env()\n"
        "found = [str(s.config_path), raw_organization(s), resolve_token(s, 0) is not None]\n"
        "print(json.dumps(found))\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    config, org, has_token = json.loads(out)
    assert config.startswith(str(home))
    assert config.endswith(os.path.join("overage-credit-grant", "config.json"))
    assert org == ORG
    assert has_token is True


def test_overrides_replace_single_fields(tmp_path: Path) -> None:
    s = Settings.from_env({}, config_path=tmp_path / "x.json", organization=ORG)
    assert s.config_path == tmp_path / "x.json"
    assert s.organization == ORG


def test_token_comes_from_credentials_file_unless_expired(
    make_settings: MakeSettings,
    tmp_path: Path,
    serve_grant: Callable[..., None],
    httpserver: HTTPServer,
    clock: Clock,
) -> None:
    """claudeAiOauth.accessToken is used until its expiresAt passes."""
    creds = tmp_path / ".credentials.json"
    write_json(creds, {"claudeAiOauth": {"accessToken": TOKEN, "expiresAt": clock.now_ms + 10}})
    serve_grant()
    s = make_settings(token=None, credentials_path=creds)
    assert refresh_overage_credit_grant_cache(s).status is RefreshStatus.WRITTEN
    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {TOKEN}"
    clock.advance(10)
    assert refresh_overage_credit_grant_cache(s).status is RefreshStatus.SKIPPED_NO_CREDENTIALS


def test_settings_repr_never_shows_the_token(make_settings: MakeSettings) -> None:
    s = make_settings(env={"CLAUDE_CODE_OAUTH_TOKEN": TOKEN})
    assert TOKEN not in repr(s)
