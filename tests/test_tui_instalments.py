"""Instalments in the TUI (Pilot, a real SQLite ledger): re-planning a schedule from Pledges, the
schedule in the pledge's detail, and the Reminders screen with its workbook."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import openpyxl
import pytest

from ledger import queries
from tests.test_tui_flows import app_on, no_errors, select_pledge
from tests.test_tui_support import SIZE, fill, open_worked_example, run_async, settle, text_of
from tui.forms import FormScreen
from tui.pledges import PledgeDetailScreen, ScheduleForm, instalment_items
from tui.reminders import RemindersScreen


@pytest.fixture
def ledger(sqlite_url):
    opened = open_worked_example(sqlite_url)
    yield opened
    opened.close()


def test_instalments_are_typed_as_date_equals_amount():
    assert instalment_items("2011-12-31=100000, 2012-06-30=150000;\n2013-01-31=1") == [
        {"due_on": "2011-12-31", "amount": "100000"}, {"due_on": "2012-06-30", "amount": "150000"},
        {"due_on": "2013-01-31", "amount": "1"}]
    assert instalment_items("2011-12-31") == [{"due_on": "2011-12-31", "amount": ""}]


@run_async
async def test_re_plan_a_schedule_from_the_pledges_and_see_it_in_the_detail(ledger):
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        await select_pledge(pilot, app, "P2")  # USD 250,000, 100,000 received 2011-08-15
        await pilot.press("i")
        await settle(pilot, app, lambda: isinstance(app.screen, ScheduleForm))
        form = app.screen
        await fill(pilot, form, instalments="2011-12-31=100000, 2012-06-30=100000", reason="annex 2")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, ScheduleForm)  # refused: 200,000 is not the pledge's 250,000
        assert "add up to USD 200,000.00, not to the USD 250,000.00 of pledge P2" in text_of(
            form.query_one("#form-problems"))
        await fill(pilot, form, instalments="2011-12-31=100000, 2012-06-30=150000")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen))
        no_errors(app)
        detail = queries.pledge_detail(ledger, "P2", dt.date(2016, 12, 31))
        assert [(str(i.due_on), i.paid, i.unpaid, i.days_late) for i in detail.schedule] == [
            ("2011-12-31", Decimal("100000.00"), Decimal("0.00"), None),
            ("2012-06-30", Decimal("0.00"), Decimal("150000.00"), 1645)]
        assert detail.schedule_versions[0].memo.endswith(": annex 2")
        await select_pledge(pilot, app, "P2")
        await pilot.press("enter")
        await settle(pilot, app, lambda: isinstance(app.screen, PledgeDetailScreen))
        shown = " ".join(text_of(w) for w in app.screen.query(".detail-block"))
        assert "OVERDUE 1645 d" in shown and "annex 2" in shown


async def open_reminders(pilot, app) -> None:
    """From the pledges list: the Reminders screen, loaded."""
    await settle(pilot, app, lambda: app.actor is not None)
    await pilot.press("m")
    await settle(pilot, app, lambda: isinstance(app.screen, RemindersScreen) and app.screen.report is not None)


@run_async
async def test_the_reminders_screen_lists_overdue_instalments_and_writes_the_workbook(ledger, tmp_path):
    from tests.builders import pledge

    pledge(ledger, "P5", "USA", "2016-12-01", "USD", {4: "5000"}, due_on="2017-01-15")
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        await open_reminders(pilot, app)
        screen = app.screen
        # as of 2016-12-31: P5 is due within the 30 days of the setting; nothing is overdue (P1, P2 have no due date)
        assert str(screen.query_one("#detail-title").content).startswith(
            "Reminders as of 2016-12-31: 1 instalment(s) of 1 donor(s) overdue or due by 2017-01-30")
        assert "P5" in text_of(screen.query_one("#reminders"))
        screen.query_one("#within").value = "10"
        screen.query_one("#within").focus()
        await pilot.press("enter")
        await settle(pilot, app, lambda: screen.report.within == 10)
        assert "0 instalment(s)" in str(screen.query_one("#detail-title").content)
        screen.query_one("#within").value = ""
        await pilot.press("f5")
        await settle(pilot, app, lambda: screen.report.within == 30)
        path = tmp_path / "reminders.xlsx"
        screen.query_one("#workbook-path").value = str(path)
        await pilot.press("ctrl+o")
        await settle(pilot, app, lambda: path.exists())
        no_errors(app)
        await pilot.press("escape")
        await settle(pilot, app, lambda: not isinstance(app.screen, RemindersScreen))
    rows = list(openpyxl.load_workbook(path)["Reminders"].iter_rows(values_only=True))
    assert [r[:6] for r in rows[1:2]] == [("USA", "United States", "P5", "1/1", dt.datetime(2017, 1, 15), "due")]


@pytest.mark.parametrize("size", [(80, 24), (120, 30)])
@run_async
async def test_the_reminders_screen_shows_every_amount_whole_at_80_columns(ledger, size):
    """At 80x24 and 120x30 the donor goes by its code and the instalment follows the pledge, so the
    unpaid amount and its USD are whole on screen, not behind a sideways scroll."""
    from tests.builders import pledge
    from tests.test_tui_layout import on_screen

    pledge(ledger, "P5", "USA", "2016-12-01", "USD", {4: "1234567.89"}, due_on="2017-01-15")
    app = app_on(ledger, "pledges")
    async with app.run_test(size=size) as pilot:
        await open_reminders(pilot, app)
        await pilot.pause(0.2)
        scroll, table = app.screen.query_one("#reminders-scroll"), app.screen.query_one("#reminders")
        assert table.outer_size.width <= scroll.scrollable_content_region.width  # nothing behind a sideways scroll
        shown = on_screen(table)
        row = next(line for line in shown.splitlines() if "P5" in line)
        assert "USD 1,234,567.89" in row and row.count("1,234,567.89") == 2 and "2017-01-15" in row, shown
        assert "Total" in shown and "1,234,567.89" in shown.split("Total")[1], shown
