"""Snapshots of the main screens on the worked example (docs/worked-example.md), 120x40.

Stable by construction: the as-of date is fixed (2016-12-31), every stored timestamp is a
fixed moment (so the hashes are the same on every run), and dates that forms would default
to today are typed in. Update with ``--snapshot-update`` only after looking at the diff.
"""

from __future__ import annotations

import pytest

from ledger.inputs import DonorIn
from tests.test_tui_support import AS_OF, SIZE, freeze_clock, open_worked_example, settle
from tui.app import DonorLedgerApp
from tui.forms import field_id


@pytest.fixture
def example(sqlite_url, monkeypatch):
    freeze_clock(monkeypatch)
    ledger = open_worked_example(sqlite_url)
    from ledger import services

    services.save_donor(ledger, DonorIn(code="NOR", name="Kingdom of Norway", kind="member-state", country="NOR",
                                        currency="NOK"))
    yield ledger
    ledger.close()


def app_on(ledger, start: str) -> DonorLedgerApp:
    return DonorLedgerApp(ledger, as_of=AS_OF, start=start)


def loaded(condition=None):
    async def run_before(pilot):
        app = pilot.app
        await settle(pilot, app, lambda: app.actor is not None)
        await settle(pilot, app, (lambda: condition(app)) if condition else None)
        app.screen.set_focus(app.screen.focused)  # no blinking cursor state to differ
        await pilot.pause(0.2)

    return run_before


def test_dashboard(snap_compare, example):
    assert snap_compare(app_on(example, "dashboard"), terminal_size=SIZE,
                        run_before=loaded(lambda app: app.screen.loaded is not None and app.chain
                                          and app.screen.alerts is not None))


def test_pledges(snap_compare, example):
    assert snap_compare(app_on(example, "pledges"), terminal_size=SIZE, run_before=loaded())


def test_pledge_detail(snap_compare, example):
    async def run_before(pilot):
        await loaded()(pilot)
        await pilot.press("enter")
        await loaded(lambda app: type(app.screen).__name__ == "PledgeDetailScreen")(pilot)

    assert snap_compare(app_on(example, "pledges"), terminal_size=SIZE, run_before=run_before)


def test_new_pledge_form(snap_compare, example):
    async def run_before(pilot):
        await loaded()(pilot)
        await pilot.press("n")
        await loaded(lambda app: app.screen.query("#f-alloc-U"))(pilot)
        form = pilot.app.screen
        for name, value in (("reference", "NOR-2016-01"), ("donor", "NOR"), ("pledged_on", "2016-03-01"),
                            ("total", "300000"), ("alloc.1", "200000"), ("alloc.3", "1.234")):
            form.query_one(f"#{field_id(name)}").value = value
            form.touched.add(name)
        form.validate_form()
        form.query_one(f"#{field_id('alloc.U')}").focus()
        await settle(pilot, pilot.app)

    assert snap_compare(app_on(example, "pledges"), terminal_size=SIZE, run_before=run_before)


def test_disbursement_refused(snap_compare, example):
    async def run_before(pilot):
        await loaded()(pilot)
        await pilot.press("n")
        await loaded(lambda app: type(app.screen).__name__ == "DisbursementForm")(pilot)
        form = pilot.app.screen
        for name, value in (("reference", "D2"), ("activity", "A4"), ("disbursed_on", "2011-09-01"),
                            ("amount", "140000")):
            form.query_one(f"#{field_id(name)}").value = value
        payee = form.query_one(f"#{field_id('payee')}")
        payee.focus()
        await pilot.pause()
        payee.cursor_blink = False  # the cursor stays shown however long the plan takes (no blink state to differ)
        await settle(pilot, pilot.app, lambda: form.plan is not None)

    assert snap_compare(app_on(example, "disbursements"), terminal_size=SIZE, run_before=run_before)


def test_activities(snap_compare, example):
    assert snap_compare(app_on(example, "activities"), terminal_size=SIZE,
                        run_before=loaded(lambda app: app.screen.data is not None))


def test_donors(snap_compare, example):
    assert snap_compare(app_on(example, "donors"), terminal_size=SIZE, run_before=loaded())


def test_journal_verified(snap_compare, example):
    async def run_before(pilot):
        await loaded()(pilot)
        await pilot.press("v")
        await loaded(lambda app: "intact" in str(app.screen.query_one("#verify-result").render()))(pilot)

    assert snap_compare(app_on(example, "journal"), terminal_size=SIZE, run_before=run_before)


def test_import_export(snap_compare, example):
    async def run_before(pilot):
        await loaded()(pilot)
        pilot.app.screen.query_one("#export-path").value = "/tmp/audit-2016-12-31.xlsx"
        await settle(pilot, pilot.app)

    assert snap_compare(app_on(example, "transfer"), terminal_size=SIZE, run_before=run_before)
