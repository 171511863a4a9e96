"""What a person reads at the usual terminal sizes: nothing that matters cut off (Pilot)."""

from __future__ import annotations

import pytest
from textual.geometry import Region

from tests.test_tui_support import AS_OF, SIZE, open_worked_example, run_async, settle
from tui.app import DonorLedgerApp


@pytest.fixture
def ledger(sqlite_url):
    opened = open_worked_example(sqlite_url)
    yield opened
    opened.close()


def on_screen(widget) -> str:
    """The text a widget shows in the terminal, line by line (as cut to its width)."""
    strips = widget.render_lines(Region(0, 0, widget.outer_size.width, widget.outer_size.height))
    return "\n".join(strip.text.rstrip() for strip in strips)


@run_async
async def test_dashboard_titles_are_readable_at_120_columns(ledger):
    app = DonorLedgerApp(ledger, as_of=AS_OF, start="dashboard")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.screen.loaded is not None and app.screen.alerts is not None)
        table = on_screen(app.screen.query_one("#funding"))
        for title in ("Technical assistance and training", "Expert group report and support",
                      "Report of the Secretary-General", "Targeting technical assistance"):
            assert title in table, table
        assert "172,810.34" in table  # cents: every column adds up to its total as shown
        bars = on_screen(app.screen.query_one("#bars"))
        assert "■ progress" in bars  # the legend on one line, not wrapped


@run_async
async def test_dashboard_adapts_to_a_resize(ledger):
    app = DonorLedgerApp(ledger, as_of=AS_OF, start="dashboard")
    async with app.run_test(size=(150, 45)) as pilot:
        await settle(pilot, app, lambda: app.screen.loaded is not None)
        table = on_screen(app.screen.query_one("#funding"))
        assert "172,810.34" in table and "Cooperation with organizations and private sector" in table
        await pilot.resize_terminal(120, 40)
        await settle(pilot, app)
        await pilot.pause(0.2)
        table = on_screen(app.screen.query_one("#funding"))
        assert "172,810.34" in table and "Technical assistance and training" in table


@run_async
async def test_at_80_columns_the_dashboard_keeps_every_column_and_every_screen_key(ledger):
    app = DonorLedgerApp(ledger, as_of=AS_OF, start="dashboard")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app, lambda: app.screen.loaded is not None)
        await pilot.pause(0.2)
        table = on_screen(app.screen.query_one("#funding")).splitlines()
        header = next(line for line in table if "¶" in line)
        assert header.split()[2:] == ["Pledged", "Received", "Disbursed", "PSC", "Available"], header
        totals = next(line for line in table if "Totals" in line)
        assert totals.split()[-2:] == ["6,500.00", "172,810.34"], totals  # PSC and available, not cut off
        await pilot.press("t")  # the implementation view: gap and progress, not cut off
        await settle(pilot, app)
        table = on_screen(app.screen.query_one("#funding")).splitlines()
        totals = next(line for line in table if "Totals" in line)
        assert totals.split()[-2:] == ["271,132.13", "28.6%"], totals
        nav = on_screen(app.screen.query_one("NavBar"))
        assert nav.split()[:4] == ["1", "Dashboard", "2", "Pledges"] and nav.rstrip().endswith("9 Journal"), nav
        await pilot.resize_terminal(120, 40)  # wide again: the share covered and the full titles come back
        await settle(pilot, app)
        await pilot.pause(0.2)
        assert "% covered" in on_screen(app.screen.query_one("#funding"))
        assert "3 Disbursements" in on_screen(app.screen.query_one("NavBar"))


@run_async
async def test_pledges_table_shows_status_due_date_and_paragraphs_at_120_columns(ledger):
    from ledger import services
    from ledger.inputs import PledgeIn

    services.record_pledge(ledger, PledgeIn(reference="P3", donor="NOR", pledged_on="2012-01-10", currency="NOK",
                                            due_on="2012-12-31", allocations=[{"paragraph": 4, "amount": "10"}]))
    app = DonorLedgerApp(ledger, as_of=AS_OF, start="pledges")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.screen.query_one("#pledges").loaded)
        await pilot.pause(0.2)
        table = on_screen(app.screen.query_one("#pledges"))
        header, *rows = table.splitlines()
        assert header.split()[-4:] == ["Status", "Date", "Due", "¶"], header
        p3 = next(r for r in rows if r.startswith(" P3"))
        assert p3.split()[-4:] == ["overdue", "2012-01-10", "2012-12-31", "4"], p3


@run_async
async def test_pledges_table_shows_whole_amounts_at_80_columns(ledger):
    """At 80x24 the money columns (amount, received, outstanding) are whole on screen: the
    dates come after them."""
    from ledger import services
    from ledger.inputs import PledgeIn

    services.record_pledge(ledger, PledgeIn(reference="P3", donor="NOR", pledged_on="2012-01-10", currency="NOK",
                                            due_on="2012-12-31", allocations=[{"paragraph": 4, "amount": "1234567.89"}]))
    app = DonorLedgerApp(ledger, as_of=AS_OF, start="pledges")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app, lambda: app.screen.query_one("#pledges").loaded)
        await pilot.pause(0.2)
        table = on_screen(app.screen.query_one("#pledges"))
        header, *rows = table.splitlines()
        assert header.split()[:6] == ["Reference", "Donor", "Cur", "Amount", "Received", "Outstanding"], header
        p3 = next(r for r in rows if r.startswith(" P3"))
        assert p3.split()[:6] == ["P3", "NOR", "NOK", "1,234,567.89", "0.00", "1,234,567.89"], p3


def test_the_help_names_keys_as_a_person_reads_them():
    from textual.binding import Binding

    from tui.common import keys_help

    text = keys_help([Binding("question_mark", "help", "Help"), Binding("slash", "filter", "Filter"),
                      Binding("escape,n", "no", "No"), Binding("ctrl+s", "save", "Save"),
                      Binding("super+c", "copy", "Copy"), Binding("slash", "filter", "Filter")])
    assert text.splitlines()[2:] == ["| `?` | Help |", "| `/` | Filter |", "| `Esc / n` | No |", "| `ctrl+s` | Save |"]


def test_a_pledge_row_adds_up_received_outstanding_and_cancelled():
    import datetime as dt
    from decimal import Decimal

    from ledger.queries import PledgeRow
    from tui.pledges import COLUMNS, pledge_cells

    def row(status: str) -> PledgeRow:
        return PledgeRow("NOR-2026-01", "NOR", "Norway", dt.date(2026, 1, 5), "NOK", Decimal("1000000.00"),
                         Decimal("96000.00"), Decimal("400000.00"), Decimal("550000.00"), status, None, "1, U")

    cells = dict(zip([c.label for c in COLUMNS], pledge_cells(row("partly received")), strict=True))
    assert cells["Cancelled"].strip() == "50,000.00"  # 1,000,000 - 400,000 received - 550,000 outstanding
    cells = dict(zip([c.label for c in COLUMNS], pledge_cells(row("reversed")), strict=True))
    assert cells["Cancelled"].strip() == ""  # a reversed pledge was not cancelled


@run_async
async def test_at_80_columns_the_pledge_filters_take_two_rows_and_stay_usable(ledger):
    app = DonorLedgerApp(ledger, as_of=AS_OF, start="pledges")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        await pilot.pause(0.2)
        for name in ("#filter-donor", "#filter-text", "#sort"):
            assert app.screen.query_one(name).size.width >= 20, name  # wide enough to read and type in
        await pilot.resize_terminal(120, 40)  # wide: one row again
        await settle(pilot, app)
        await pilot.pause(0.2)
        assert app.screen.query_one("#pledge-filters").size.height == 3


def test_a_paragraph_bar_always_shows_its_gap():
    """Spending paid with unearmarked money can fill a bar: the gap of the table still shows as dots."""
    from decimal import Decimal
    from types import SimpleNamespace

    from tui.dashboard import bars

    row = SimpleNamespace(paragraph=3, requirement=45_000_000, pledged=38_885_400, received=38_331_800,
                          spent_on_activities=45_000_000, available=0, gap=10_588_186, coverage_pct=Decimal("76.5"),
                          progress_pct=Decimal("100.0"))
    report = SimpleNamespace(rows=[row])
    line = bars(report, width=21).renderables[0].plain
    # 105,881.86 of 450,000 is 23.5% of 21 cells: 5 dots, after 16 cells of spending
    assert line.startswith(" 3 " + "█" * 16 + "·" * 5 + " ") and "76% covered" in line


@run_async
async def test_the_donor_statement_shows_every_amount_whole_at_120x30_and_80x24(ledger):
    """Donors, `s` on NOR (the worked example): at 120x30 and 80x24 no amount of the statement is cut;
    at 80 columns the date and the NOK amount move into the label and the totals stand one per line.
    P1: NOK 1,500,000.00 pledged at 5.80 = USD 258,620.69, received 129,310.34, outstanding NOK
    750,000 at 6.00 = 125,000.00, spent 50,000.00 + PSC 6,500.00, balance 72,810.34."""
    from tui.statement import StatementDialog

    for size in ((120, 30), (80, 24)):
        app = DonorLedgerApp(ledger, as_of=AS_OF, start="donors")
        async with app.run_test(size=size) as pilot:
            await settle(pilot, app, lambda app=app: app.actor is not None and app.screen.donors)
            app.screen.query_one("#donors").move_cursor(row=[d.code for d in app.screen.donors].index("NOR"))
            await pilot.press("s")
            await settle(pilot, app, lambda app=app: isinstance(app.screen, StatementDialog) and app.screen.loaded is not None)
            await pilot.pause(0.2)
            shown = on_screen(app.screen.query_one("#statement"))
            cells = [line for line in shown.splitlines() if line.lstrip().startswith(("│", "┃"))]
            assert cells and not [line for line in cells if "…" in line], (size, shown)
            for amount in ("1,500,000.00", "258,620.69", "129,310.34", "125,000.00", "50,000.00", "6,500.00",
                           "72,810.34"):
                assert amount in shown, (size, amount, shown)
            assert max(len(line) for line in shown.splitlines()) <= size[0], shown
