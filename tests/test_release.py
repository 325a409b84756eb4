"""What a release ships: one version everywhere, the MIT license in the wheel's metadata,
and a changelog entry for the version."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import zipfile
from pathlib import Path

import overage_credit_grant.core
import overage_credit_grant.shell

from .support.cli import SCRIPT

ROOT = Path(__file__).resolve().parent.parent


def test_one_version_everywhere() -> None:
    version = overage_credit_grant.core.__version__
    assert importlib.metadata.version("overage-credit-grant") == version
    assert overage_credit_grant.shell.__version__ == version
    shown = subprocess.run([SCRIPT, "--version"], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == f"overage-grant {version}"


def test_the_changelog_has_this_version_and_the_first() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{overage_credit_grant.core.__version__}] - " in text
    assert "## [0.1.0] - " in text


def test_the_wheel_carries_the_license_and_the_version(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("overage_credit_grant-*.whl")
    version = overage_credit_grant.core.__version__
    assert wheel.name.startswith(f"overage_credit_grant-{version}-")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        licenses = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert licenses, names
        assert "MIT License" in archive.read(licenses[0]).decode()
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "License-Expression: MIT" in metadata
    assert "License-File: LICENSE" in metadata
    assert any(n.startswith("overage_credit_grant/shell/_cli/") for n in names)
    assert not any(n.startswith(("core/", "shell/", "tests/")) for n in names)
