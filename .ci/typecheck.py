"""mypy --strict on the package under its import names; the one place the mirror is built.

    python .ci/typecheck.py [MYPY OPTION | FILE ...]

`core/` and `shell/` install as `overage_credit_grant.core` and `.shell` (setuptools'
package-dir mapping), which mypy cannot follow from the source tree. This script builds a
throw-away folder where those names are symlinks to the two folders, and runs mypy there:
on the whole package when no file is named, else on the named files (which may import
the package). `.ci/run` and the tests call it; its exit code is mypy's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"core": "overage_credit_grant.core", "shell": "overage_credit_grant.shell"}


def main(argv: list[str]) -> int:
    options = [a for a in argv if a.startswith("-")]
    files = [os.path.abspath(a) for a in argv if not a.startswith("-")]
    targets = files or [arg for name in PACKAGES.values() for arg in ("-p", name)]
    with tempfile.TemporaryDirectory(prefix="typecheck-") as mirror:
        package = Path(mirror, "overage_credit_grant")
        package.mkdir()
        for folder in PACKAGES:
            (package / folder).symlink_to(ROOT / folder)
        command = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")]
        env = {**os.environ, "MYPYPATH": mirror}
        return subprocess.call([*command, *options, *targets], cwd=mirror, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
