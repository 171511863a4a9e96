"""Time in the TUI: the dashboard as recorded at an earlier moment, and a closed period refusing
a back-dated receipt at the date field (docs/rules.md "Time")."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger import queries, services
from ledger.clock import format_moment
from ledger.inputs import ReceiptIn
from reports.funding import funding_report_for
from tests.test_tui_flows import select_pledge
from tests.test_tui_support import AS_OF, SIZE, fill, open_worked_example, run_async, settle
from tui.app import DonorLedgerApp
from tui.forms import FormScreen
from tui.pledges import ReceiptForm


@pytest.fixture
def ledger(sqlite_url):
    opened = open_worked_example(sqlite_url)
    yield opened
    opened.close()


@run_async
async def test_the_dashboard_as_recorded_at_an_earlier_moment_leaves_out_what_was_posted_after(ledger):
    issued = funding_report_for(ledger, AS_OF)
    services.record_receipt(ledger, ReceiptIn(reference="R9", pledge="P2", received_on="2011-08-20", amount="50000"))
    assert funding_report_for(ledger, AS_OF).totals.received == issued.totals.received + 5_000_000
    app = DonorLedgerApp(ledger, as_of=AS_OF, start="dashboard")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.screen.loaded is not None)
        assert app.screen.loaded.report.totals.received == issued.totals.received + 5_000_000
        field = app.screen.query_one("#recorded-at")
        field.focus()
        field.value = format_moment(issued.as_recorded_at)
        await pilot.press("enter")
        await settle(pilot, app, lambda: app.screen.loaded.report.as_recorded_at == issued.as_recorded_at)
        shown = app.screen.loaded.report
        assert shown.totals.received == issued.totals.received and shown.entries == issued.entries
        assert shown.chain_head == issued.chain_head
        field.focus()
        field.value = "yesterday"
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert field.value == format_moment(issued.as_recorded_at)  # refused: the field says what is shown
        assert app.recorded_at == issued.as_recorded_at


@run_async
async def test_a_closed_period_refuses_a_back_dated_receipt_at_the_date_field(ledger):
    services.close_period(ledger, dt.date(2011, 12, 31), "2011 reported to donors")
    app = DonorLedgerApp(ledger, as_of=AS_OF, start="pledges")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        await select_pledge(pilot, app, "P2")
        await pilot.press("r")
        await settle(pilot, app, lambda: isinstance(app.screen, ReceiptForm))

        await fill(pilot, app.screen, reference="R3", received_on="2011-12-15", amount="1000.00")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: "closed period" in str(app.screen.query_one("#p-received-on").render()))
        message = str(app.screen.query_one("#p-received-on").render())
        assert "the ledger is closed through 2011-12-31 (closed by officer)" in message
        assert isinstance(app.screen, FormScreen)
    assert [r.reference for r in queries.pledge_detail(ledger, "P2").receipts] == ["R2"]
