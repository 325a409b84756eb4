"""The documents: the README's Python examples run as written, and every file of the
repository that the code or the docs cite is there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CITED = re.compile(r"(?<![\w/.])((?:core|shell|tests|bench|docs|\.ci)/[\w./-]*\w|DESIGN\.md)")


def test_readme_python_examples_run() -> None:
    """Each ```python block runs, in order, in one namespace (```py blocks touch the
    real environment and are only shown)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)


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
