"""The shape of the code, checked: imports point one way, no circle of any kind, small
modules, memo tables of one kind, and one list of public names.

The import reader sees every form an import can take: ``import a.b``, ``from a import
b`` (a module or a name), relative imports at any level, imports under ``if
TYPE_CHECKING:`` and imports inside functions (lazy ones close a circle just the same),
and the shell's table of lazily exported names.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"core": "overage_credit_grant.core", "shell": "overage_credit_grant.shell"}
MAX_LINES = 320

# What the core may import at all: nothing that touches the outside world.
CORE_MAY_IMPORT = {"__future__", "collections.abc", "typing", "string", "returns", "hypothesis"}


def module_files() -> dict[str, Path]:
    """Every module of the two packages, by its import name."""
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


MODULES = module_files()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(name: str, node: ast.ImportFrom) -> str:
    """The absolute module a ``from`` import reads from, in the module `name`."""
    if node.level == 0:
        return node.module or ""
    path = MODULES.get(name)
    base = name.split(".")
    if path is None or path.name != "__init__.py":
        base = base[:-1]  # a plain module's relative imports start at its package
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_in(source: str, name: str) -> Iterator[tuple[str, bool]]:
    """(imported module, type-only) for every import in `source`, read as module `name`."""

    def visit(node: ast.AST, type_only: bool) -> Iterator[tuple[str, bool]]:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.body:
                yield from visit(child, True)
            for child in node.orelse:
                yield from visit(child, type_only)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, type_only
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(name, node)
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                yield (submodule if submodule in MODULES else module), type_only
        elif (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets)
        ) or (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "_EXPORTS"
        ):
            table = ast.literal_eval(node.value)  # type: ignore[arg-type]
            for module in table.values():
                yield (name + module if module.startswith(".") else module), False
        for child in ast.iter_child_nodes(node):
            yield from visit(child, type_only)

    yield from visit(ast.parse(source), False)


def graph() -> dict[str, set[str]]:
    """Our modules and the modules of ours each one imports, in any form."""
    return {
        name: {m for m, _ in imports_in(path.read_text(encoding="utf-8"), name) if m in MODULES}
        for name, path in MODULES.items()
    }


def layer_of(module: str) -> tuple[int, str]:
    """The layer of a module and its group. Imports go to a lower layer, or stay within
    their group: core 0; the shell's shared leaves 1; stores and HTTP 2 (apart); the lookup
    machinery at the shell's root 3; the command line 4; the package's export table 5."""
    short = module.removeprefix("overage_credit_grant.")
    if short == "core" or short.startswith("core."):
        return 0, "core"
    if short in ("shell._log", "shell._memo", "shell._outcomes", "shell._places"):
        return 1, "leaves"
    for group, layer in (("shell._store", 2), ("shell._http", 2), ("shell._cli", 4)):
        if short == group or short.startswith(group + "."):
            return layer, group
    return (5, "shell") if short == "shell" else (3, "root")


# -- the reader itself -------------------------------------------------------------------


def test_the_import_reader_sees_every_form() -> None:
    """Absolute, from-a-package-its-module, relative at levels 1 and 2, type-only, lazy,
    and the export table: each is found, and type-only ones are marked."""
    source = """
from typing import TYPE_CHECKING
import overage_credit_grant.shell._memo
from overage_credit_grant.shell import _log
from . import argv
from .._store import port
from .._store.jsonio import parse_config
if TYPE_CHECKING:
    from .._spec import LookupSpec
def later():
    from .._http.client import get_json
_EXPORTS = {"X": "._grant", "Y": "overage_credit_grant.core"}
"""
    shell = "overage_credit_grant.shell"
    found = dict(imports_in(source, f"{shell}._cli.entry"))
    assert found == {
        "typing": False,
        f"{shell}._memo": False,
        f"{shell}._log": False,
        f"{shell}._cli.argv": False,
        f"{shell}._store.port": False,
        f"{shell}._store.jsonio": False,
        f"{shell}._spec": True,
        f"{shell}._http.client": False,
        f"{shell}._cli.entry._grant": False,
        "overage_credit_grant.core": False,
    }
    in_package = dict(imports_in("from . import _grant\nfrom ._store import files", shell))
    assert in_package == {f"{shell}._grant": False, f"{shell}._store.files": False}


# -- the rules -----------------------------------------------------------------------------


def test_there_is_no_import_circle() -> None:
    """No circle, counting type-only and lazy imports and the export table."""
    edges = graph()
    state: dict[str, str] = {}
    path: list[str] = []

    def walk(module: str) -> None:
        state[module] = "open"
        path.append(module)
        for target in sorted(edges[module]):
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


def test_imports_point_down_the_layers() -> None:
    """CLI -> lookup machinery -> stores / HTTP -> shared leaves -> core, never back; the
    stores and HTTP never import each other."""
    wrong = []
    for module, targets in graph().items():
        here = layer_of(module)
        for target in targets:
            there = layer_of(target)
            if there[0] > here[0] or (there[0] == here[0] and there[1] != here[1]):
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_the_core_imports_nothing_of_the_shell_or_the_world() -> None:
    for name, path in MODULES.items():
        if not name.startswith("overage_credit_grant.core"):
            continue
        for module, _ in imports_in(path.read_text(encoding="utf-8"), name):
            if module.startswith("overage_credit_grant."):
                assert module.startswith("overage_credit_grant.core"), f"{name} -> {module}"
            else:
                assert module.split(".")[0] in CORE_MAY_IMPORT or module in CORE_MAY_IMPORT, (
                    f"{name} imports {module}"
                )


def test_modules_stay_small() -> None:
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in MODULES.items()
    }
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_module_level_tables_are_memos_or_say_why() -> None:
    """An empty dict, set or list made at module level is process-wide state: it must be a
    `Memo` (one bounding rule, shell/_memo.py) or say in the comment above it why not."""
    unexplained = []
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.parse("\n".join(lines)).body:
            value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
            empty = (isinstance(value, ast.Dict | ast.Set | ast.List) and not _items(value)) or (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id in ("dict", "set", "list")
                and not value.args
            )
            above = " ".join(lines[max(0, node.lineno - 4) : node.lineno - 1])
            if empty and "Own table" not in above and name != "overage_credit_grant.shell._memo":
                unexplained.append(f"{name}:{node.lineno}")
    assert unexplained == []


def _items(node: ast.Dict | ast.Set | ast.List) -> list[object]:
    return list(node.keys) if isinstance(node, ast.Dict) else list(node.elts)


def test_the_shells_public_names_are_one_list() -> None:
    """`__all__` is made from `_EXPORTS`; the type checker's imports name the same modules;
    every name resolves to the object its module defines."""
    shell = importlib.import_module("overage_credit_grant.shell")
    exports: dict[str, str] = shell._EXPORTS
    assert tuple(shell.__all__) == tuple(exports)
    assert sorted(dir(shell)) == sorted(exports)
    tree = ast.parse((ROOT / "shell" / "__init__.py").read_text(encoding="utf-8"))
    checked: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.body:
                assert isinstance(child, ast.ImportFrom)
                if child.module == "typing":  # what the annotations use, not a public name
                    continue
                for alias in child.names:
                    assert alias.asname == alias.name, "re-export as `import x as x`"
                    if alias.name != "__version__":  # not a name of __all__
                        checked[alias.name] = ("." * child.level) + (child.module or "")
    assert checked == exports
    for name, module in exports.items():
        home = importlib.import_module(module, "overage_credit_grant.shell")
        assert getattr(shell, name) is getattr(home, name)


def test_the_cores_public_names_are_one_list() -> None:
    """The core imports exactly the names `__all__` lists, and nothing else is public."""
    core = importlib.import_module("overage_credit_grant.core")
    tree = ast.parse((ROOT / "core" / "__init__.py").read_text(encoding="utf-8"))
    imported = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module != "__future__"
        for alias in node.names
    }
    assert sorted(core.__all__) == sorted(imported)
    public = {n for n in vars(core) if not n.startswith("_")} - {"annotations", "strategies"}
    assert public | {"__version__"} == set(core.__all__)
