"""Reallocating, refunding and closing a pledge from its detail screen (Pilot, real SQLite ledger)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from textual.widgets import Select

from ledger import queries
from tests.builders import pledge, receipt, refund
from tests.test_tui_flows import app_on, no_errors, select_pledge
from tests.test_tui_support import SIZE, fill, open_worked_example, run_async, settle
from tui.forms import FormScreen, field_id
from tui.pledge_acts import ClosePledgeForm, ReallocateForm, RefundForm
from tui.pledges import PledgeDetailScreen


@pytest.fixture
def ledger(sqlite_url):
    opened = open_worked_example(sqlite_url)
    yield opened
    opened.close()


async def open_act(pilot, app, reference: str, key: str, form) -> None:
    await settle(pilot, app, lambda: app.actor is not None)
    await select_pledge(pilot, app, reference)
    await pilot.press("enter")
    await settle(pilot, app, lambda: isinstance(app.screen, PledgeDetailScreen))
    await pilot.press(key)
    await settle(pilot, app, lambda: isinstance(app.screen, form))


@run_async
async def test_reallocate_from_the_pledge_detail_states_the_cent(ledger):
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        await open_act(pilot, app, "P1", "m", ReallocateForm)
        app.screen.query_one(f"#{field_id('target')}", Select).value = 2
        await fill(pilot, app.screen, amount="1000.00", reallocated_on="2012-01-02", consent="letter of 2011-12-20")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen | PledgeDetailScreen))
        no_errors(app)
    detail = queries.pledge_detail(ledger, "P1")
    moved = detail.reallocations[0]
    # ¶1: 499,000.00 / 5.80 = 86,034.48 (a move of 172.42); the new ¶2: 1,000.00 / 5.80 = 172.41
    assert (moved.source, moved.target, moved.amount, moved.from_usd, moved.to_usd, moved.pledged_change) == (
        1, 2, Decimal("1000.00"), Decimal("172.42"), Decimal("172.41"), Decimal("-0.01"))
    assert detail.cancellations == []


@run_async
async def test_refund_from_one_allocation_then_close_the_pledge(ledger):
    pledge(ledger, "P3", "USA", "2012-01-01", "USD", {1: "100"})
    receipt(ledger, "R3", "P3", "2012-01-02", "100")
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        await open_act(pilot, app, "P2", "f", RefundForm)
        app.screen.query_one(f"#{field_id('paragraph')}", Select).value = 4
        await fill(pilot, app.screen, amount="1000", refunded_on="2012-01-03", reason="unspent")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen | PledgeDetailScreen))
        no_errors(app)
        await open_act(pilot, app, "P3", "k", ClosePledgeForm)  # cash is left: refused, the form stays
        await fill(pilot, app.screen, closed_on="2012-01-04")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: "spend or refund it first" in str(app.screen.query_one("#form-problems").render()))
        assert "USD 100.00 cash on paragraph 1 on 2012-01-04" in str(app.screen.query_one("#form-problems").render())
    refund(ledger, "P3", "2012-01-04", "100")
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        await open_act(pilot, app, "P3", "k", ClosePledgeForm)
        await fill(pilot, app.screen, closed_on="2012-01-05")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen | PledgeDetailScreen))
        no_errors(app)
    assert [(r.paragraph, r.usd) for r in queries.pledge_detail(ledger, "P2").refunds] == [("¶4", Decimal("1000.00"))]
    detail = queries.pledge_detail(ledger, "P3")
    assert detail.status == "closed" and detail.closed is not None


@run_async
async def test_correct_a_reallocation_from_the_journal(ledger):
    """e on a reallocation's entry opens the Reallocate form filled in with it (its source offered
    though nothing is left on it); saving with a reason reverses it and posts the corrected one."""
    from tests.builders import reallocate
    from tests.test_tui_flows import select_entry

    moved = reallocate(ledger, "P2", 4, "unearmarked", "150000", "2012-01-02")  # all P2's ¶4 has outstanding
    app = app_on(ledger, "journal")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        await select_entry(pilot, app, moved.entry_id)
        await pilot.press("e")
        await settle(pilot, app, lambda: isinstance(app.screen, ReallocateForm))
        form = app.screen
        await settle(pilot, app, lambda: form.text("amount") == "150000.00")
        assert (form.selected("source"), form.selected("target")) == (4, "U")
        assert (form.text("reallocated_on"), form.text("consent")) == ("2012-01-02", "donor's letter")
        await fill(pilot, form, amount="60000.00", correction_reason="the letter says 60,000")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen))
        no_errors(app)
    detail = queries.pledge_detail(ledger, "P2")
    original, corrected = detail.reallocations
    assert (original.entry_id, original.links) == (
        moved.entry_id, f"reversed by entry {moved.entry_id + 1} · corrected by entry {moved.entry_id + 2}")
    assert (corrected.amount, corrected.links) == (Decimal("60000.00"), f"corrects entry {moved.entry_id}")
    # USD 250,000, 100,000 received: ¶4 keeps 90,000.00 outstanding, the unearmarked allocation has 60,000.00
    assert {a.paragraph: a.outstanding for a in detail.allocations} == {4: Decimal("90000.00"),
                                                                         None: Decimal("60000.00")}
