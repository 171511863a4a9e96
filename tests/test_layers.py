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
