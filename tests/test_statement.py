"""Donor statements (`report statement`, `export --donor`): a worked example with every number by
hand, and the statement's totals equal to the donor's row of `report donors`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.donors import donor_report_for
from reports.statement import statement_for
from tests.builders import activity, cancel, disburse, donor, invoke_cli, pledge, receipt

AS_OF = dt.date(2016, 12, 31)


def two_pledges(ledger) -> None:
    """GER pledges USD 100,000 to paragraph 1 (due 2016-06-30) and USD 50,000 unearmarked, pays
    60,000 and 50,000, cancels 10,000 of the first; 10,000 is spent on A1 from the first (PSC 13%:
    1,300). SWE's pledge is another donor's and stays out of GER's statement."""
    donor(ledger, "GER", "Germany", iati_ref="XM-DAC-5")
    donor(ledger, "SWE", "Sweden")
    activity(ledger, "A1", 1, "80000", "ongoing", 10)
    pledge(ledger, "P1", "GER", "2016-01-10", "USD", {1: "100000"}, due_on="2016-06-30")
    pledge(ledger, "P2", "GER", "2016-02-01", "USD", {None: "50000"})
    pledge(ledger, "S1", "SWE", "2016-02-01", "USD", {1: "7000"})
    receipt(ledger, "R1", "P1", "2016-03-01", "60000")
    receipt(ledger, "R2", "P2", "2016-03-15", "50000")
    receipt(ledger, "R3", "S1", "2016-03-15", "7000")
    disburse(ledger, "D1", "A1", "2016-04-01", "10000", pledge="P1")
    cancel(ledger, "P1", "2016-05-01", "10000", reason="budget cut")


def test_worked_example_two_pledges_balance_by_hand(ledger):
    two_pledges(ledger)
    s = statement_for(ledger, "GER", AS_OF)
    assert (s.donor.donor, s.donor.name, s.iati_ref) == ("GER", "Germany", "XM-DAC-5")
    p1, p2 = s.pledges
    # P1: pledged 100,000.00 - 10,000.00 cancelled = 90,000.00; received 60,000.00; outstanding
    # 100,000 - 60,000 - 10,000 = 30,000.00; spent 10,000.00 with PSC 13% = 1,300.00;
    # balance 60,000 - 0 - 10,000 - 1,300 = 48,700.00
    assert (p1.reference, p1.stage, p1.amount, p1.schedule) == ("P1", "signed", 10_000_000, [(dt.date(2016, 6, 30), 10_000_000)])
    assert (p1.pledged, p1.cancelled, p1.received, p1.refunded, p1.outstanding_minor, p1.outstanding, p1.spent, p1.psc,
            p1.balance) == (9_000_000, 1_000_000, 6_000_000, 0, 3_000_000, 3_000_000, 1_000_000, 130_000, 4_870_000)
    assert [(e.kind, e.reference, e.receivable, e.pledged, e.cash) for e in p1.events] == [
        ("pledge", "P1", 10_000_000, 10_000_000, 0),
        ("receipt", "R1", -6_000_000, 0, 6_000_000),
        ("cancellation", "P1", -1_000_000, -1_000_000, 0),
    ]
    # P2: 50,000.00 pledged and received, nothing spent: balance 50,000.00; no due date, no schedule
    assert (p2.pledged, p2.received, p2.outstanding, p2.spent, p2.psc, p2.balance, p2.schedule) == (
        5_000_000, 5_000_000, 0, 0, 0, 5_000_000, [])
    # totals: pledged 90,000 + 50,000 = 140,000.00; received 110,000.00; outstanding 30,000.00;
    # balance 110,000 - 0 - 10,000 - 1,300 = 98,700.00
    assert s.totals() == {"pledged": 14_000_000, "cancelled": 1_000_000, "received": 11_000_000, "refunded": 0,
                          "outstanding": 3_000_000, "spent": 1_000_000, "psc": 130_000, "balance": 9_870_000}
    assert [(x.paragraph, x.activity, x.spent, x.psc) for x in s.spending] == [(1, "A1", 1_000_000, 130_000)]
    # as of before the cancellation and the spending: P1 still owes 40,000.00
    early = statement_for(ledger, "GER", dt.date(2016, 3, 31))
    assert early.totals()["outstanding"] == 4_000_000 and early.totals()["balance"] == 11_000_000


def _donor_row(ledger, code, as_of):
    return next(r for r in donor_report_for(ledger, as_of).rows if r.donor == code)


def test_statement_totals_are_the_donor_row_of_report_donors(ledger):
    two_pledges(ledger)
    for as_of in (dt.date(2016, 2, 15), dt.date(2016, 4, 15), AS_OF):
        s, row = statement_for(ledger, "GER", as_of), _donor_row(ledger, "GER", as_of)
        assert s.totals() == {key: getattr(row, key) for key in s.totals()}
        # and the pledges add up to the totals
        for key in ("pledged", "cancelled", "received", "outstanding", "spent", "psc", "balance"):
            assert sum(getattr(p, key) for p in s.pledges) == s.totals()[key], key


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(1, 9_000), st.integers(0, 9_000), st.integers(0, 3_000)), min_size=1, max_size=3))
def test_property_statement_totals_equal_the_donors_report(ledger, plans):
    """For random pledges, receipts and spending of two donors, each statement's pledged, received,
    outstanding, spending and PSC are its row of `report donors`, and its pledges add up to them."""
    from ledger.errors import LedgerError

    with ledger.reading() as session:
        from sqlalchemy import func, select

        from ledger.schema import Pledge

        start = session.execute(select(func.count()).select_from(Pledge)).scalar()
    if start == 0:
        donor(ledger, "D1", "One")
        donor(ledger, "D2", "Two")
        activity(ledger, "A1", 1, "1000000", "ongoing", 0)
    for i, (amount, paid, spent) in enumerate(plans, start=start):
        code = "D1" if i % 2 else "D2"
        pledge(ledger, f"Q{i}", code, "2016-01-01", "USD", {1: str(amount)})
        if paid:
            receipt(ledger, f"RQ{i}", f"Q{i}", "2016-02-01", str(min(paid, amount)))
            if spent:
                try:
                    disburse(ledger, f"DQ{i}", "A1", "2016-03-01", str(spent), pledge=f"Q{i}")
                except LedgerError:
                    pass  # more than the pledge's cash: refused, nothing written
    for code in ("D1", "D2"):
        s, row = statement_for(ledger, code, AS_OF), _donor_row(ledger, code, AS_OF)
        assert s.totals() == {key: getattr(row, key) for key in s.totals()}
        for key in s.totals():
            assert sum(getattr(p, key) for p in s.pledges) == s.totals()[key], key


def test_statement_command_formats_and_unknown_donor(ledger, db_url):
    two_pledges(ledger)
    base = ("--db", db_url, "--user", "officer", "report", "statement")
    code, out, err = invoke_cli(*base, "--donor", "GER", "--as-of", "2016-12-31", "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    assert document["donor"] == {"code": "GER", "name": "Germany", "kind": "member-state", "country": None,
                                 "currency": None, "iati_ref": "XM-DAC-5"}
    assert document["totals"] == {"pledged": "140000.00", "cancelled": "10000.00", "received": "110000.00",
                                  "refunded": "0.00", "outstanding": "30000.00", "spent": "10000.00",
                                  "psc": "1300.00", "balance": "98700.00"}
    assert document["pledges"][0]["schedule"] == [{"due_on": "2016-06-30", "amount": "100000.00"}]
    assert document["command"].startswith("donor-ledger report statement --donor GER --as-of 2016-12-31")
    code, out, err = invoke_cli(*base, "--donor", "GER", "--as-of", "2016-12-31", "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["line"], r["pledge"], r["kind"]) for r in rows if r["line"] != "event"] == [
        ("pledge", "P1", "signed"), ("instalment", "P1", ""), ("pledge", "P2", "signed"), ("spending", "", ""),
        ("total", "", "")]
    assert rows[-1]["balance"] == "98700.00"
    code, out, err = invoke_cli(*base, "--donor", "GER", "--as-of", "2016-12-31")
    assert code == 0, err
    assert "Statement of GER Germany, IATI XM-DAC-5, as of 2016-12-31" in out and "98,700.00" in out
    code, out, err = invoke_cli(*base, "--donor", "XXX")
    assert code == 1 and "no donor with code 'XXX'" in err and "Traceback" not in err


def test_export_donor_workbook_values_read_back(ledger, db_url, tmp_path):
    from openpyxl import load_workbook

    two_pledges(ledger)
    target = tmp_path / "ger.xlsx"
    code, out, err = invoke_cli("--db", db_url, "--user", "officer", "export", "-o", str(target), "--donor", "GER",
                                "--as-of", "2016-12-31")
    assert code == 0, err
    assert "5 sheets, the statement of donor GER; chain verified" in out
    wb = load_workbook(target)
    assert wb.sheetnames == ["Statement", "Instalments", "Events", "Spending", "About"]
    rows = [row for row in wb["Statement"].iter_rows(min_row=2, values_only=True) if row[0]]
    from decimal import Decimal as D

    assert [(r[0], r[2], r[3], r[4], r[5], *r[7:]) for r in rows] == [
        ("P1", "signed", "USD", 100000, 30000, 90000, 10000, 60000, 0, 30000, 10000, 1300, 48700),
        ("P2", "signed", "USD", 50000, 0, 50000, 0, 50000, 0, 0, 0, 0, 50000),
        ("Total", None, None, None, None, 140000, 10000, 110000, 0, 30000, 10000, 1300, 98700),
    ]
    assert D(str(rows[-1][-1])) == D("98700")
    assert [r[:4] for r in wb["Instalments"].iter_rows(min_row=2, values_only=True) if r[0]] == [
        ("P1", dt.datetime(2016, 6, 30), "USD", 100000)]
    assert [(r[0], r[3], r[4], r[7], r[9]) for r in wb["Events"].iter_rows(min_row=2, values_only=True) if r[0]] == [
        ("P1", "pledge", "P1", 100000, 0), ("P1", "receipt", "R1", -60000, 60000),
        ("P1", "cancellation", "P1", -10000, 0), ("P2", "pledge", "P2", 50000, 0), ("P2", "receipt", "R2", -50000, 50000)]
    assert [r for r in wb["Spending"].iter_rows(min_row=2, values_only=True) if r[0]] == [
        (1, "A1", "Activity A1", 10000, 1300)]
    about = {r[0]: r[1] for r in wb["About"].iter_rows(values_only=True) if r[0]}
    assert about["Command that makes this workbook again"].startswith(
        "donor-ledger export -o FILE.xlsx --donor GER --as-of 2016-12-31 --as-recorded-at ")
    assert about["Donor"] == "GER Germany (IATI XM-DAC-5)" and about["Verification"].startswith("passed")
    code, out, err = invoke_cli("--db", db_url, "--user", "officer", "export", "-o", str(tmp_path / "x.xlsx"),
                                "--donor", "NOPE")
    assert code == 1 and "no donor with code 'NOPE'" in err and not (tmp_path / "x.xlsx").exists()


def test_an_announced_pledge_is_shown_announced_until_signed(ledger):
    """GER announces P3 (USD 20,000) on 2016-06-01 and signs it on 2016-07-01: as of 2016-06-15 it
    is announced (20,000.00 on the memorandum, nothing pledged or outstanding); as of 2016-12-31
    signed (pledged and outstanding 20,000.00), its signing among its events."""
    from ledger import services
    from ledger.inputs import SigningIn

    two_pledges(ledger)
    pledge(ledger, "P3", "GER", "2016-06-01", "USD", {2: "20000"}, stage="announced")
    services.sign_pledge(ledger, SigningIn(pledge="P3", signed_on="2016-07-01"))
    before = statement_for(ledger, "GER", dt.date(2016, 6, 15)).pledges[-1]
    assert (before.reference, before.stage, before.pledged, before.outstanding) == ("P3", "announced", 0, 0)
    assert [(e.kind, e.announced, e.receivable) for e in before.events] == [("pledge", 2_000_000, 0)]
    after = statement_for(ledger, "GER", AS_OF)
    p3 = after.pledges[-1]
    assert (p3.stage, p3.pledged, p3.outstanding) == ("signed", 2_000_000, 2_000_000)
    assert [(e.kind, e.announced, e.receivable, e.pledged) for e in p3.events] == [
        ("pledge", 2_000_000, 0, 0), ("signing", -2_000_000, 2_000_000, 2_000_000)]
    assert after.totals()["pledged"] == 16_000_000 == _donor_row(ledger, "GER", AS_OF).pledged


def test_refunds_and_reallocations_in_the_statement(ledger):
    """P2 refunds USD 5,000.00 of its unspent 50,000.00 on 2016-06-01: P2's pledged 45,000.00,
    refunded 5,000.00, balance 50,000 - 5,000 = 45,000.00; P1 moves 10,000.00 of its outstanding
    30,000.00 from paragraph 1 to paragraph 2 on 2016-06-15 (a reallocation: P1's figures stay).
    Totals: pledged 135,000.00, refunded 5,000.00, balance 110,000 - 5,000 - 10,000 - 1,300 = 93,700.00."""
    from ledger import services
    from ledger.inputs import ReallocationIn, RefundIn

    two_pledges(ledger)
    services.refund(ledger, RefundIn(pledge="P2", amount="5000", refunded_on="2016-06-01", reason="unspent"))
    services.reallocate(ledger, ReallocationIn(pledge="P1", source=1, target=2, amount="10000",
                                               reallocated_on="2016-06-15", consent="letter of 2016-06-10"))
    s = statement_for(ledger, "GER", AS_OF)
    p1, p2 = s.pledges
    assert (p2.pledged, p2.refunded, p2.balance) == (4_500_000, 500_000, 4_500_000)
    assert [(e.kind, e.pledged, e.cash) for e in p2.events][-1] == ("refund", -500_000, -500_000)
    assert (p1.pledged, p1.outstanding, p1.balance) == (9_000_000, 3_000_000, 4_870_000)
    assert [(e.kind, e.receivable, e.pledged) for e in p1.events][-1] == ("reallocation", 0, 0)
    assert s.totals() == {"pledged": 13_500_000, "cancelled": 1_000_000, "received": 11_000_000,
                          "refunded": 500_000, "outstanding": 3_000_000, "spent": 1_000_000, "psc": 130_000,
                          "balance": 9_370_000}
    row = _donor_row(ledger, "GER", AS_OF)
    assert s.totals() == {key: getattr(row, key) for key in s.totals()}


def test_a_reversed_pledge_stays_signed_and_says_when_it_was_reversed(ledger):
    from tests.builders import reverse

    two_pledges(ledger)
    posted = pledge(ledger, "P4", "GER", "2016-07-01", "USD", {3: "5000"})
    reverse(ledger, posted.entry_id, on="2016-07-02")
    p4 = statement_for(ledger, "GER", AS_OF).pledges[-1]
    assert (p4.reference, p4.stage, p4.reversed_on, p4.pledged, p4.outstanding) == (
        "P4", "signed", dt.date(2016, 7, 2), 0, 0)
    assert [(e.kind, e.receivable) for e in p4.events] == [("pledge", 500_000), ("reversal", -500_000)]


def test_the_schedule_shown_is_the_one_in_force(ledger):
    """P1 (USD 100,000.00, due 2016-06-30) re-planned as 40,000.00 due 2016-06-30 and 60,000.00 due
    2016-12-31: the statement shows the two instalments; as recorded before the re-planning, the one."""
    from ledger import services
    from ledger.clock import utcnow
    from ledger.inputs import ScheduleIn

    two_pledges(ledger)
    before = utcnow()
    services.schedule_pledge(ledger, ScheduleIn(pledge="P1", reason="re-planned with the donor", instalments=[
        {"due_on": "2016-06-30", "amount": "40000"}, {"due_on": "2016-12-31", "amount": "60000"}]))
    p1 = statement_for(ledger, "GER", dt.date(2016, 12, 31)).pledges[0]
    assert p1.schedule == [(dt.date(2016, 6, 30), 4_000_000), (dt.date(2016, 12, 31), 6_000_000)]
    then = statement_for(ledger, "GER", dt.date(2016, 12, 31), recorded_at=before).pledges[0]
    assert then.schedule == [(dt.date(2016, 6, 30), 10_000_000)]


def test_a_refund_shows_as_refunded_and_closings_and_schedules_are_events(ledger, tmp_path):
    """P2 (USD 50,000.00 received, nothing spent) pays the 50,000.00 back on 2016-06-01 and is closed
    on 2016-06-02; P1 is re-planned as 40,000.00 + 60,000.00 (an entry dated the day it is recorded).
    P2: pledged 50,000 - 50,000 = 0.00, received 50,000.00, refunded 50,000.00, balance 50,000 - 50,000
    = 0.00. Totals: pledged 90,000.00, received 110,000.00 (a refund is not a negative receipt),
    refunded 50,000.00, balance 110,000 - 50,000 - 10,000 - 1,300 = 48,700.00. The refund's cash
    stands under refunded (positive) in the events of json, csv, the table and the workbook."""
    from openpyxl import load_workbook
    from rich.console import Console

    from ledger import services
    from ledger.clock import utcnow
    from ledger.inputs import PledgeCloseIn, RefundIn, ScheduleIn
    from reports.statement import statement_csv, statement_json, statement_tables
    from reports.statement_workbook import export_donor_workbook

    two_pledges(ledger)
    services.refund(ledger, RefundIn(pledge="P2", amount="50000", refunded_on="2016-06-01", reason="unspent"))
    services.close_pledge(ledger, PledgeCloseIn(pledge="P2", closed_on="2016-06-02"))
    services.schedule_pledge(ledger, ScheduleIn(pledge="P1", reason="re-planned with the donor", instalments=[
        {"due_on": "2016-06-30", "amount": "40000"}, {"due_on": "2016-12-31", "amount": "60000"}]))
    today = utcnow().date()
    s = statement_for(ledger, "GER", today)
    p1, p2 = s.pledges
    assert (p2.pledged, p2.received, p2.refunded, p2.balance) == (0, 5_000_000, 5_000_000, 0)
    assert [(e.kind, e.day, e.pledged, e.received, e.refunded, e.cash) for e in p2.events] == [
        ("pledge", dt.date(2016, 2, 1), 5_000_000, 0, 0, 0),
        ("receipt", dt.date(2016, 3, 15), 0, 5_000_000, 0, 5_000_000),
        ("refund", dt.date(2016, 6, 1), -5_000_000, 0, 5_000_000, -5_000_000),
        ("pledge-close", dt.date(2016, 6, 2), 0, 0, 0, 0)]
    assert p2.events[-1].memo == "pledge P2 closed"
    replanned = p1.events[-1]
    assert (replanned.kind, replanned.day, replanned.receivable, replanned.pledged, replanned.cash) == (
        "schedule", today, 0, 0, 0)
    assert replanned.memo.endswith(": re-planned with the donor")
    assert s.totals() == {"pledged": 9_000_000, "cancelled": 1_000_000, "received": 11_000_000,
                          "refunded": 5_000_000, "outstanding": 3_000_000, "spent": 1_000_000, "psc": 130_000,
                          "balance": 4_870_000}
    # as of 2016-05-31, before the refund and the closing: P2 holds its 50,000.00
    assert [e.kind for e in statement_for(ledger, "GER", dt.date(2016, 5, 31)).pledges[1].events] == ["pledge", "receipt"]

    refund = json.loads(statement_json(s))["pledges"][1]["events"][2]
    assert (refund["kind"], refund["pledged"], refund["received"], refund["refunded"], refund["cash"]) == (
        "refund", "-50000.00", "0.00", "50000.00", "-50000.00")
    events = [r for r in csv.DictReader(io.StringIO(statement_csv(s))) if r["line"] == "event" and r["pledge"] == "P2"]
    assert [(r["kind"], r["date"], r["pledged"], r["received"], r["refunded"], r["description"]) for r in events][2:] == [
        ("refund", "2016-06-01", "-50000.00", "0.00", "50000.00", "refund: unspent"),
        ("pledge-close", "2016-06-02", "0.00", "0.00", "0.00", "pledge P2 closed")]
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(statement_tables(s, 200))
    lines = console.export_text().splitlines()
    heading = next(line for line in lines if "Pledge / event" in line)
    assert [cell.strip() for cell in heading.split("┃")[1:-1]] == [
        "Pledge / event", "Date", "Amount", "Pledged", "Received", "Refunded", "Outstanding", "Spent", "PSC", "Balance"]
    refund_row = next(line for line in lines if "refund P2" in line)
    assert [cell.strip() for cell in refund_row.split("│")[1:-1]] == [
        "refund P2", "2016-06-01", "", "-50,000.00", "", "50,000.00", "", "", "", ""]
    assert any("pledge P2 closed" in line and "2016-06-02" in line for line in lines)
    assert any("re-planned with the donor" in line for line in lines)

    target = tmp_path / "ger.xlsx"
    export_donor_workbook(ledger, target, "GER", today)
    sheet = load_workbook(target)["Events"]
    assert [c.value for c in sheet[1]][7:] == ["Receivable change", "Pledged USD change", "Cash USD change",
                                               "Received USD", "Refunded USD"]
    rows = [r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == "P2"]
    assert [(r[3], r[5], r[8], r[9], r[10], r[11]) for r in rows][2:] == [
        ("refund", "refund: unspent", -50000, -50000, 0, 50000),
        ("pledge-close", "pledge P2 closed", 0, 0, 0, 0)]
