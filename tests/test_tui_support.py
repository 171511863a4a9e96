"""Helpers for the TUI tests (Pilot flows and snapshots), and the TUI's layer rule."""

from __future__ import annotations

import ast
import asyncio
import datetime as dt
import functools
from pathlib import Path

from ledger.database import Ledger

AS_OF = dt.date(2016, 12, 31)
FIXED_NOW = dt.datetime(2017, 1, 2, 9, 30, 0)
SIZE = (120, 40)
TUI = Path(__file__).resolve().parent.parent / "tui"


def freeze_clock(monkeypatch) -> None:
    """The clock reads FIXED_NOW: every stamp (posted_at, entered_at, created_at, audit) is FIXED_NOW
    plus one microsecond per stamp before it, and the report's generation time is FIXED_NOW, so that
    hashes and screens are the same on every run."""
    import ledger.recorded
    import ledger.unit_of_work
    import reports.funding

    for module in (ledger.recorded, ledger.unit_of_work, reports.funding):
        monkeypatch.setattr(module, "utcnow", lambda: FIXED_NOW)


def open_worked_example(url: str, user: str = "officer") -> Ledger:
    from tests.builders import worked_example

    ledger = Ledger(url, user=user)
    worked_example(ledger)
    return ledger


def run_async(test):
    """Run an async test on a fresh event loop (the project has no pytest async plugin)."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        asyncio.run(test(*args, **kwargs))

    return wrapper


def text_of(widget) -> str:
    """What a Static shows, as plain text (Rich tables and groups included)."""
    from rich.console import Console

    content = widget.content
    if isinstance(content, str):
        return content
    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(content)
    return console.export_text()


async def settle(pilot, app, condition=None, timeout: float = 30.0) -> None:
    """Let workers finish and messages be handled (until ``condition()`` holds, if given)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        await pilot.pause(0.05)
        if condition is None or condition():
            return
        if loop.time() > deadline:
            raise AssertionError("the TUI did not reach the expected state in time")


async def fill(pilot, screen, **values: str) -> None:
    """Type into form fields (by field name) as a user would."""
    from tui.forms import field_id

    for name, value in values.items():
        widget = screen.query_one(f"#{field_id(name)}")
        widget.focus()
        widget.value = ""
        await pilot.pause()
        await pilot.press(*list(value))
    await pilot.pause(0.1)


def test_tui_never_imports_sqlalchemy():
    """The TUI reaches data only through ledger.services / ledger.queries / ledger.alerts (the
    dashboard's alerts, as `report alerts`) / reports / imports (ledger.money: pure value
    functions, so typed amounts parse exactly as the models parse them; ledger.clock: moments as the
    command line parses and prints them)."""
    allowed = ("ledger.services", "ledger.queries", "ledger.alerts", "ledger.inputs", "ledger.errors", "ledger.roles",
               "ledger.money", "ledger.clock")
    for path in TUI.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                assert not name.startswith("sqlalchemy"), f"{path.name} imports {name}"
                if name.startswith("ledger") and name != "ledger":
                    assert name.startswith(allowed) or any(a.startswith(name) for a in allowed), f"{path.name}: {name}"


async def open_new_form(pilot, app, form_type):
    """Wait for the acting user, press n and wait for the form (the start of every "new ..." flow)."""
    await settle(pilot, app, lambda: app.actor is not None)
    await pilot.press("n")
    await settle(pilot, app, lambda: isinstance(app.screen, form_type))
    return app.screen
