"""The documents: each README example runs as a script (on its own, or after the block it
says it continues), the README's exit-code table is the command's, and every file of the
repository that the code or the docs cite is there."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from overage_credit_grant.shell._cli.output import EXIT_CODES

from .support.cli import clean_env
from .support.redis_server import RedisProcess

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CITED = re.compile(r"(?<![\w/.])((?:core|shell|tests|bench|docs|\.ci)/[\w./-]*\w|DESIGN\.md)")


CONTINUES = "# continues the block above"


def readme_programs() -> list[tuple[int, str]]:
    """Each ```python block of the README as the program it is: on its own, or (when its
    first line says it continues the block above) after that block's program."""
    text = README.read_text(encoding="utf-8")
    programs: list[tuple[int, str]] = []
    for match in re.finditer(r"```python\n(.*?)```", text, re.S):
        block = match.group(1)
        line = text.count("\n", 0, match.start()) + 2
        if block.startswith(CONTINUES):
            assert programs, "the first block cannot continue another"
            block = programs[-1][1] + block
        programs.append((line, block))
    return programs


PROGRAMS = readme_programs()


@pytest.mark.parametrize(("line", "program"), PROGRAMS, ids=[str(n) for n, _ in PROGRAMS])
def test_each_readme_example_runs_as_a_script(
    line: int, program: str, tmp_path: Path, redis_server: RedisProcess
) -> None:
    """In a fresh interpreter, with no account and a HOME of its own (the examples that read
    the real environment find nobody logged in), and a real Redis for the Redis example."""
    env = {**clean_env(tmp_path), "OVERAGE_GRANT_REDIS_URL": redis_server.url}
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"README.md line {line}:\n{done.stderr}"
    assert "Traceback" not in done.stderr


def test_every_readme_code_block_is_run_or_shown_on_purpose() -> None:
    """Python examples are ```python (run above); ```py would be shown only, and there is
    none left."""
    assert "```py\n" not in README.read_text(encoding="utf-8")


def test_the_readme_exit_code_table_is_the_commands() -> None:
    text = README.read_text(encoding="utf-8")
    for code, meaning in EXIT_CODES.items():
        assert f"| {code} | {meaning} |" in text


def test_every_file_the_code_and_docs_cite_is_in_the_repository() -> None:
    sources = [README, *ROOT.glob("docs/*.md"), *ROOT.glob("bench/*.md")]
    for folder in ("core", "shell", "tests", "bench", ".ci"):
        sources += [
            p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", "") and p.is_file()
        ]
    missing = set()
    for source in sources:
        for cited in CITED.findall(source.read_text(encoding="utf-8", errors="replace")):
            path = cited.rstrip(".")
            if not (ROOT / path).exists():
                missing.add(f"{source.relative_to(ROOT)} cites {path}")
    assert sorted(missing) == []
