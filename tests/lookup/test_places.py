"""Default places without platformdirs (shell/_places.py): where the rule is written out,
it gives exactly the folder platformdirs gives, whatever the environment holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from overage_credit_grant.shell._places import APP_NAME

BOTH = (
    "import json, os, platformdirs\n"
    "from overage_credit_grant.shell._places import default_cache_dir, default_config_path\n"
    f"print(json.dumps([platformdirs.user_config_dir({APP_NAME!r}),"
    f" platformdirs.user_cache_dir({APP_NAME!r}),"
    " default_config_path(os.environ), default_cache_dir(os.environ)]))\n"
)

XDG_VALUES = [None, "", "/x/conf", "/x/conf/", "relative/conf", " /x/spaced ", "~/conf"]


@pytest.mark.parametrize("xdg", XDG_VALUES, ids=repr)
def test_the_written_out_rule_is_platformdirs_rule(tmp_path: Path, xdg: str | None) -> None:
    """In a process whose environment holds HOME and the XDG variable: our folders are
    platformdirs' (the cache folder: where we write one out at all)."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    if xdg is not None:
        env["XDG_CONFIG_HOME"] = env["XDG_CACHE_HOME"] = xdg
    said = subprocess.run(
        [sys.executable, "-c", BOTH], env=env, capture_output=True, text=True, check=True
    ).stdout
    config_dir, cache_dir, ours, our_cache = json.loads(said)
    assert ours == os.path.join(config_dir, "config.json")
    assert our_cache is None or our_cache == cache_dir


def test_on_linux_with_a_plain_home_no_platformdirs_is_imported(tmp_path: Path) -> None:
    if sys.platform != "linux":
        pytest.skip("the rule is written out for Linux and macOS; this checks Linux")
    code = (
        "import sys\n"
        "from overage_credit_grant.shell._places import default_config_path, default_cache_dir\n"
        "env = {'HOME': sys.argv[1]}\n"
        "print(default_config_path(env), default_cache_dir(env))\n"
        "assert 'platformdirs' not in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    config, cache = done.stdout.split()
    assert config == str(tmp_path / ".config" / APP_NAME / "config.json")
    assert cache == str(tmp_path / ".cache" / APP_NAME)
