"""The type-ahead pickers (donor, activity) as a person types into them, key by key (Pilot)."""

from __future__ import annotations

import pytest

from tests.builders import activity, donor
from tests.test_tui_support import AS_OF, SIZE, open_worked_example, run_async, settle
from tui.app import DonorLedgerApp
from tui.disbursements import DisbursementForm
from tui.forms import CodePicker, field_id
from tui.pledges import PledgeForm


@pytest.fixture
def ledger(sqlite_url):
    opened = open_worked_example(sqlite_url)
    donor(opened, "GBR", "United Kingdom of Great Britain and Northern Ireland", country="GBR", currency="GBP")
    donor(opened, "NWS", "Northwind Security Ltd", kind="private-sector", country="USA", currency="EUR")
    activity(opened, "A1-01", 1, "1000")
    activity(opened, "A1-02", 1, "1000")
    yield opened
    opened.close()


async def type_keys(pilot, *keys: str) -> None:
    """Press keys one at a time, as a person types (each key handled before the next)."""
    for key in keys:
        await pilot.press(key)
        await pilot.pause(0.05)
    await pilot.pause(0.1)


def picker_of(screen, name: str) -> CodePicker:
    return next(p for p in screen.query(CodePicker) if p.target.id == field_id(name))


def offered(picker: CodePicker) -> list[str]:
    options = picker.option_list
    return [options.get_option_at_index(i).prompt.plain.split(" · ")[0] for i in range(options.option_count)]


async def open_form(pilot, app, form_type, first: str):
    await settle(pilot, app, lambda: app.actor is not None)
    await pilot.press("n")
    await settle(pilot, app, lambda: isinstance(app.screen, form_type) and app.screen.query(CodePicker))
    form = app.screen
    assert app.focused.id == field_id(first)
    return form


@run_async
async def test_donor_picker_ranks_the_code_first_and_tab_keeps_it_and_moves_on(ledger):
    app = DonorLedgerApp(ledger, as_of=AS_OF, start="pledges")
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, app, PledgeForm, "reference")
        await type_keys(pilot, *"NOR-2016-05", "tab", *"NOR")
        picker = picker_of(form, "donor")
        assert picker.display
        # the exact code first, then names that contain it; donors without "nor" are not offered
        assert offered(picker) == ["NOR", "GBR", "NWS"]
        await type_keys(pilot, "tab", *"2016-05-01")
        assert form.text("donor") == "NOR"
        assert form.text("pledged_on") == "2016-05-01"
        assert form.text("currency") == "NOK"  # the donor's currency, filled as for typing


@run_async
async def test_donor_picker_enter_on_a_name_match_fills_the_code_and_moves_on(ledger):
    app = DonorLedgerApp(ledger, as_of=AS_OF, start="pledges")
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, app, PledgeForm, "reference")
        await type_keys(pilot, "tab", *"northw")
        assert offered(picker_of(form, "donor")) == ["NWS"]
        await type_keys(pilot, "enter")
        assert form.text("donor") == "NWS"
        assert app.focused.id == field_id("pledged_on")
        assert form.text("currency") == "EUR"
        assert not picker_of(form, "donor").display
        # back in the field, Backspace edits the code like any text, and the list follows
        await type_keys(pilot, "shift+tab", "end", "backspace", "backspace")
        assert form.text("donor") == "N"
        assert offered(picker_of(form, "donor"))[:2] == ["NOR", "NWS"]


@run_async
async def test_activity_picker_backspace_then_enter_on_the_full_code(ledger):
    app = DonorLedgerApp(ledger, as_of=AS_OF, start="disbursements")
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, app, DisbursementForm, "reference")
        await type_keys(pilot, *"D-9", "tab", *"A1")
        assert offered(picker_of(form, "activity")) == ["A1", "A1-01", "A1-02"]
        await type_keys(pilot, "backspace", "backspace")
        assert form.text("activity") == ""
        await type_keys(pilot, *"A1-02")
        assert offered(picker_of(form, "activity")) == ["A1-02"]
        await type_keys(pilot, "enter")
        assert form.text("activity") == "A1-02"
        assert app.focused.id == field_id("disbursed_on")


@run_async
async def test_activity_picker_down_then_tab_takes_the_highlighted_code(ledger):
    app = DonorLedgerApp(ledger, as_of=AS_OF, start="disbursements")
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, app, DisbursementForm, "reference")
        await type_keys(pilot, "tab", *"A1", "down", "down", "tab")
        assert form.text("activity") == "A1-02"
        assert app.focused.id == field_id("disbursed_on")
