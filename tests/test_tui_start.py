"""How the TUI starts: the dashboard paints before the ledger is opened, and the paged table
answers a jump to its end made before it had sized itself."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

from textual.app import App

from ledger.database import Ledger
from ledger.errors import LedgerError
from tests.test_tui_support import AS_OF, SIZE, open_worked_example, run_async, settle, text_of
from tui.app import DonorLedgerApp
from tui.tables import Column, LazyTable


@run_async
async def test_the_dashboard_paints_first_and_opens_the_ledger_in_a_worker(sqlite_url):
    open_worked_example(sqlite_url).close()
    release = threading.Event()
    opened: list[Ledger] = []

    def opener() -> Ledger:
        release.wait(10)  # the ledger is slow to open: the screen must not wait for it
        opened.append(Ledger(sqlite_url, user="officer"))
        return opened[0]

    app = DonorLedgerApp(opener, as_of=AS_OF)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        assert type(app.screen).__name__ == "DashboardScreen"
        assert "loading" in text_of(app.screen.query_one("#dash-meta"))
        assert app.actor is None and not opened  # painted and taking keys, the ledger not open yet
        release.set()
        await settle(pilot, app, lambda: app.screen.loaded is not None and app.actor is not None)
        assert app.screen.loaded.report.totals.gap == 27_113_213  # the worked example's figures
        assert app.actor.name == "officer"
    opened[0].close()


@run_async
async def test_a_ledger_that_cannot_be_opened_closes_the_app_with_its_reason():
    """(`donor-ledger` then prints the reason in one line: tests/test_reliability_cli.py.)"""

    def opener():
        raise LedgerError("database: folder /nowhere does not exist")

    app = DonorLedgerApp(opener)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
    assert app.return_code == 1
    assert str(app._open_error) == "database: folder /nowhere does not exist"


def test_the_start_loads_neither_the_database_layers_nor_the_forms():
    """What `donor-ledger` imports before its first paint (the rest loads in the worker)."""
    code = (
        "import sys, cli.main, tui.app, tui.dashboard\n"
        "print(sorted(m for m in ('sqlalchemy', 'pydantic', 'openpyxl', 'textual_fastdatatable', 'ledger.schema',"
        " 'tui.pledges', 'reports.funding') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


class Rows(App):
    """A LazyTable over 100,000 made-up rows; fetches are counted."""

    def __init__(self):
        super().__init__()
        self.fetched: list[int] = []

    def compose(self):
        yield LazyTable([Column("Row", 10), Column("Value", 10)], lambda: 100_000, self.fetch)

    def on_mount(self) -> None:
        self.query_one(LazyTable).reload()

    def fetch(self, offset: int, limit: int) -> list[tuple]:
        self.fetched.append(offset)
        return [(f"R{i:06d}", str(i * 2)) for i in range(offset, min(offset + limit, 100_000))]


@run_async
async def test_end_pressed_as_soon_as_the_table_is_loaded_shows_the_last_rows():
    app = Rows()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(LazyTable)
        table.focus()
        while not table.loaded:  # no pause: press End the moment the count arrives, before the
            await asyncio.sleep(0.002)  # table has laid itself out again
        await pilot.press("end")
        await settle(pilot, app, lambda: table.row_key(99_999) is not None, timeout=10)
        assert table.cursor_row == 99_999
        assert table.scroll_offset.y > 99_000  # scrolled to it
        assert 99_800 in app.fetched  # the last page was fetched...
        assert len(app.fetched) <= 4  # ...and not the hundreds of pages scrolled past
