"""The layering of style.md as tests: the core never imports the UI, the UI never talks SQL;
and the code is ruff-clean."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    located = shutil.which(name)
    if located is None:
        pytest.fail(f"{name} is not installed (pip install -e '.[test]')")
    return located


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                "__import__", "import_module") and node.args and isinstance(node.args[0], ast.Constant):
            names.add(str(node.args[0].value))
    return names


def offenders(packages: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in imported_modules(path):
                if name.split(".")[0] in forbidden:
                    found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_import_linter_contracts_hold():
    done = subprocess.run([tool("lint-imports")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 2 kept, 0 broken" in done.stdout or "0 broken" in done.stdout, done.stdout


def test_the_core_never_imports_textual_or_the_ui():
    assert offenders(("ledger", "imports", "reports"), ("textual", "tui", "cli")) == []


def test_the_tui_never_imports_sqlalchemy():
    assert offenders(("tui",), ("sqlalchemy",)) == []


SESSION_ATTRIBUTES = ("reading", "writing", "engine", "session", "_sessions", "_writer_sessions")


def test_the_tui_never_opens_a_session():
    """The TUI calls ledger.services and reports; it never opens a unit of work itself."""
    found = []
    for path in sorted((ROOT / "tui").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in SESSION_ATTRIBUTES:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} uses .{node.attr}")
    assert found == []


def test_the_ast_check_sees_a_forbidden_import(tmp_path):
    """The check above is not vacuous: it finds every form of import."""
    sample = tmp_path / "sample.py"
    sample.write_text("import textual.app\nfrom sqlalchemy import select\nx = __import__('textual')\n")
    assert imported_modules(sample) == {"textual.app", "sqlalchemy", "textual"}


def test_ruff_is_clean():
    done = subprocess.run([tool("ruff"), "check", ".", "--exclude", ".venv", "--no-cache"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


PACKAGES = ("ledger", "imports", "reports", "tui", "cli")


def project_modules() -> dict[str, Path]:
    """Every module of the project's packages by dotted name (a package by its __init__.py)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports anywhere in its text: at the top, inside a
    function, under ``if TYPE_CHECKING`` or through ``__import__``/``import_module`` of a
    constant; ``from package import name`` counts as importing the module ``package.name``
    when there is one."""

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                names.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                    "__import__", "import_module") and node.args and isinstance(node.args[0], ast.Constant):
                names.add(str(node.args[0].value))
        graph[module] = {found for name in names if (found := resolve(name)) and found != module}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in sorted(graph.get(module, ())):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(cycles)


def test_no_module_imports_itself_through_others():
    graph = import_graph(project_modules())
    found = [" <-> ".join(group) + ": " + "; ".join(
        f"{a} imports {b}" for a in group for b in sorted(graph[a] & set(group))) for group in import_cycles(graph)]
    assert found == [], "import cycles:\n" + "\n".join(found)


def test_the_cycle_check_sees_every_form_of_import(tmp_path):
    """The check above is not vacuous: a cycle through a relative import, an import inside a
    function or under TYPE_CHECKING, or ``from package import module`` is found."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from .b import thing\n")
    (package / "b.py").write_text("def f():\n    from pkg.sub import c\n")
    (package / "sub" / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..a import x\n")
    (package / "d.py").write_text("import pkg.a\n")
    modules = {"pkg": package / "__init__.py", "pkg.sub": package / "sub" / "__init__.py",
               **{f"pkg.{n}": package / f"{n}.py" for n in ("a", "b", "d")}, "pkg.sub.c": package / "sub" / "c.py"}
    graph = import_graph(modules)
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.sub.c"} and graph["pkg.sub.c"] == {"pkg.a"}
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c"]]
    (package / "b.py").write_text("x = 1\n")
    assert import_cycles(import_graph(modules)) == []
