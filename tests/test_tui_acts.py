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


@run_async
async def test_the_journal_opens_each_act_on_a_pledge_filled_in_to_correct_it(ledger):
    """e on a refund, a schedule, a signing, a withdrawal and a closing: the form of its kind, filled in."""
    from ledger import services
    from ledger.inputs import ScheduleIn, SigningIn, WithdrawalIn
    from tests.builders import close
    from tests.test_tui_flows import select_entry
    from tui.pledges import ScheduleForm, SignForm, WithdrawForm

    pledge(ledger, "P3", "USA", "2012-01-01", "USD", {1: "100"})
    receipt(ledger, "R3", "P3", "2012-01-02", "100")
    refunded = refund(ledger, "P3", "2012-01-03", "100", unearmarked=False, paragraph=1)
    closed = close(ledger, "P3", "2012-01-04")
    plan = services.schedule_pledge(ledger, ScheduleIn(pledge="P2", reason="annex 2", instalments=[
        {"due_on": "2012-06-30", "amount": "50000"}, {"due_on": "2012-12-31", "amount": "200000"}]))
    pledge(ledger, "P4", "USA", "2012-01-01", "USD", {4: "300"}, stage="announced")
    signed = services.sign_pledge(ledger, SigningIn(pledge="P4", signed_on="2012-02-01", agreement="CA-4"))
    pledge(ledger, "P5", "USA", "2012-01-01", "USD", {4: "500"}, stage="announced")
    withdrawn = services.withdraw_pledge(ledger, WithdrawalIn(pledge="P5", withdrawn_on="2012-03-01", reason="no"))
    expected = [
        (refunded.entry_id, RefundForm, {"amount": "100.00", "refunded_on": "2012-01-03", "reason": "unspent balance"},
         ("paragraph", 1)),
        (closed.entry_id, ClosePledgeForm, {"closed_on": "2012-01-04"}, None),
        (plan.entry_id, ScheduleForm, {"instalments": "2012-06-30=50000.00, 2012-12-31=200000.00", "reason": "annex 2"},
         None),
        (signed.entry_id, SignForm, {"signed_on": "2012-02-01", "agreement": "CA-4"}, None),
        (withdrawn.entry_id, WithdrawForm, {"withdrawn_on": "2012-03-01", "reason": "no"}, None),
    ]
    app = app_on(ledger, "journal")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        for entry_id, form_class, texts, choice in expected:
            await select_entry(pilot, app, entry_id)
            await pilot.press("e")
            await settle(pilot, app, lambda form_class=form_class: isinstance(app.screen, form_class))
            form = app.screen
            await settle(pilot, app, lambda form=form, texts=texts: all(form.text(k) == v for k, v in texts.items()))
            assert form.correcting[0] == entry_id
            if choice:
                assert form.selected(choice[0]) == choice[1]
            await pilot.press("escape")
            await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen))
        no_errors(app)


def _shown_problems(form) -> str:
    """Every problem the form shows, at its fields and below them."""
    return " ".join(str(w.render()) for w in form.query(".problem")) + " " + str(form.query_one("#form-problems").render())


async def _refused(pilot, app, form_type, **values) -> str:
    """Fill and save the open form; it stays open, refused: what it shows."""
    form = app.screen
    assert isinstance(form, form_type)
    await fill(pilot, form, **values)
    await pilot.press("ctrl+s")
    await settle(pilot, app, lambda: _shown_problems(form).strip() not in ("", "Saving…"))
    assert isinstance(app.screen, form_type)
    return _shown_problems(form)


@run_async
async def test_the_forms_refuse_a_receipt_on_an_announced_pledge_a_refund_above_cash_and_a_reallocation_above_outstanding(
        ledger):
    """Each refusal is shown in its form with the rule's message, and nothing is written."""
    from tests.builders import entry_count
    from tui.pledges import ReceiptForm

    pledge(ledger, "P9", "NOR", "2013-03-01", "NOK", {2: "600000"}, stage="announced")
    before = entry_count(ledger)
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        await open_act(pilot, app, "P9", "r", ReceiptForm)
        shown = await _refused(pilot, app, ReceiptForm, reference="R9", received_on="2013-04-01", amount="1000")
        assert "pledge P9 is announced, not signed: sign it first" in shown, shown
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:  # P2 holds USD 100,000.00 of cash on ¶4 (R2)
        await open_act(pilot, app, "P2", "f", RefundForm)
        app.screen.query_one(f"#{field_id('paragraph')}", Select).value = 4
        shown = await _refused(pilot, app, RefundForm, amount="200000", refunded_on="2012-01-03", reason="unspent")
        assert "exceeds the USD 100,000.00 of cash it holds from 2012-01-03 on" in shown, shown
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:  # P1's ¶1: NOK 500,000.00 outstanding after R1 (500,000 of 750,000)
        await open_act(pilot, app, "P1", "m", ReallocateForm)
        app.screen.query_one(f"#{field_id('target')}", Select).value = 2
        shown = await _refused(pilot, app, ReallocateForm, amount="600000.00", reallocated_on="2012-01-02",
                               consent="letter of 2011-12-20")
        assert "cannot reallocate NOK 600,000.00: only NOK 500,000.00 is outstanding" in shown, shown
        no_errors(app)
    assert entry_count(ledger) == before
