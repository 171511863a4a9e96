"""The dashboard a programme lead can add up, the Activities screen's payers, and the smaller
fixes of the walk-through (Pilot): chain status shared with the journal, refused money keys
said, a disabled import field, 80x24."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from ledger import services
from ledger.database import Ledger
from ledger.inputs import ReceiptIn, UserIn
from ledger.roles import Act
from reports.funding import funding_report_for
from tests.builders import disburse
from tests.test_tui_layout import on_screen
from tests.test_tui_support import AS_OF, SIZE, open_worked_example, run_async, settle
from tui.app import DonorLedgerApp


@pytest.fixture
def ledger(sqlite_url):
    opened = open_worked_example(sqlite_url)
    yield opened
    opened.close()


def figures_of(line: str) -> list[Decimal]:
    """The money figures of a table line (1,234.56), in order."""
    return [Decimal(word.replace(",", "")) for word in re.findall(r"(?<![\w.])-?[\d,]+\.\d\d(?![\w.])", line)]


def view_lines(app) -> dict[str, list[Decimal]]:
    """Row label (¶ number, U, Σ) -> the money figures of that row of the table shown."""
    rows = {}
    for line in on_screen(app.screen.query_one("#funding")).splitlines():
        words = line.split()
        if words and words[0] in ("1", "2", "3", "4", "5", "6", "7", "U", "Σ"):
            rows[words[0]] = figures_of(line)
    return rows


def assert_columns_add_up(rows: dict[str, list[Decimal]]) -> None:
    body = [figures for label, figures in rows.items() if label != "Σ"]
    assert [sum(column) for column in zip(*body, strict=True)] == rows["Σ"]


async def check_both_views(pilot, app, size: tuple[int, int]) -> None:
    report = app.screen.loaded.report
    cents = lambda value: Decimal(value).scaleb(-2)  # noqa: E731
    title = on_screen(app.screen.query_one("#view-title"))
    assert "Funding view" in title and "Available = Received − Refunded − Disbursed − PSC" in title
    rows = view_lines(app)
    # worked example as of 2016-12-31 (docs/worked-example.md): ¶1 received NOK 500,000 / 5.80 =
    # 86,206.89, disbursed D1 50,000.00 and PSC 13% = 6,500.00: 29,706.89 available
    assert rows["1"] == [Decimal("172413.79"), Decimal("86206.89"), Decimal("50000.00"), Decimal("6500.00"),
                         Decimal("29706.89")]
    assert rows["U"] == [Decimal("86206.90"), Decimal("43103.45"), Decimal(0), Decimal(0), Decimal("43103.45")]
    for label, row in rows.items():
        pledged, received, disbursed, psc, available = row
        assert available == received - disbursed - psc, label
    assert_columns_add_up(rows)
    totals = report.totals
    assert rows["Σ"] == [cents(totals.pledged), cents(totals.received), cents(totals.disbursed), cents(totals.psc),
                         cents(totals.available)]
    await pilot.press("t")
    await settle(pilot, app)
    title = on_screen(app.screen.query_one("#view-title"))
    assert "Implementation view" in title and "Gap = Requirement − Programmable" in title
    rows = view_lines(app)
    # requirement, programmable, spent, gap: ¶1 500,000 - 152,578.58 programmable = 347,421.42 gap; the
    # unearmarked programmable 76,289.29 covers that much of the gaps (-76,289.29 on its row)
    assert rows["1"] == [Decimal("500000.00"), Decimal("152578.58"), Decimal("50000.00"), Decimal("347421.42")]
    assert rows["U"] == [Decimal(0), Decimal("76289.29"), Decimal(0), Decimal("-76289.29")]
    assert_columns_add_up(rows)
    assert rows["Σ"] == [cents(totals.requirement), cents(totals.programmable), cents(totals.spent_on_activities),
                         cents(totals.gap)] == [Decimal("700000.00"), Decimal("450106.81"), Decimal("50000.00"),
                                                Decimal("271132.13")]
    header = next(line for line in on_screen(app.screen.query_one("#funding")).splitlines() if "Paragraph" in line)
    assert header.split()[-1] == "Progress" and ("% covered" in header) == (size[0] >= 100), header
    totals_line = next(line for line in on_screen(app.screen.query_one("#funding")).splitlines() if "Totals" in line)
    assert totals_line.rstrip().endswith("28.6%"), totals_line  # nothing cut at the right
    await pilot.press("t")
    await settle(pilot, app)
    assert "Funding view" in on_screen(app.screen.query_one("#view-title"))


@run_async
async def test_the_dashboard_shows_both_views_with_totals_that_add_up_at_120_and_80_columns(ledger):
    assert funding_report_for(ledger, AS_OF).totals.gap == 27_113_213
    for size in ((120, 30), (80, 24)):
        app = DonorLedgerApp(ledger, as_of=AS_OF, start="dashboard")
        async with app.run_test(size=size) as pilot:
            await settle(pilot, app, lambda a=app: a.screen.loaded is not None and a.screen.alerts is not None)
            await pilot.pause(0.2)
            await check_both_views(pilot, app, size)
            alerts = on_screen(app.screen.query_one("#alerts"))
            # ledger.alerts: ¶1's open activity needs 500,000 - 50,000 = 450,000 and holds 29,707 in cash
            assert "¶1 Technical assistance … needs 450,000 · cash 29,707" in alerts, alerts
            assert app.screen.query_one("#bars-box").display == (size[1] >= 30)


@run_async
async def test_the_activities_screen_lists_the_unearmarked_pledge_that_paid_for_a_paragraph(ledger):
    # D2 asks 60,000 for A1 (¶1): P1's ¶1 allocation holds 29,706.89, so it gives x + 13% <= that:
    # 26,289.28 (PSC 3,417.61); P1's unearmarked money pays the other 33,710.72 (PSC 4,382.39)
    disburse(ledger, "D2", "A1", "2011-09-02", "60000")
    for size in (SIZE, (80, 24)):
        app = DonorLedgerApp(ledger, as_of=AS_OF, start="activities")
        async with app.run_test(size=size) as pilot:
            await settle(pilot, app, lambda a=app: a.screen.data is not None)
            await pilot.pause(0.2)
            funding = on_screen(app.screen.query_one("#paragraph-funding")).splitlines()
            earmarked = next(line for line in funding if line.split()[:2] == ["P1", "¶1"] or
                             line.split()[:3] == ["P1", "NOR", "¶1"])
            unearmarked = next(line for line in funding if "unearmarked" in line)
            assert figures_of(earmarked) == [Decimal("76289.28"), Decimal("9917.61")]  # D1 50,000 + D2 26,289.28
            assert unearmarked.split()[0] == "P1"
            assert figures_of(unearmarked) == [Decimal("33710.72"), Decimal("4382.39")]
            total = next(line for line in funding if line.startswith("Total"))
            assert figures_of(total) == [Decimal("110000.00"), Decimal("14300.00")]  # ¶1's spent on activities
            table = app.screen.query_one("#activities")
            activities = on_screen(table)
            assert "A1" in activities and "110,000.00" in activities and "500,000.00" in activities, activities
            header = activities.splitlines()[0].split()
            assert header[:2] == ["Code", "Title"] and header[-2:] == ["Spent", "USD"] or size[0] > 80, header
            paragraphs = on_screen(app.screen.query_one("#paragraph-list"))
            assert all(f"¶{n}" in paragraphs for n in range(1, 8)), paragraphs


@run_async
async def test_the_journal_and_the_dashboard_say_the_same_about_the_chain(ledger):
    app = DonorLedgerApp(ledger, as_of=AS_OF, start="dashboard")
    async with app.run_test(size=SIZE) as pilot:
        chain = lambda: " ".join(on_screen(app.screen.query_one("#chain")).split())  # noqa: E731
        await settle(pilot, app, lambda: "intact" in chain())
        on_dashboard = chain()
        assert on_dashboard.startswith("✓ Journal chain intact: 5 entries, head "), on_dashboard
        await pilot.press("9")
        await settle(pilot, app, lambda: app.current_mode == "journal")
        result = lambda: " ".join(on_screen(app.screen.query_one("#verify-result")).split())  # noqa: E731
        assert result() == on_dashboard  # not "not verified in this session"
        services.record_receipt(ledger, ReceiptIn(reference="R9", pledge="P2", received_on="2012-01-05",
                                                  amount="1000"))
        await pilot.press("v")  # checked on the journal: the dashboard shows that check
        await settle(pilot, app, lambda: "6 entries" in result())
        on_journal = result()
        await pilot.press("1")
        await settle(pilot, app, lambda: app.current_mode == "dashboard" and app.screen.loaded.report.entries == 6)
        await settle(pilot, app, lambda: "6 entries" in chain())
        assert chain() == on_journal


def notifications(app) -> list[str]:
    return [n.message for n in app._notifications]


@run_async
async def test_a_programme_lead_pressing_a_money_key_is_told_the_role_may_not(ledger):
    services.add_user(ledger, UserIn(name="prog", role="programme"))
    lead = Ledger(ledger.url, user="prog")
    app = DonorLedgerApp(lead, as_of=AS_OF, start="pledges")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, app, lambda: app.actor is not None)
            for mode, keys in (("pledges", "nrcx"), ("disbursements", "nx"), ("journal", "x")):
                await app.switch_mode(mode)
                await settle(pilot, app)
                screen = app.screen
                for key in keys:
                    before = len(notifications(app))
                    await pilot.press(key)
                    await settle(pilot, app)
                    assert app.screen is screen, f"{mode}: {key} opened {app.screen}"
                    said = notifications(app)[before:]
                    assert said == [f"prog (programme) may not {Act.RECORD_MONEY.value}."], (mode, key, said)
    finally:
        lead.close()


@run_async
async def test_an_auditor_cannot_type_into_the_import_file_field(ledger):
    services.add_user(ledger, UserIn(name="audra", role="auditor"))
    auditor = Ledger(ledger.url, user="audra")
    app = DonorLedgerApp(auditor, as_of=AS_OF, start="transfer")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, app, lambda: app.actor is not None)
            field = app.screen.query_one("#import-path")
            assert field.disabled and not field.focusable
            await pilot.click("#import-path")
            await pilot.press("tab", *"abc")
            await settle(pilot, app)
            assert field.value == "" and app.focused is not field
            export = app.screen.query_one("#export-path")
            assert export.focusable  # export stays open to the auditor
    finally:
        auditor.close()
