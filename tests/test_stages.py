"""Pledge stages: announced, signed, withdrawn (docs/rules.md#pledge-stages), on both databases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from ledger import services, stages
from ledger.database import Ledger
from ledger.schema import JournalEntry
from tests.builders import (
    activity,
    cancel,
    disburse,
    donor,
    entry_count,
    funding_rows,
    lines_of,
    pledge,
    rate,
    receipt,
    refused,
    reverse,
    sign,
    withdraw,
)


def _norway(ledger):
    rate(ledger, "NOK", "2011-06-01", "5.80", through="2011-12")
    rate(ledger, "NOK", "2012-01-01", "6.00", through="2012-12")
    donor(ledger, "NOR", "Norway", currency="NOK")


def _stage(ledger, pledge_id=1):
    with ledger.reading() as session:
        from ledger.unit_of_work import Reader

        return stages.stage_of(Reader(session, ledger.actor), pledge_id)


def test_signing_at_a_different_rate_than_the_announcement(ledger):
    """NOK 1,000,000 announced 2011-06-01 at 5.80: memo USD 1,000,000 / 5.80 = 172,413.793... ->
    172,413.79; signed 2012-02-01 at 6.00: receivable and revenue 1,000,000 / 6 = 166,666.666... ->
    166,666.67, which the pledge then carries."""
    _norway(ledger)
    announced = pledge(ledger, "P1", "NOR", "2011-06-01", "NOK", {1: "1000000.00"}, stage="announced")
    assert announced.usd_cents == 17_241_379
    memo = {(line["account"], line["amount_minor"], line["usd_cents"]) for line in lines_of(ledger, announced.entry_id)}
    assert memo == {("9000", 100_000_000, 17_241_379), ("9100", -100_000_000, -17_241_379)}
    assert _stage(ledger).stage == "announced"

    signed = sign(ledger, "P1", "2012-02-01", "agreement NOR-2012-7")
    assert signed.usd_cents == 16_666_667
    lines = {(line["account"], line["flow"], line["amount_minor"], line["usd_cents"]) for line in lines_of(ledger, signed.entry_id)}
    assert lines == {
        ("9000", "announce", -100_000_000, -17_241_379), ("9100", "announce", 100_000_000, 17_241_379),
        ("1100", "pledge", 100_000_000, 16_666_667), ("4000", "pledge", -100_000_000, -16_666_667),
    }
    assert _stage(ledger) == stages.Stage("P1", "signed", dt.date(2012, 2, 1), None)

    before = funding_rows(ledger, "2011-12-31")
    assert (before[1].announced, before[1].pledged, before[1].outstanding) == (17_241_379, 0, 0)
    assert before["totals"].announced == 17_241_379
    after = funding_rows(ledger, "2012-12-31")
    assert (after[1].announced, after[1].pledged, after[1].outstanding) == (0, 16_666_667, 16_666_667)
    assert after["totals"].programmable == 14_749_263  # 16,666,667 * 100 / 113 = 14,749,262.83 -> .63 cents up

    # the signing's rate is the pledge's rate: a receipt at 6.00 clears its carrying value exactly
    half = receipt(ledger, "R1", "P1", "2012-03-01", "500000.00")
    assert half.usd_cents == 8_333_334  # 16,666,667 less what stays carried: 500,000 / 6 = 83,333.33
    assert not [line for line in lines_of(ledger, half.entry_id) if line["account"] == "7900"]
    assert services.verify_chain(ledger).ok


def test_an_announced_pledge_takes_no_receipt_cancellation_or_named_funding(ledger):
    _norway(ledger)
    activity(ledger, "A1", 1, "100000")
    pledge(ledger, "P1", "NOR", "2011-06-01", "NOK", {1: "1000000.00"}, stage="announced")
    before = entry_count(ledger)
    assert refused(receipt, ledger, "R1", "P1", "2011-07-01", "100.00") == (
        "pledge: pledge P1 is announced, not signed: sign it first (donor-ledger pledge sign P1 --on DATE)")
    assert "pledge P1 is announced, not signed" in refused(cancel, ledger, "P1", "2011-07-01", "100.00")
    assert "pledge P1 is announced, not signed" in refused(
        disburse, ledger, "D1", "A1", "2011-07-01", "100", pledge="P1")
    assert "insufficient funds" in refused(disburse, ledger, "D1", "A1", "2011-07-01", "100")
    assert entry_count(ledger) == before


def test_nothing_on_a_signed_pledge_is_dated_before_its_signing(ledger):
    _norway(ledger)
    pledge(ledger, "P1", "NOR", "2011-06-01", "NOK", {1: "1000000.00"}, stage="announced")
    sign(ledger, "P1", "2012-02-01")
    assert refused(receipt, ledger, "R1", "P1", "2011-12-01", "100.00") == (
        "received_on: 2011-12-01 is before pledge P1 was signed (2012-02-01): every event on a signed pledge is "
        "dated on or after its signing")


def test_withdraw_and_sign_refusals_name_the_pledge_and_its_stage(ledger):
    _norway(ledger)
    pledge(ledger, "P1", "NOR", "2011-06-01", "NOK", {1: "1000000.00"})
    pledge(ledger, "P2", "NOR", "2011-06-01", "NOK", {None: "2000.00"}, stage="announced")
    assert refused(withdraw, ledger, "P1", "2011-07-01") == (
        "pledge: pledge P1 is signed (on 2011-06-01): it cannot be withdrawn; cancel it instead (donor-ledger pledge cancel)")
    assert "before the announcement of pledge P2 (2011-06-01)" in refused(sign, ledger, "P2", "2011-05-31")
    withdrawn = withdraw(ledger, "P2", "2011-08-01")
    assert {(line["account"], line["usd_cents"]) for line in lines_of(ledger, withdrawn.entry_id)} == {
        ("9000", -34_483), ("9100", 34_483)}  # 2,000 / 5.80 = 344.827... -> 344.83
    assert _stage(ledger, 2).stage == "withdrawn"
    assert refused(sign, ledger, "P2", "2011-09-01") == (
        "pledge: pledge P2 was withdrawn on 2011-08-01: it cannot be signed (reverse the withdrawal first)")
    assert "pledge P2 was withdrawn on 2011-08-01" in refused(receipt, ledger, "R1", "P2", "2011-09-01", "1.00")
    assert funding_rows(ledger, "2011-07-31")[None].announced == 34_483
    assert funding_rows(ledger, "2011-08-01")[None].announced == 0
    # reversing the withdrawal returns the pledge to announced; then it may be signed
    reverse(ledger, withdrawn.entry_id, "2011-08-02")
    assert _stage(ledger, 2).stage == "announced"
    sign(ledger, "P2", "2011-09-01")
    assert _stage(ledger, 2).stage == "signed"
    assert services.verify_chain(ledger).ok


def test_reversing_a_signing_returns_the_pledge_to_announced(ledger):
    _norway(ledger)
    posted = pledge(ledger, "P1", "NOR", "2011-06-01", "NOK", {1: "1000000.00"}, stage="announced")
    signed = sign(ledger, "P1", "2012-02-01")
    received = receipt(ledger, "R1", "P1", "2012-03-01", "100.00")
    assert refused(reverse, ledger, signed.entry_id, "2012-03-02") == (
        f"entry: the signing of pledge P1 still has receipt R1 (entry {received.entry_id}): reverse those first")
    assert refused(reverse, ledger, posted.entry_id, "2012-03-02").startswith("entry: pledge P1 still has signing P1")
    reverse(ledger, received.entry_id, "2012-03-02")
    reverse(ledger, signed.entry_id, "2012-03-02")
    assert _stage(ledger).stage == "announced"
    rows = funding_rows(ledger, "2012-12-31")
    assert (rows[1].announced, rows[1].pledged) == (17_241_379, 0)
    reverse(ledger, posted.entry_id, "2012-03-03")
    assert funding_rows(ledger, "2012-12-31")[1].announced == 0
    with ledger.reading() as session:
        kinds = [k for (k,) in session.execute(select(JournalEntry.kind).order_by(JournalEntry.id))]
    assert kinds == ["pledge", "signing", "receipt", "reversal", "reversal", "reversal"]
    assert services.verify_chain(ledger).ok


def test_a_pledge_recorded_signed_after_its_date_posts_the_announcement_and_the_signing(ledger):
    _norway(ledger)
    posted = pledge(ledger, "P1", "NOR", "2011-06-01", "NOK", {1: "1000000.00"}, signed_on="2012-02-01")
    with ledger.reading() as session:
        entries = session.execute(select(JournalEntry.kind, JournalEntry.event_date).order_by(JournalEntry.id)).all()
    assert [tuple(e) for e in entries if e[0] != "rate"][-2:] == [
        ("pledge", dt.date(2011, 6, 1)), ("signing", dt.date(2012, 2, 1))]
    assert posted.usd_cents == 16_666_667
    with pytest.raises(ValidationError, match=r"signed_on: 2011-05-01 is before pledged_on \(2011-06-01\)"):
        pledge(ledger, "P2", "NOR", "2011-06-01", "NOK", {1: "1.00"}, signed_on="2011-05-01")


def test_import_of_pledges_with_stage_and_signed_on(db_url, tmp_path):
    """A signed row with signed_on after pledged_on posts the announcement and the signing; rows
    of one pledge agree on stage and signed_on; importing the file again changes nothing, also
    after the announced pledge is signed."""
    from tests.builders import invoke_cli

    ledger = Ledger(db_url, user="officer")
    try:
        _norway(ledger)
    finally:
        ledger.close()
    path = tmp_path / "pledges.csv"
    path.write_text("reference,donor,pledged_on,currency,amount,paragraph,stage,signed_on\n"
                    "P1,NOR,2011-06-01,NOK,1000000.00,1,signed,2012-02-01\n"
                    "P2,NOR,2011-06-01,NOK,2000.00,,announced,\n"
                    "P3,NOR,2011-07-01,NOK,580.00,2,,\n")
    code, out, err = invoke_cli("--db", db_url, "import", "pledges", str(path))
    assert code == 0, err
    ledger = Ledger(db_url, user="officer")
    try:
        with ledger.reading() as session:
            entries = [tuple(e) for e in session.execute(
                select(JournalEntry.kind, JournalEntry.reference, JournalEntry.event_date)
                .where(JournalEntry.kind != "rate").order_by(JournalEntry.id))]
        assert entries == [("pledge", "P1", dt.date(2011, 6, 1)), ("signing", "P1", dt.date(2012, 2, 1)),
                           ("pledge", "P2", dt.date(2011, 6, 1)), ("pledge", "P3", dt.date(2011, 7, 1))]
        assert [_stage(ledger, i).stage for i in (1, 2, 3)] == ["signed", "announced", "signed"]
        rows = funding_rows(ledger, "2011-12-31")
        # P1 and P2 announced at 5.80: 172,413.79 and 344.83; P3 signed: 580 / 5.80 = 100.00
        assert (rows["totals"].announced, rows["totals"].pledged) == (17_241_379 + 34_483, 10_000)
        sign(ledger, "P2", "2012-01-05")
    finally:
        ledger.close()
    code, out, err = invoke_cli("--db", db_url, "import", "pledges", str(path))
    assert code == 0 and "0 pledges added, 3 pledges skipped (identical)" in out, (out, err)

    bad = tmp_path / "bad.csv"
    bad.write_text("reference,donor,pledged_on,currency,amount,paragraph,stage,signed_on\n"
                   "P4,NOR,2011-06-01,NOK,1.00,1,signed,2011-05-01\n"
                   "P5,NOR,2011-06-01,NOK,1.00,1,announced,\n"
                   "P5,NOR,2011-06-01,NOK,1.00,2,signed,\n"
                   "P6,NOR,2011-06-01,NOK,1.00,1,pending,\n")
    code, out, err = invoke_cli("--db", db_url, "import", "pledges", str(bad))
    assert code == 1
    assert f"{bad}:2: signed_on: 2011-05-01 is before pledged_on (2011-06-01)" in err
    assert f"{bad}:4: stage: signed differs from line 3 of pledge P5 (announced)" in err
    assert f"{bad}:5: stage:" in err


def test_the_donors_report_the_pledge_list_and_the_workbook_show_the_stage(ledger, tmp_path):
    import openpyxl

    from ledger import queries
    from reports.donors import donor_report
    from reports.workbook import export_workbook

    _norway(ledger)
    pledge(ledger, "P1", "NOR", "2011-06-01", "NOK", {1: "1000000.00"}, stage="announced")
    sign(ledger, "P1", "2012-02-01")
    with ledger.reading() as session:
        then = {row.donor: row for row in donor_report(session, dt.date(2011, 12, 31)).rows}["NOR"]
        later = {row.donor: row for row in donor_report(session, dt.date(2012, 12, 31)).rows}["NOR"]
    assert (then.announced, then.pledged) == (17_241_379, 0)
    assert (later.announced, later.pledged) == (0, 16_666_667)
    listed = queries.pledges_page(ledger, queries.PledgeFilter(as_of=dt.date(2011, 12, 31)))
    assert [(p.reference, p.stage, p.status) for p in listed] == [("P1", "announced", "announced")]
    listed = queries.pledges_page(ledger, queries.PledgeFilter(as_of=dt.date(2012, 12, 31)))
    assert [(p.reference, p.stage, p.status) for p in listed] == [("P1", "signed", "open")]
    path = tmp_path / "book.xlsx"
    export_workbook(ledger, path, dt.date(2011, 12, 31))
    sheet = openpyxl.load_workbook(path)["Pledges"]
    header = [cell.value for cell in sheet[1]]
    row = [cell.value for cell in sheet[2]]
    assert (row[header.index("Stage")], row[header.index("Signed on")]) == ("announced", None)
    export_workbook(ledger, path, dt.date(2012, 12, 31))
    sheet = openpyxl.load_workbook(path)["Pledges"]
    row = [cell.value for cell in sheet[2]]
    assert row[header.index("Stage")] == "signed" and row[header.index("Signed on")].date() == dt.date(2012, 2, 1)
    assert row[header.index("Units per USD")] == 6  # the signing's rate is the pledge's rate


def test_a_pledge_signed_later_is_listed_at_the_signing_rate_and_at_the_announcements_before(ledger, tmp_path):
    """NOK 1,000,000 announced 2011-06-01 at 5.80 = USD 172,413.79 (memorandum), signed 2012-02-01 at
    6.00 = USD 166,666.67: the pledge list's USD and the workbook's Pledged USD (stage rate) and Units
    per USD are 172,413.79 at 5.80 as of 2011-12-31 (announced) and 166,666.67 at 6.00 as of 2012-12-31,
    which is the pledged USD of the funding report then."""
    import openpyxl

    from ledger import queries
    from reports.workbook import export_workbook

    _norway(ledger)
    pledge(ledger, "P1", "NOR", "2011-06-01", "NOK", {1: "1000000.00"}, stage="announced")
    sign(ledger, "P1", "2012-02-01")
    path = tmp_path / "book.xlsx"
    for as_of, stage, usd, units in ((dt.date(2011, 12, 31), "announced", "172413.79", 5.8),
                                     (dt.date(2012, 12, 31), "signed", "166666.67", 6)):
        [row] = queries.pledges_page(ledger, queries.PledgeFilter(as_of=as_of))
        assert (row.reference, row.stage, row.amount, row.usd) == ("P1", stage, Decimal("1000000.00"), Decimal(usd))
        export_workbook(ledger, path, as_of)
        sheet = openpyxl.load_workbook(path)["Pledges"]
        header, first = ([cell.value for cell in sheet[n]] for n in (1, 2))
        assert (first[header.index("Stage")], Decimal(str(first[header.index("Pledged USD (stage rate)")])),
                first[header.index("Units per USD")]) == (stage, Decimal(usd), units)
    assert funding_rows(ledger, "2012-12-31")["totals"].pledged == 16_666_667


def test_pledge_sign_and_withdraw_on_the_command_line(ledger, db_url):
    from tests.builders import invoke_cli

    _norway(ledger)
    pledge(ledger, "P1", "NOR", "2011-06-01", "NOK", {1: "1000000.00"}, stage="announced")
    pledge(ledger, "P2", "NOR", "2011-06-01", "NOK", {None: "2000.00"}, stage="announced")
    code, out, err = invoke_cli("--db", db_url, "pledge", "sign", "P1", "--on", "2012-02-01", "--agreement", "NOR-7")
    assert (code, out, err) == (0, "signed P1: entry 3, USD 166,666.67\n", "")
    code, out, err = invoke_cli("--db", db_url, "pledge", "withdraw", "P1", "--on", "2012-03-01", "--reason", "x")
    assert code == 1 and out == "" and "pledge P1 is signed (on 2012-02-01): it cannot be withdrawn" in err
    code, out, err = invoke_cli("--db", db_url, "pledge", "withdraw", "P2", "--on", "2012-03-01", "--reason", "no budget")
    assert (code, out) == (0, "withdrew P2: entry 4, USD 344.83 announced\n")
    code, out, err = invoke_cli("--db", db_url, "pledge", "sign", "P2", "--on", "2012-04-02")
    assert code == 1 and "pledge P2 was withdrawn on 2012-03-01" in err and "Traceback" not in err
