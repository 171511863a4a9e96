"""Pilot tests: recording an announced pledge, signing and withdrawing it from the pledge detail."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import Select

from ledger import queries, services
from ledger.inputs import UserIn
from tests.builders import pledge
from tests.test_tui_flows import app_on, no_errors, select_pledge
from tests.test_tui_support import SIZE, fill, open_new_form, open_worked_example, run_async, settle, text_of
from tui.forms import FormScreen, field_id
from tui.pledges import PledgeDetailScreen, PledgeForm, SignForm, WithdrawForm


@pytest.fixture
def ledger(sqlite_url):
    opened = open_worked_example(sqlite_url)
    yield opened
    opened.close()


def announce(ledger, reference: str) -> None:
    pledge(ledger, reference, "NOR", "2013-03-01", "NOK", {2: "600000"}, stage="announced")


async def open_detail(pilot, app, reference: str) -> None:
    """From the pledges list: the detail of pledge ``reference``."""
    await select_pledge(pilot, app, reference)
    await pilot.press("enter")
    await settle(pilot, app, lambda: isinstance(app.screen, PledgeDetailScreen))


async def act_in_form(pilot, app, key: str, form_type, **values: str) -> None:
    """On a pledge's detail: ``key`` opens ``form_type``, filled with ``values`` and saved; back past the detail."""
    await pilot.press(key)
    await settle(pilot, app, lambda: isinstance(app.screen, form_type))
    await fill(pilot, app.screen, **values)
    await pilot.press("ctrl+s")
    await settle(pilot, app, lambda: not isinstance(app.screen, form_type | PledgeDetailScreen))
    no_errors(app)


@run_async
async def test_record_an_announced_pledge_in_the_form(ledger):
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        form = await open_new_form(pilot, app, PledgeForm)
        await settle(pilot, app, lambda: form.query("#f-alloc-U"))
        await fill(pilot, form, reference="NOR-2013-A", donor="NOR", pledged_on="2013-03-01", **{"alloc.2": "600000"})
        form.query_one(f"#{field_id('stage')}", Select).value = "announced"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: not isinstance(app.screen, FormScreen))
        no_errors(app)
    detail = queries.pledge_detail(ledger, "NOR-2013-A")
    assert (detail.stage, detail.status, detail.signed_on) == ("announced", "announced", None)
    assert detail.allocations[0].pledged_usd == 0  # no revenue until signed


@run_async
async def test_sign_an_announced_pledge_from_its_detail(ledger):
    announce(ledger, "NOR-2013-A")
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        await open_detail(pilot, app, "NOR-2013-A")
        assert "announced, not signed" in " ".join(text_of(w) for w in app.screen.query("Static"))
        await act_in_form(pilot, app, "s", SignForm, signed_on="2013-05-02", agreement="NOR agreement 2013/7")
    detail = queries.pledge_detail(ledger, "NOR-2013-A")
    assert (detail.stage, detail.signed_on) == ("signed", dt.date(2013, 5, 2))
    assert str(detail.allocations[0].pledged_usd) == "100000.00"  # NOK 600,000 at 6.00, the signing's rate


@run_async
async def test_withdraw_an_announced_pledge_and_no_sign_or_withdraw_on_a_signed_one(ledger):
    announce(ledger, "NOR-2013-A")
    app = app_on(ledger, "pledges")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, lambda: app.actor is not None)
        await open_detail(pilot, app, "P1")  # signed: s and w do nothing
        assert not app.screen.check_action("act", ("sign",)) and not app.screen.check_action("act", ("withdraw",))
        await pilot.press("escape")
        await settle(pilot, app, lambda: not isinstance(app.screen, PledgeDetailScreen))
        await open_detail(pilot, app, "NOR-2013-A")
        await act_in_form(pilot, app, "w", WithdrawForm, withdrawn_on="2013-06-03", reason="the donor's budget was cut")
    detail = queries.pledge_detail(ledger, "NOR-2013-A")
    assert (detail.stage, detail.withdrawn_on, detail.status) == ("withdrawn", dt.date(2013, 6, 3), "withdrawn")


@run_async
async def test_an_auditor_sees_no_sign_or_withdraw(ledger):
    from ledger.database import Ledger

    announce(ledger, "NOR-2013-A")
    services.add_user(ledger, UserIn(name="audra", role="auditor"))
    auditor = Ledger(ledger.url, user="audra")
    try:
        app = app_on(auditor, "pledges")
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, app, lambda: app.actor is not None)
            await open_detail(pilot, app, "NOR-2013-A")
            assert not app.screen.check_action("act", ("sign",))
            await pilot.press("s")
            await pilot.pause()
            assert isinstance(app.screen, PledgeDetailScreen)
    finally:
        auditor.close()


@run_async
async def test_the_dashboard_shows_the_pipeline_on_screen_at_120x30_and_80x24(ledger):
    """NOK 600,000 announced 2013-03-01 at 6.00: USD 100,000.00, not part of pledged. The pipeline line
    stands whole on screen, inside the alerts panel, without scrolling, at 120x30 and at 80x24; `p`
    lists the announced pledges."""
    from textual.geometry import Region

    from tui.dashboard import PipelineDialog

    announce(ledger, "NOR-2013-A")
    for size in ((120, 30), (80, 24)):
        app = app_on(ledger, "dashboard")
        async with app.run_test(size=size) as pilot:
            await settle(pilot, app, lambda app=app: getattr(app.screen, "loaded", None) is not None)
            await pilot.pause(0.2)
            line, panel = app.screen.query_one("#pipeline"), app.screen.query_one("#alerts-box")
            assert text_of(line).strip() == "Pipeline: 1 announced pledge, USD 100,000.00 · p lists"
            assert line.region.height == 1, (size, line.region)  # one line, not wrapped
            assert Region(0, 0, *size).contains_region(line.region), (size, line.region)
            assert panel.content_region.contains_region(line.region), (size, line.region, panel.content_region)
            await pilot.press("p")
            await settle(pilot, app, lambda app=app: isinstance(app.screen, PipelineDialog))
            shown = app.screen.query_one("#pipeline-list")
            assert shown.region.height >= 5 and Region(0, 0, *size).contains_region(shown.region), shown.region
            listed = text_of(shown)
            row = next(r for r in listed.splitlines() if "NOR-2013-A" in r)
            assert row.split() == ["NOR", "NOR-2013-A", "2013-03-01", "NOK", "600,000.00", "100,000.00"], row
            await pilot.press("escape")
            await settle(pilot, app)
            assert not isinstance(app.screen, PipelineDialog)
            no_errors(app)
