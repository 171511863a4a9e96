"""The docs point at code that exists, and the project cites only its own docs.

Every `path.py::name` in docs/*.md must name a file of the project and a function, class or
constant defined in it (`Class.method` for a method), and every backquoted `path.py` a file that
exists, so that the docs never point at code that has moved; every rule (bullet) of
docs/rules.md names the code that implements it and a test that proves it. No tracked file cites the
specification files the project was written from: a clone of the project does not have them,
so docs/rules.md is where the rules are.
"""

from __future__ import annotations

import ast
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
PROJECT_DIRS = ("ledger", "imports", "reports", "tui", "cli", "tests", "bench")
# `tests/test_rules.py::test_name`, `ledger/money.py::largest_remainder`, `ledger/x.py::Class.method`,
# or a bare `bench/run_all.py`
REFERENCE = re.compile(r"`((?:" + "|".join(PROJECT_DIRS) + r")/[\w/]+\.py)(?:::([\w.]+))?`")
# what a clone of the project does not have (spelled in two parts so that this file does not cite them)
OUTSIDE = ("shared" + "/spec", "../" + "shared/", "domain" + ".md", "interfaces" + ".md")
CHECKED_TREES = (*PROJECT_DIRS, "docs", "README.md")


def references() -> list[tuple[str, int, str, str | None]]:
    found = []
    for doc in DOCS:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
            for match in REFERENCE.finditer(line):
                found.append((doc.name, number, match.group(1), match.group(2)))
    return found


@cache
def defined_names(path: Path) -> frozenset[str]:
    """Top-level functions, classes and assigned names, and ``Class.member`` for class bodies."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()

    def targets(node) -> list[str]:
        if isinstance(node, ast.Assign):
            return [t.id for t in node.targets if isinstance(t, ast.Name)]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            return [node.target.id]
        return []

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            if isinstance(node, ast.ClassDef):
                for member in node.body:
                    if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        names.add(f"{node.name}.{member.name}")
                    names.update(f"{node.name}.{name}" for name in targets(member))
        names.update(targets(node))
    return frozenset(names)


def test_the_docs_point_at_code_somewhere():
    # the check below must have something to check: rules.md names the code of every rule
    assert len([r for r in references() if r[0] == "rules.md" and r[3]]) >= 100


@pytest.mark.parametrize("doc, line, path, name", references(), ids=lambda v: str(v))
def test_every_code_reference_in_the_docs_exists(doc, line, path, name):
    where = f"docs/{doc}:{line}"
    file = ROOT / path
    assert file.is_file(), f"{where}: {path} does not exist"
    if name is not None:
        assert name in defined_names(file), f"{where}: {path} defines no {name}"


RULES_WITHOUT_POINTERS = ("Choices where the rules were silent", "Not yet implemented")


def rule_bullets() -> list[tuple[str, str]]:
    """(section, text) of every bullet of docs/rules.md, continuation lines joined."""
    bullets: list[list[str]] = []
    section, current = "", None
    for line in (ROOT / "docs" / "rules.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            section, current = line.lstrip("#").strip(), None
        elif line.startswith("- "):
            current = [section, line]
            bullets.append(current)
        elif line.startswith("  ") and current is not None:
            current[1] += " " + line.strip()
        else:
            current = None
    return [(s, text) for s, text in bullets]


def test_every_rule_names_its_code_and_a_test():
    bullets = [(s, text) for s, text in rule_bullets() if s not in RULES_WITHOUT_POINTERS]
    assert len(bullets) >= 60
    missing = []
    for section, text in bullets:
        found = [m.groups() for m in REFERENCE.finditer(text)]
        tests = [path for path, name in found if path.startswith("tests/") and name]
        code = [path for path, name in found if not path.startswith(("tests/", "bench/"))]
        if not tests or not code:
            missing.append(f"{section}: {text[:80]}")
    assert missing == [], "a rule of docs/rules.md without its code or its test:\n" + "\n".join(missing)


def tracked_files() -> list[str]:
    done = subprocess.run(["git", "ls-files", "--", *CHECKED_TREES], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip("not a git checkout")
    return done.stdout.splitlines()


def test_no_file_cites_the_specification_outside_the_project():
    offending = []
    for name in tracked_files():
        path = ROOT / name
        if not path.is_file() or path.suffix in (".png", ".xlsx", ".db", ".svg"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if any(outside in line for outside in OUTSIDE):
                offending.append(f"{name}:{number}: {line.strip()}")
    assert offending == [], "cite docs/ (e.g. docs/rules.md#receipts) instead:\n" + "\n".join(offending)


def test_the_check_catches_a_citation_and_a_missing_name(tmp_path):
    line = "see " + "domain" + ".md and `ledger/money.py::no_such_function`"
    assert any(outside in line for outside in OUTSIDE)
    match = REFERENCE.search(line)
    assert match.groups() == ("ledger/money.py", "no_such_function")
    assert "no_such_function" not in defined_names(ROOT / "ledger/money.py")
    assert "largest_remainder" in defined_names(ROOT / "ledger/money.py")
    assert "RateBook.on" in defined_names(ROOT / "ledger/rates.py")
