"""Pilot tests of the history screens and of a budget revision from the TUI
(docs/tui.md, docs/rules.md#reference-data-versions)."""

from __future__ import annotations

import pytest

from ledger import queries, services
from ledger.database import Ledger
from ledger.inputs import UserIn
from tests.builders import activity
from tests.test_tui_support import AS_OF, SIZE, fill, open_worked_example, run_async, settle, text_of
from tui.activities import ActivityUpdateForm
from tui.app import DonorLedgerApp
from tui.forms import FormScreen
from tui.history import HistoryDialog


@pytest.fixture
def ledger(sqlite_url):
    opened = open_worked_example(sqlite_url)
    activity(opened, "A1-02", 1, "1000", "planned", 0)
    services.add_user(opened, UserIn(name="prog", role="programme"))
    yield opened
    opened.close()


async def open_update_form(pilot, app) -> ActivityUpdateForm:
    await settle(pilot, app, lambda: app.actor is not None and app.screen.data is not None)
    await pilot.press("tab", "down", "u")  # ¶1's second activity
    await settle(pilot, app, lambda: isinstance(app.screen, ActivityUpdateForm))
    assert app.screen.activity.code == "A1-02"
    return app.screen


@run_async
async def test_a_budget_revision_from_the_tui_asks_for_the_reason(ledger):
    lead = Ledger(ledger.url, user="prog")
    app = DonorLedgerApp(lead, as_of=AS_OF, start="activities")
    async with app.run_test(size=SIZE) as pilot:
        form = await open_update_form(pilot, app)
        await fill(pilot, form, budget_usd="2500")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: "needs a reason" in text_of(form.query_one("#p-reason")))
        assert isinstance(app.screen, ActivityUpdateForm)  # not saved: the form stays open
        assert text_of(form.query_one("#p-reason")).strip() == (
            "a revision of the budget of activity A1-02 (from USD 1,000.00 to USD 2,500.00) needs a reason")
        await fill(pilot, form, reason="workshop added")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen))
        await pilot.press("h")  # the history of the activity, its new version last
        await settle(pilot, app, lambda: isinstance(app.screen, HistoryDialog))
        shown = text_of(app.screen.query_one("#history"))
        assert "workshop added" in shown and "budget_usd: 1000.00 → 2500.00" in shown and "prog" in shown
        await pilot.press("escape")
    lead.close()
    last = queries.history(ledger, "activities", "A1-02")[-1]
    assert (last.version, last.user, last.reason) == (2, "prog", "workshop added")
    assert next(a for a in queries.activities(ledger) if a.code == "A1-02").budget_usd == 2500


@run_async
async def test_the_donor_screen_shows_the_selected_donors_versions(ledger):
    from ledger.inputs import DonorIn

    services.save_donor(ledger, DonorIn(code="NOR", name="Kingdom of Norway", kind="member-state"),
                        reason="official name")
    app = DonorLedgerApp(ledger, as_of=AS_OF, start="donors")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: "official name" in text_of(app.screen.query_one("#trail")))
        shown = text_of(app.screen.query_one("#trail"))
        assert "name: Norway → Kingdom of Norway" in shown and "name = Norway" in shown
