"""The shape of the code: no import circles, and a core that knows nothing of the shell."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"core": "overage_credit_grant.core", "shell": "overage_credit_grant.shell"}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, package: str) -> set[str]:
    """Every module of the package that `path` imports, at any depth (lazy imports in
    functions count: they close a circle just the same), except type-only imports."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(f"{package}.{node.module}")
            elif node.level == 1:
                found.update(f"{package}.{a.name}" for a in node.names)
            elif node.module and node.module.startswith(package + "."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(package + "."))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).glob("*.py")):
            if path.name == "__init__.py":
                continue  # the package's lazy export table names every module
            edges[f"{package}.{path.stem}"] = imports_of(path, package)
    return edges


def test_there_is_no_import_circle() -> None:
    edges = graph()
    state: dict[str, str] = {}
    path: list[str] = []

    def walk(module: str) -> None:
        state[module] = "open"
        path.append(module)
        for target in sorted(edges.get(module, ())):
            if state.get(target) == "open":
                cycle = [*path[path.index(target) :], target]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if target not in state:
                walk(target)
        path.pop()
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            walk(module)


def test_core_imports_nothing_from_the_shell() -> None:
    for path in (ROOT / "core").glob("*.py"):
        assert "shell" not in " ".join(imports_of(path, "overage_credit_grant")), path
