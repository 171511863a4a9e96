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


@run_async
async def test_the_users_screen_shows_the_selected_users_versions(ledger):
    services.add_user(ledger, UserIn(name="kim", role="programme"))
    services.add_user(ledger, UserIn(name="kim", role="finance"))
    app = DonorLedgerApp(ledger, as_of=AS_OF, start="users")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: bool(getattr(app.screen, "users", None)))
        names = [u.name for u in app.screen.users]
        assert names == ["kim", "officer", "prog"]
        await settle(pilot, app, lambda: "User kim" in text_of(app.screen.query_one("#trail")))
        shown = text_of(app.screen.query_one("#trail"))
        assert "role = programme" in shown and "role: programme → finance" in shown and "officer" in shown
        await pilot.press("down", "down")  # prog, added by the fixture
        await settle(pilot, app, lambda: "User prog" in text_of(app.screen.query_one("#trail")))
        assert "role = programme" in text_of(app.screen.query_one("#trail"))
        assert "finance" not in text_of(app.screen.query_one("#trail"))


@run_async
async def test_the_settings_screen_lists_settings_and_their_history_read_only_but_for_an_admin(ledger):
    from tui.settings import SettingForm, SettingsScreen

    services.set_setting(ledger, "reminder_days", "14", "monthly calls")
    services.set_setting(ledger, "reminder_days", "21", "fortnight was short")
    lead = Ledger(ledger.url, user="prog")
    app = DonorLedgerApp(lead, as_of=AS_OF, start="users")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None and bool(getattr(app.screen, "users", None)))
        await pilot.press("s")  # from Users to the settings
        await settle(pilot, app, lambda: isinstance(app.screen, SettingsScreen) and bool(app.screen.in_force))
        assert [(n, v) for n, v, _ in app.screen.in_force][:3] == [
            ("usd_tolerance_pct", "10"), ("reminder_days", "21"), ("default_psc_rate", "13")]
        assert "never set: its default holds" in text_of(app.screen.query_one("#setting-history"))
        await pilot.press("down")
        await settle(pilot, app, lambda: "Setting reminder_days" in text_of(app.screen.query_one("#setting-history")))
        shown = [line.split() for line in text_of(app.screen.query_one("#setting-history")).splitlines()[2:] if line.strip()]
        assert [(row[0], row[3], row[4], " ".join(row[5:])) for row in shown] == [
            ("1", "officer", "14", "monthly calls"), ("2", "officer", "21", "fortnight was short")]
        await pilot.press("s")  # a programme lead may not change a setting: told so, no form
        await settle(pilot, app)
        assert isinstance(app.screen, SettingsScreen)
        assert "prog (programme) may not change ledger settings." in [n.message for n in app._notifications]
    lead.close()
    app = DonorLedgerApp(ledger, as_of=AS_OF, start="settings")  # officer, an admin
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None and bool(app.screen.in_force))
        await pilot.press("down", "s")
        await settle(pilot, app, lambda: isinstance(app.screen, SettingForm))
        await fill(pilot, app.screen, value="30", reason="back to the default")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: isinstance(app.screen, SettingsScreen)
                     and "back to the default" in text_of(app.screen.query_one("#setting-history")))
        services.set_setting(ledger, "iati_recipient_region", "998")
        await pilot.press("f5", *["down"] * 8, "s")  # iati_recipient_country, the last
        await settle(pilot, app, lambda: isinstance(app.screen, SettingForm))
        assert app.screen.setting == "iati_recipient_country"
        await fill(pilot, app.screen, value="KE")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: "iati_recipient_region is set" in text_of(app.screen.query_one("#p-value")))
        assert text_of(app.screen.query_one("#p-value")).strip() == (
            "iati_recipient_region is set (998): the recipient is a region or a country, not both; clear it first "
            '(settings set iati_recipient_region "")')
    assert [(v.name, v.value, v.reason) for v in queries.settings_history(ledger)] == [
        ("reminder_days", "14", "monthly calls"), ("reminder_days", "21", "fortnight was short"),
        ("reminder_days", "30", "back to the default"), ("iati_recipient_region", "998", "")]
