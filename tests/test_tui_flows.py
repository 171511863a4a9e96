"""Every user flow of the TUI end to end on a real SQLite ledger (Pilot), checked in the database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ledger import queries, services
from ledger.database import Ledger
from ledger.inputs import DonorIn, UserIn
from tests.test_tui_support import (
    AS_OF,
    SIZE,
    fill,
    open_new_form,
    open_worked_example,
    run_async,
    settle,
    text_of,
)
from tui.app import DonorLedgerApp
from tui.common import ConfirmDialog, MessageDialog
from tui.disbursements import DisbursementForm
from tui.forms import CodePicker, FormScreen, field_id
from tui.pledges import CancelForm, PledgeDetailScreen, PledgeForm, ReceiptForm
from tui.rates import RateForm
from tui.reversal import ReverseForm
from tui.tables import LazyTable


@pytest.fixture
def ledger(sqlite_url):
    opened = open_worked_example(sqlite_url)
    yield opened
    opened.close()


def app_on(ledger: Ledger, start: str) -> DonorLedgerApp:
    return DonorLedgerApp(ledger, as_of=AS_OF, start=start)


def no_errors(app) -> None:
    dialogs = [s for s in app.screen_stack if isinstance(s, MessageDialog)]
    assert not dialogs, [d.messages for d in dialogs]


async def select_pledge(pilot, app, reference: str) -> None:
    table = app.screen.query_one(LazyTable)
    await settle(pilot, app, lambda: table.loaded)
    for index in range(table.row_count):
        if table.row_key(index) == reference:
            table.move_cursor(row=index)
            await pilot.pause()
            return
    raise AssertionError(f"{reference} is not in the table")


async def start_import(pilot, screen, kind: str, path, key: str) -> None:
    """On the Import/export screen: the kind and the file, then `d` (dry run) or `i` (import)."""
    screen.query_one("#import-kind").value = kind
    screen.query_one("#import-path").value = str(path)
    await pilot.pause()
    screen.query_one("#import-log").focus()
    await pilot.press(key)


@run_async
async def test_enter_a_pledge_with_two_allocations(ledger):
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        await pilot.press("n")
        await settle(pilot, app, lambda: isinstance(app.screen, PledgeForm) and app.screen.query("#f-alloc-U"))
        form = app.screen
        await fill(pilot, form, reference="NOR-2016-01", donor="NOR", pledged_on="2016-03-01", total="300000")
        assert form.text("currency") == "NOK"  # the donor's usual currency
        await fill(pilot, form, **{"alloc.1": "200000.00"})
        assert "remainder 100,000" in text_of(form.query_one("#remainder"))
        # a problem shows at the field as the user types
        await fill(pilot, form, **{"alloc.U": "100000.001"})
        assert "decimals" in text_of(form.query_one("#p-alloc-U"))
        # each allocation's problem at its own field, beside the others of the pledge
        await fill(pilot, form, **{"alloc.1": "200000.005"}, due_on="2016-01-01")
        assert text_of(form.query_one("#p-alloc-1")).strip() == "200000.005 has more decimals than NOK allows (2)"
        assert text_of(form.query_one("#p-alloc-U")).strip() == "100000.001 has more decimals than NOK allows (2)"
        assert text_of(form.query_one("#p-due-on")).strip() == "2016-01-01 is before pledged_on (2016-03-01)"
        await fill(pilot, form, **{"alloc.1": "200000.00"})
        await fill(pilot, form, **{"alloc.U": "100000"}, due_on="2016-12-01")
        assert "remainder 0" in text_of(form.query_one("#remainder"))
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen))
        no_errors(app)
    detail = queries.pledge_detail(ledger, "NOR-2016-01")
    assert detail is not None and detail.currency == "NOK" and detail.due_on == dt.date(2016, 12, 1)
    assert [(a.paragraph, a.amount) for a in detail.allocations] == [(1, Decimal("200000.00")), (None, Decimal("100000.00"))]


@run_async
async def test_a_new_pledge_is_selected_for_its_receipt(ledger):
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        await pilot.press("n")
        await settle(pilot, app, lambda: isinstance(app.screen, PledgeForm) and app.screen.query("#f-alloc-U"))
        await fill(pilot, app.screen, reference="P3", donor="USA", pledged_on="2012-01-05", **{"alloc.4": "5000"})
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen))
        table = app.screen.query_one(LazyTable)
        await settle(pilot, app, lambda: table.loaded and table.row_key() == "P3")
        assert app.focused is table
        await pilot.press("r")
        await settle(pilot, app, lambda: isinstance(app.screen, ReceiptForm))
        assert app.screen.detail.reference == "P3"


@run_async
async def test_escape_leaves_a_form_without_saving(ledger):
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        await pilot.press("n")
        await settle(pilot, app, lambda: isinstance(app.screen, PledgeForm))
        form = app.screen
        await fill(pilot, form, reference="P9", donor="USA", **{"alloc.4": "10"})
        app.screen.set_focus(None)
        await pilot.press("escape")  # something was typed: asked first, and "n" keeps it
        await settle(pilot, app, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        await settle(pilot, app, lambda: app.screen is form)
        assert form.text("reference") == "P9"
        await pilot.press("escape")
        await settle(pilot, app, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen | ConfirmDialog))
        await pilot.press("n")  # a form nothing was typed in leaves at once
        await settle(pilot, app, lambda: isinstance(app.screen, PledgeForm) and app.screen is not form)
        await pilot.pause(0.2)
        app.screen.set_focus(None)
        await pilot.press("escape")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen | ConfirmDialog))
    assert queries.pledge_count(ledger) == 2


@run_async
async def test_record_a_receipt(ledger):
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        await select_pledge(pilot, app, "P2")
        await pilot.press("r")
        await settle(pilot, app, lambda: isinstance(app.screen, ReceiptForm))
        await fill(pilot, app.screen, reference="R3", received_on="2012-02-01", amount="50,000.00")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen))
        no_errors(app)
        table = app.screen.query_one(LazyTable)
        await settle(pilot, app, lambda: table.loaded)
    detail = queries.pledge_detail(ledger, "P2")
    assert detail.outstanding == Decimal("100000.00")
    assert [r.reference for r in detail.receipts] == ["R2", "R3"]


@run_async
async def test_a_receipt_larger_than_outstanding_is_refused_at_the_field(ledger):
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        await select_pledge(pilot, app, "P2")
        await pilot.press("r")
        await settle(pilot, app, lambda: isinstance(app.screen, ReceiptForm))
        await fill(pilot, app.screen, reference="R3", received_on="2012-02-01", amount="150000.01")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: "exceeds" in str(app.screen.query_one("#p-amount").render()))
        assert isinstance(app.screen, ReceiptForm)
    assert len(queries.pledge_detail(ledger, "P2").receipts) == 1


@run_async
async def test_disburse_with_automatic_funding(ledger):
    app = app_on(ledger, "disbursements")
    async with app.run_test(size=SIZE) as pilot:
        form = await open_new_form(pilot, app, DisbursementForm)
        await fill(pilot, form, reference="D2", activity="A4", disbursed_on="2011-09-01", amount="10000",
                   payee="UNODC GPCC")
        await settle(pilot, app, lambda: form.plan is not None)
        plan = text_of(form.query_one("#plan"))
        assert "P2" in plan and "ready to save" in plan
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen))
        no_errors(app)
    rows = queries.disbursements_page(ledger)
    d2 = next(r for r in rows if r.reference == "D2")
    assert d2.funded_by == "P2" and d2.usd == Decimal("10000.00") and d2.psc_usd == Decimal("1300.00")


@run_async
async def test_disbursement_refused_for_lack_of_funds(ledger):
    app = app_on(ledger, "disbursements")
    async with app.run_test(size=SIZE) as pilot:
        form = await open_new_form(pilot, app, DisbursementForm)
        await fill(pilot, form, reference="D2", activity="A4", disbursed_on="2011-09-01", amount="140000")
        await settle(pilot, app, lambda: form.plan is not None)
        plan = text_of(form.query_one("#plan"))
        assert "shortfall USD 13,359.78" in plan and "can fund USD 126,640.22" in plan
        assert "Lower the amount, or record the receipts" in plan  # what to do about it
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, DisbursementForm)  # still open, nothing written
        await pilot.press("escape")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen))
    assert queries.disbursement_count(ledger) == 1
    assert queries.journal_count(ledger) == 5


@run_async
async def test_the_correction_of_a_disbursement_previews_who_pays_with_the_original_reversed(ledger):
    """e on D1 (50,000 + PSC 6,500 from P1's paragraph 1, which held USD 86,206.90): corrected to
    70,000 it is planned with D1 reversed, all from P1's paragraph 1, ready to save. As a new
    disbursement the same 70,000 + PSC 9,100 would be refused: 72,810.35 is left beside D1."""
    app = app_on(ledger, "disbursements")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.screen.query_one(LazyTable).loaded)
        await pilot.press("e")
        await settle(pilot, app, lambda: isinstance(app.screen, DisbursementForm))
        form = app.screen
        await settle(pilot, app, lambda: form.text("amount") == "50000.00")
        await fill(pilot, form, amount="70000", correction_reason="the invoice says 70,000")
        await settle(pilot, app, lambda: form.plan is not None and form.plan.usd_cents == 7_000_000)
        plan = text_of(form.query_one("#plan"))
        assert "ready to save" in plan and "Refused" not in plan, plan
        assert [(s.pledge_reference, s.paragraph, s.usd_cents) for s in form.plan.splits] == [("P1", 1, 7_000_000)]
        assert queries.journal_count(ledger) == 5  # the preview wrote nothing
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen))
        no_errors(app)
    d1 = [r for r in queries.disbursements_page(ledger) if r.reference == "D1"]
    assert sorted(r.usd for r in d1) == [Decimal("50000.00"), Decimal("70000.00")]
    assert queries.journal_count(ledger) == 7  # the reversal and the corrected D1
    assert services.verify_chain(ledger).ok


@run_async
async def test_a_named_pledge_that_cannot_pay_says_what_to_do(ledger):
    app = app_on(ledger, "disbursements")
    async with app.run_test(size=SIZE) as pilot:
        form = await open_new_form(pilot, app, DisbursementForm)
        await fill(pilot, form, reference="D2", activity="A1", disbursed_on="2011-09-01", amount="100", pledge="P2")
        await settle(pilot, app, lambda: "Refused" in text_of(form.query_one("#plan")))
        plan = text_of(form.query_one("#plan"))
        assert "P2" in plan and "leave the funding pledge empty" in plan, plan


@run_async
async def test_reverse_a_disbursement_and_see_it_struck_through(ledger):
    app = app_on(ledger, "disbursements")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        table = app.screen.query_one(LazyTable)
        await settle(pilot, app, lambda: table.loaded and table.row_key() == "D1")
        await pilot.press("x")
        await settle(pilot, app, lambda: isinstance(app.screen, ReverseForm))
        await fill(pilot, app.screen, reason="paid twice", reversed_on="2011-09-02")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen))
        no_errors(app)
        await settle(pilot, app, lambda: table.loaded)
        assert table.row_key() == "D1"  # still the key, though shown struck through
        [row] = queries.disbursements_page(ledger)
        assert row.reversed_by == 6 and (row.usd, row.psc_usd) == (Decimal("50000.00"), Decimal("6500.00"))
        cells = table.paged.loaded_row(0)
        assert str(cells[8]) == "reversed #6"
        assert all("strike" in str(cell.spans[0].style) for cell in cells[:8])  # no figure reads as spending


@run_async
async def test_cancel_then_reverse_the_cancellation(ledger):
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        await select_pledge(pilot, app, "P2")
        await pilot.press("c")
        await settle(pilot, app, lambda: isinstance(app.screen, CancelForm))
        await fill(pilot, app.screen, amount="30000", cancelled_on="2013-01-15", reason="donor letter")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen))
        no_errors(app)
        detail = queries.pledge_detail(ledger, "P2")
        assert detail.outstanding == Decimal("120000.00")
        assert (detail.cancellations[0].amount, detail.cancellations[0].usd) == (Decimal("30000.00"),
                                                                                 Decimal("30000.00"))  # a USD pledge
        await select_pledge(pilot, app, "P2")
        await pilot.press("x")
        await settle(pilot, app, lambda: isinstance(app.screen, ReverseForm))
        form = app.screen
        assert form.query_one(f"#{field_id('entry_id')}").value == 6  # the cancellation, the latest entry
        await fill(pilot, form, reason="entered in error", reversed_on="2013-01-16")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen))
        no_errors(app)
    detail = queries.pledge_detail(ledger, "P2")
    assert detail.outstanding == Decimal("150000.00")
    assert detail.cancellations[0].reversed_by == 7


@run_async
async def test_pledge_detail_shows_allocations_receipts_spending_and_entries(ledger):
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        await select_pledge(pilot, app, "P1")
        await pilot.press("enter")
        await settle(pilot, app, lambda: isinstance(app.screen, PledgeDetailScreen))
        text = " ".join(text_of(w) for w in app.screen.query("Static"))
        for expected in ("152,578.58", "R1", "D1", "6,500.00", "disbursement"):
            assert expected in text
        detail = app.screen
        await pilot.press("r")  # a receipt from the detail: Esc comes back to the detail
        await settle(pilot, app, lambda: isinstance(app.screen, ReceiptForm))
        app.screen.set_focus(None)
        await pilot.press("escape")
        await settle(pilot, app, lambda: app.screen is detail)
        await pilot.press("r")  # saved: back on the list, which shows it
        await settle(pilot, app, lambda: isinstance(app.screen, ReceiptForm))
        await fill(pilot, app.screen, reference="R7", received_on="2012-02-01", amount="1000")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, ReceiptForm | PledgeDetailScreen))
        assert app.current_mode == "pledges"
        no_errors(app)
    assert [r.reference for r in queries.pledge_detail(ledger, "P1").receipts] == ["R1", "R7"]


@run_async
async def test_an_auditor_finds_no_write_action(ledger, tmp_path):
    services.add_user(ledger, UserIn(name="audra", role="auditor"))
    auditor = Ledger(ledger.url, user="audra")
    app = app_on(auditor, "dashboard")
    write_keys = {"pledges": "nrcx", "disbursements": "nx", "activities": "un", "donors": "ne", "rates": "n",
                  "users": "n", "settings": "s", "journal": "x", "transfer": "di"}
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Export the audit workbook" in titles and "Verify the journal" in titles
        for forbidden in ("New pledge", "Record a receipt", "New disbursement", "Add a donor", "Import a file",
                          "Set a ledger setting"):
            assert forbidden not in titles
        for mode, keys in write_keys.items():
            await app.switch_mode(mode)
            await settle(pilot, app)
            screen = app.screen
            shown = {binding.key for _, binding, enabled, _ in app.active_bindings.values() if enabled}
            for key in keys:
                assert key not in shown, (mode, key)
                await pilot.press(key)
                await settle(pilot, app)
                assert app.screen is screen, f"{mode}: {key} opened {app.screen}"
        await app.switch_mode("transfer")
        await settle(pilot, app)
        assert not any(button.display for button in app.screen.query("#dry-run, #import"))
    auditor.close()
    assert queries.pledge_count(ledger) == 2


@run_async
async def test_a_programme_lead_updates_an_activity_by_keyboard(ledger):
    from tests.builders import activity

    activity(ledger, "A1-02", 1, "1000", "planned", 0)
    services.add_user(ledger, UserIn(name="prog", role="programme"))
    lead = Ledger(ledger.url, user="prog")
    app = app_on(lead, "activities")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None and app.screen.data is not None)
        assert app.focused.id == "paragraph-list"  # ¶1 highlighted
        await pilot.press("tab")
        assert app.focused.id == "activities"  # Tab goes to the paragraph's activities
        table = app.screen.query_one("#activities")
        assert str(table.get_row_at(0)[2]) == "ongoing"  # status (then progress) right after the title
        await pilot.press("down", "enter")  # the second activity
        await settle(pilot, app, lambda: type(app.screen).__name__ == "ActivityUpdateForm")
        assert app.screen.activity.code == "A1-02"
        await fill(pilot, app.screen, progress_pct="35")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen))
        no_errors(app)
    lead.close()
    updated = next(a for a in queries.activities(ledger) if a.code == "A1-02")
    assert updated.progress_pct == 35


@run_async
async def test_import_shows_every_error_then_a_clean_import(ledger, tmp_path):
    bad = tmp_path / "donors.csv"
    bad.write_text("code,name,kind,country,currency\nJPN,Japan,member-state,JPN,JPY\n"
                   "CAN,Canada,member-state,XXX,CAD\nGBR,,member-state,GBR,GBP\n")
    app = app_on(ledger, "transfer")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        screen = app.screen
        await start_import(pilot, screen, "donors", bad, "d")
        await settle(pilot, app, lambda: "problem" in str(screen.query_one("#import-status").render()))
        widget = screen.query_one("#import-log")
        assert all(line.cell_length <= widget.size.width for line in widget.lines)  # wrapped, not cut off
        log = "".join(line.text for line in widget.lines).replace(" ", "")
        assert f"{bad}:3:country:" in log and f"{bad}:4:name:" in log
        assert "2 problems" in str(screen.query_one("#import-status").render())
        assert {d.code for d in queries.donors(ledger)} == {"NOR", "USA"}
        bad.write_text("code,name,kind,country,currency\nJPN,Japan,member-state,JPN,JPY\n"
                       "CAN,Canada,member-state,CAN,CAD\n")
        await pilot.press("i")
        await settle(pilot, app, lambda: "imported" in str(screen.query_one("#import-status").render()))
        no_errors(app)
    assert {d.code for d in queries.donors(ledger)} == {"CAN", "JPN", "NOR", "USA"}


@run_async
async def test_screens_shown_again_after_an_import_show_what_it_wrote(ledger, tmp_path):
    """A finance officer looks at the pledges, imports a file on screen 8, goes back: the new pledge is there."""
    pledges = tmp_path / "pledges.csv"
    pledges.write_text("reference,donor,pledged_on,currency,amount,paragraph\nNOR-2016-09,NOR,2016-09-01,NOK,1000,1\n")
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        status = lambda: str(app.screen.query_one("#pledges-status").render())  # noqa: E731
        await settle(pilot, app, lambda: "pledge(s)" in status())
        assert status().startswith("2 pledge(s)")
        await pilot.press("5")
        await settle(pilot, app, lambda: app.current_mode == "donors")
        await pilot.press("8")
        await settle(pilot, app, lambda: app.current_mode == "transfer")
        screen = app.screen
        await start_import(pilot, screen, "pledges", pledges, "i")
        await settle(pilot, app, lambda: "imported" in str(screen.query_one("#import-status").render()))
        services.save_donor(ledger, DonorIn(code="SWE", name="Sweden"))
        await pilot.press("2")
        await settle(pilot, app, lambda: app.current_mode == "pledges" and "pledge(s)" in status())
        assert status().startswith("3 pledge(s)")
        picker = app.screen.query_one(CodePicker)
        await settle(pilot, app, lambda: any(c.value.startswith("SWE") for c in picker.candidates))
        app.screen.query_one(LazyTable).focus()
        await pilot.press("8")  # nothing written meanwhile: the table keeps its place, no reload
        await settle(pilot, app, lambda: app.current_mode == "transfer")
        await pilot.press("2")
        await settle(pilot, app, lambda: app.current_mode == "pledges")
        assert status().startswith("3 pledge(s)")
        no_errors(app)


@run_async
async def test_escape_leaves_a_filter_field_and_keys_are_commands_again(ledger):
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None and app.screen.query_one(LazyTable).loaded)
        await pilot.press("slash", "N", "O", "R")
        search = app.screen.query_one("#filter-text")
        assert app.screen.focused is search and search.value == "NOR"
        await pilot.press("escape")
        assert isinstance(app.screen.focused, LazyTable)
        await pilot.press("s")  # a command again: the sort choice, not a letter in the search
        assert search.value == "NOR" and app.screen.focused is app.screen.query_one("#sort")
        await pilot.press("escape")
        assert isinstance(app.screen.focused, LazyTable)
        await pilot.press("3")
        await settle(pilot, app, lambda: app.current_mode == "disbursements")
        no_errors(app)


@run_async
async def test_a_rate_correction_needs_a_reason_at_its_field_and_keeps_both_values(ledger):
    app = app_on(ledger, "rates")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None and app.screen.rates)
        table = app.screen.query_one("#rates")
        form = await open_new_form(pilot, app, RateForm)
        await fill(pilot, form, currency="NOK", effective_from="2011-06-01", units_per_usd="5.9")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: "needs a reason" in str(form.query_one("#p-reason").render()))
        assert "differs from the stored rate 5.80" in str(form.query_one("#p-reason").render())
        await fill(pilot, form, reason="UN circular misread")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen)
                     and str(table.get_row_at(5)[2]) == "5.900000")
        no_errors(app)
        assert table.row_count == 72 and table.get_row_at(5)[5] == "UN circular misread (2 values)"


@run_async
async def test_a_new_rate_is_selected_and_the_rates_filter_by_currency(ledger):
    app = app_on(ledger, "rates")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None and app.screen.rates)
        table = app.screen.query_one("#rates")
        assert table.row_count == 72  # NOK 5.80 on the 1st of every month of 2011, 6.00 from 2012 through 2016
        assert str(table.get_row_at(0)[2]) == "5.800000"  # six decimals: the column's points line up
        await open_new_form(pilot, app, RateForm)
        await fill(pilot, app.screen, currency="SEK", effective_from="2011-01-01", units_per_usd="6.5")  # after NOK
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen) and table.row_count == 73)
        no_errors(app)
        assert table.cursor_row == 72 and table.get_row_at(72)[:2] == ["SEK", "2011-01-01"]  # the rate just added
        await pilot.press("slash", "n", "o")
        await settle(pilot, app, lambda: table.row_count == 72)
        assert {table.get_row_at(i)[0] for i in range(72)} == {"NOK"}
        assert "(filter 'NO'; 73 in all)" in str(app.screen.query_one("#rates-status").render())


@run_async
async def test_export_the_workbook(ledger, tmp_path):
    target = tmp_path / "audit.xlsx"
    app = app_on(ledger, "transfer")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        screen = app.screen
        screen.query_one("#export-path").value = str(target)
        screen.query_one("#import-log").focus()
        await pilot.press("e")
        await settle(pilot, app, lambda: "Saved" in str(screen.query_one("#export-status").render()), timeout=60)
        status = str(screen.query_one("#export-status").render())
        no_errors(app)
    assert target.exists() and str(target) in status and "chain verified" in status


@run_async
async def test_export_from_the_dashboard_asks_before_writing(ledger, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    services.add_user(ledger, UserIn(name="audra", role="auditor"))
    auditor = Ledger(ledger.url, user="audra")
    app = app_on(auditor, "dashboard")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.screen.loaded is not None)
        await pilot.press("a", *list("2011-08-10"), "enter")
        await settle(pilot, app, lambda: app.screen.loaded.report.as_of == dt.date(2011, 8, 10))
        await pilot.press("e")
        await settle(pilot, app, lambda: type(app.screen).__name__ == "TransferScreen")
        screen = app.screen
        target = tmp_path / "donor-ledger-2011-08-10.xlsx"
        assert screen.query_one("#export-as-of").value == "2011-08-10"  # the dashboard's date
        assert screen.query_one("#export-path").value == str(target)
        assert app.focused.id == "export-path" and not target.exists()  # nothing written yet
        await pilot.press("enter")
        await settle(pilot, app, lambda: "Saved" in str(screen.query_one("#export-status").render()), timeout=60)
        assert target.exists()
        written = target.stat().st_mtime_ns
        await pilot.press("enter")  # again: the file exists, so it asks first
        await settle(pilot, app)
        assert "already exists" in str(screen.query_one("#export-status").render())
        assert target.stat().st_mtime_ns == written
        no_errors(app)
    auditor.close()


@run_async
async def test_verify_shows_the_result(ledger):
    app = app_on(ledger, "journal")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        await pilot.press("v")
        await settle(pilot, app, lambda: "intact" in str(app.screen.query_one("#verify-result").render()))
        assert "5 entries" in str(app.screen.query_one("#verify-result").render())


@run_async
async def test_the_dashboard_checks_the_chain_again_after_new_entries(ledger):
    from ledger.inputs import ReceiptIn

    app = app_on(ledger, "dashboard")
    async with app.run_test(size=SIZE) as pilot:
        chain = lambda: str(app.screen.query_one("#chain").render())  # noqa: E731
        await settle(pilot, app, lambda: "intact" in chain())
        assert "5 entries," in chain()
        await pilot.press("2")
        await settle(pilot, app, lambda: app.current_mode == "pledges")
        services.record_receipt(ledger, ReceiptIn(reference="R9", pledge="P2", received_on="2012-01-05",
                                                  amount="1000"))
        await pilot.press("1")
        await settle(pilot, app, lambda: app.current_mode == "dashboard" and "6 entries," in chain())
        no_errors(app)


@run_async
async def test_dashboard_shows_the_worked_example_and_the_as_of_date_changes(ledger):
    app = app_on(ledger, "dashboard")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.screen.loaded is not None)
        table = text_of(app.screen.query_one("#funding"))
        for figure in ("229,310.34", "6,500.00", "172,810.34"):  # the funding view's totals
            assert figure in table
        assert app.screen.loaded.report.totals.gap == 27_113_213
        await pilot.press("a")
        await pilot.press(*list("2011-08-10"), "enter")
        await settle(pilot, app, lambda: app.screen.loaded.report.as_of == dt.date(2011, 8, 10))
        assert "129,310.34" in text_of(app.screen.query_one("#funding"))
        assert app.screen.loaded.report.totals.received == 12_931_034
        assert "requirement and progress as recorded at" in text_of(app.screen.query_one("#dash-meta"))
        for wrong in ("2999-01-01", "2011-02-30"):  # the future, no such day: refused, the field put back
            await pilot.press("a")
            await pilot.press(*list(wrong), "enter")
            await settle(pilot, app)
            assert app.screen.query_one("#as-of").value == "2011-08-10" and app.as_of == dt.date(2011, 8, 10)
        await settle(pilot, app, lambda: app.chain is not None)
        assert app.chain.ok


@run_async
async def test_command_palette_finds_screens_and_actions(ledger):
    app = app_on(ledger, "dashboard")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Go to Pledges", "Go to Journal", "New pledge", "New disbursement", "Verify the journal",
                      "Export the audit workbook", "Update an activity", "Add a donor", "Add an exchange rate",
                      "Go to Ledger settings", "Set a ledger setting"):
            assert title in titles
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*list("new pledge"))
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot, app, lambda: isinstance(app.screen, PledgeForm))
        await pilot.press("f1")
        await pilot.pause(0.2)
        assert type(app.screen).__name__ == "HelpScreen"


async def select_entry(pilot, app, entry_id: int) -> None:
    table = app.screen.query_one(LazyTable)
    await settle(pilot, app, lambda: table.loaded)
    for index in range(table.row_count):
        if int(str(table.row_key(index)).strip()) == entry_id:
            table.move_cursor(row=index)
            await pilot.pause()
            return
    raise AssertionError(f"entry {entry_id} is not in the table")


@run_async
async def test_correct_a_receipt_from_the_journal(ledger):
    """e on a receipt's entry opens the receipt form filled in with it; saving with a reason
    reverses it and posts the corrected receipt under its reference, linked both ways."""
    r2 = queries.pledge_detail(ledger, "P2").receipts[0]
    app = app_on(ledger, "journal")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        await select_entry(pilot, app, r2.entry_id)
        await pilot.press("e")
        await settle(pilot, app, lambda: isinstance(app.screen, ReceiptForm))
        form = app.screen
        await settle(pilot, app, lambda: form.text("amount") == "100000.00")
        assert (form.text("reference"), form.text("received_on")) == ("R2", r2.received_on.isoformat())
        assert form.query_one(f"#{field_id('reference')}").disabled
        await pilot.press("ctrl+s")  # no reason yet: refused at its field
        await settle(pilot, app)
        assert isinstance(app.screen, ReceiptForm)
        assert "give the reason" in text_of(form.query_one("#p-correction-reason"))
        await fill(pilot, form, amount="120,000.00", correction_reason="the bank statement says 120,000")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen))
        no_errors(app)
        await select_entry(pilot, app, r2.entry_id)  # the lines panel names both links of the original
        links = f"reversed by entry {r2.entry_id + 2} · corrected by entry {r2.entry_id + 3}"
        await settle(pilot, app, lambda: links in text_of(app.screen.query_one("#lines")))
    detail = queries.pledge_detail(ledger, "P2")
    original, corrected = detail.receipts
    assert (original.entry_id, original.amount, original.links) == (
        r2.entry_id, Decimal("100000.00"), f"reversed by entry {r2.entry_id + 2} · corrected by entry {r2.entry_id + 3}")
    assert (corrected.reference, corrected.amount, corrected.links) == ("R2", Decimal("120000.00"),
                                                                        f"corrects entry {r2.entry_id}")
    assert services.verify_chain(ledger).ok


@run_async
async def test_correct_a_pledge_from_the_pledges_screen(ledger):
    from ledger.inputs import PledgeIn

    services.record_pledge(ledger, PledgeIn(reference="P3", donor="USA", pledged_on="2016-03-01", currency="USD",
                                            allocations=[{"paragraph": 4, "amount": "1000"}]))
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        await select_pledge(pilot, app, "P3")
        await pilot.press("e")
        await settle(pilot, app, lambda: isinstance(app.screen, PledgeForm))
        form = app.screen
        await settle(pilot, app, lambda: bool(form.query(f"#{field_id('alloc.4')}")) and form.text("alloc.4") == "1000.00")
        assert (form.text("reference"), form.text("donor"), form.text("pledged_on")) == ("P3", "USA", "2016-03-01")
        await fill(pilot, form, donor="NOR", correction_reason="the Norwegian agreement")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen))
        no_errors(app)
    detail = queries.pledge_detail(ledger, "P3")
    assert (detail.donor, detail.amount, detail.links) == ("NOR", Decimal("1000.00"), f"corrects entry {detail.corrects}")
    assert detail.corrects is not None


@run_async
async def test_the_statement_of_a_donor_and_its_workbook(ledger, tmp_path):
    """Donors, `s` on NOR: the worked example's P1 (NOK 1,500,000 at 5.80 = USD 258,620.69 pledged,
    NOK 750,000 received = 129,310.34; D1 paid 50,000 + PSC 6,500 from P1's paragraph 1), then `x`."""
    from openpyxl import load_workbook

    from tui.statement import StatementDialog

    target = tmp_path / "nor.xlsx"
    app = app_on(ledger, "donors")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None and app.screen.donors)
        table = app.screen.query_one("#donors")
        table.move_cursor(row=[d.code for d in app.screen.donors].index("NOR"))
        await pilot.press("s")
        await settle(pilot, app, lambda: isinstance(app.screen, StatementDialog)
                     and "loading" not in text_of(app.screen.query_one("#statement")))
        shown = text_of(app.screen.query_one("#statement"))
        assert "Statement of NOR Norway, as of 2016-12-31" in shown
        assert "P1 (signed)" in shown and "receipt R1" in shown and "¶1 A1" in shown
        app.screen.query_one("#statement-path").value = str(target)
        app.screen.query_one("#statement-box").focus()
        await pilot.press("x")
        await settle(pilot, app, lambda: "Saved" in text_of(app.screen.query_one("#statement-status")), timeout=60)
        assert "chain verified" in text_of(app.screen.query_one("#statement-status"))
        await pilot.press("escape")
        await settle(pilot, app)
        assert app.current_mode == "donors" and not isinstance(app.screen, StatementDialog)
        no_errors(app)
    total = [r for r in load_workbook(target)["Statement"].iter_rows(values_only=True) if r[0] == "Total"][0]
    # pledged 258,620.69, cancelled 0, received 129,310.34, refunded 0, outstanding NOK 750,000 at 6.00 =
    # 125,000.00, spent 50,000.00, PSC 6,500.00, balance 129,310.34 - 50,000 - 6,500 = 72,810.34
    assert [Decimal(str(v)) for v in total[7:]] == [Decimal(v) for v in (
        "258620.69", "0", "129310.34", "0", "125000", "50000", "6500", "72810.34")]
