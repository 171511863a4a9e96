"""Corrections (docs/rules.md#corrections): a posted event reversed and posted again, corrected,
under its reference, in one unit of work; references unique among unreversed events."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ledger import services
from ledger.schema import JournalEntry
from tests.builders import (
    activity,
    cancel,
    disburse,
    donor,
    funding_rows,
    invoke_cli,
    pledge,
    receipt,
    refused,
    reverse,
    table_counts,
)


def entry(ledger, entry_id: int) -> dict:
    with ledger.reading() as session:
        row = session.execute(select(JournalEntry).where(JournalEntry.id == entry_id)).scalar_one()
        return {c: getattr(row, c) for c in ("kind", "event_date", "reference", "reverses_id", "corrects_id")}


def correct(ledger, entry_id: int, reason: str = "typed wrong", **changes):
    return services.correct(ledger, entry_id, reason, changes)


@pytest.fixture
def usd_pledge(ledger):
    donor(ledger, "AAA")
    donor(ledger, "BBB")
    activity(ledger, "A1", 1, "5000")
    pledge(ledger, "P", "AAA", "2020-01-10", "USD", {1: "1000"})
    return ledger


def test_a_receipt_corrected_is_reversed_on_its_date_and_posted_again_under_its_reference(usd_pledge):
    ledger = usd_pledge
    r1 = receipt(ledger, "R1", "P", "2020-02-01", "400")
    done = correct(ledger, r1.entry_id, amount="500")
    assert entry(ledger, done.reversal_id) == {"kind": "reversal", "event_date": r1_date(), "reference": "R1",
                                               "reverses_id": r1.entry_id, "corrects_id": None}
    assert entry(ledger, done.posted.entry_id) == {"kind": "receipt", "event_date": r1_date(), "reference": "R1",
                                                   "reverses_id": None, "corrects_id": r1.entry_id}
    row = funding_rows(ledger, "2020-12-31")[1]
    assert (row.received, row.outstanding) == (50_000, 50_000)  # USD 500.00 received, 500.00 outstanding
    assert services.verify_chain(ledger).ok
    # the live receipt is the correction: correcting the original again is refused, naming it
    assert refused(correct, ledger, r1.entry_id, amount="600") == (
        f"entry: entry {r1.entry_id} was already corrected by entry {done.posted.entry_id}: "
        f"correct entry {done.posted.entry_id}")


def r1_date():
    import datetime as dt

    return dt.date(2020, 2, 1)


def test_a_receipt_whose_cash_was_spent_is_corrected_to_an_amount_still_covering_the_spending(usd_pledge):
    ledger = usd_pledge
    r1 = receipt(ledger, "R1", "P", "2020-02-01", "500")
    disburse(ledger, "D1", "A1", "2020-02-10", "100")  # USD 100 + PSC 13 = 113.00 spent from R1's cash
    assert "negative cash balance" in refused(reverse, ledger, r1.entry_id, "2020-02-01")  # alone: refused
    done = correct(ledger, r1.entry_id, amount="113")  # both halves together: covers the spending
    assert funding_rows(ledger, "2020-12-31")[1].available == 0
    before = table_counts(ledger)
    message = refused(correct, ledger, done.posted.entry_id, amount="112.99")
    assert message == (
        f"entry: correcting receipt R1 (entry {done.posted.entry_id}) on 2020-02-01 would leave the ¶1 allocation "
        "of pledge P with a negative cash balance (USD -0.01); reverse disbursement D1 (entry 3) first")
    assert table_counts(ledger) == before  # the reversal half, already posted in the unit of work, is gone too


def test_a_correction_refused_in_its_second_half_writes_nothing(usd_pledge):
    ledger = usd_pledge
    r1 = receipt(ledger, "R1", "P", "2020-02-01", "400")
    before = table_counts(ledger)
    assert refused(correct, ledger, r1.entry_id, amount="1000.01") == (
        "amount: receipt of USD 1,000.01 exceeds the USD 1,000.00 outstanding on pledge P")
    assert refused(correct, ledger, r1.entry_id, received_on="2020-01-09") == (
        "received_on: 2020-01-09 is before the pledge date of P (2020-01-10)")
    assert refused(correct, ledger, r1.entry_id, reference="R2") == (
        "reference: a correction keeps the reference 'R1'")
    assert refused(correct, ledger, r1.entry_id, colour="red") == "colour: a receipt has no field colour"
    assert table_counts(ledger) == before


def test_correcting_an_entry_already_reversed_posts_it_again_without_a_second_reversal(usd_pledge):
    ledger = usd_pledge
    r1 = receipt(ledger, "R1", "P", "2020-02-01", "400")
    back = reverse(ledger, r1.entry_id, "2020-02-05")
    before = table_counts(ledger)
    done = correct(ledger, r1.entry_id, reason="reversed by mistake")
    assert done.reversal_id is None
    assert table_counts(ledger)["journal_entries"] == before["journal_entries"] + 1
    assert entry(ledger, done.posted.entry_id)["corrects_id"] == r1.entry_id
    assert funding_rows(ledger, "2020-12-31")[1].received == 40_000
    assert refused(correct, ledger, back.entry_id) == (
        f"entry: entry {back.entry_id} is a reversal (of entry {r1.entry_id}); to undo it, correct entry "
        f"{r1.entry_id}, which posts its content again")


def test_a_pledge_with_receipts_or_cancellations_cannot_be_corrected_the_message_names_them(usd_pledge):
    ledger = usd_pledge
    r1 = receipt(ledger, "R1", "P", "2020-02-01", "400")
    c1 = cancel(ledger, "P", "2020-02-02", "50")
    before = table_counts(ledger)
    assert refused(correct, ledger, 1, donor="BBB") == (
        f"entry: pledge P has receipt R1 (entry {r1.entry_id}), cancellation of P (entry {c1.entry_id}): a pledge "
        "with events posted against it cannot be corrected (reverse those first)")
    assert table_counts(ledger) == before


def test_a_pledge_naming_the_wrong_donor_is_corrected_and_its_reference_used_again(usd_pledge):
    ledger = usd_pledge
    done = correct(ledger, 1, reason="wrong donor", donor="BBB", allocations=[{"paragraph": 1, "amount": "1200"}])
    detail = services_pledge(ledger, "P")
    assert (detail.donor, detail.entry_id) == ("BBB", done.posted.entry_id)
    receipt(ledger, "R1", "P", "2020-02-01", "1200")  # against the live pledge: all 1,200 outstanding
    row = funding_rows(ledger, "2020-12-31")[1]
    assert (row.pledged, row.received, row.outstanding) == (120_000, 120_000, 0)
    assert "pledge reference 'P' is already taken" in refused(
        pledge, ledger, "P", "AAA", "2020-01-10", "USD", {1: "1"})
    assert services.verify_chain(ledger).ok


def services_pledge(ledger, reference):
    from ledger import queries

    return queries.pledge_detail(ledger, reference)


def test_a_cancellation_and_a_disbursement_are_corrected(usd_pledge):
    ledger = usd_pledge
    receipt(ledger, "R1", "P", "2020-02-01", "500")
    c1 = cancel(ledger, "P", "2020-02-02", "50")
    d1 = disburse(ledger, "D1", "A1", "2020-02-10", "100")
    correct(ledger, c1.entry_id, amount="80")
    correct(ledger, d1.entry_id, amount="200", payee="Supplier")
    row = funding_rows(ledger, "2020-12-31")[1]
    assert (row.outstanding, row.disbursed) == (42_000, 20_000)  # 1,000 - 500 - 80 ; USD 200.00
    assert services.verify_chain(ledger).ok


def test_the_funding_plan_of_a_corrected_disbursement_counts_the_original_reversed_and_writes_nothing(usd_pledge):
    """The correction form's preview: D1 (400 + PSC 52) spent all but 48 of the 500 received; its
    correction to 420 is planned as the correction posts it, with D1 reversed first: 420 + PSC 54.60
    out of the 500. Planned as a new disbursement it would be 474.60 short of 48."""
    from ledger.inputs import DisbursementIn

    ledger = usd_pledge
    receipt(ledger, "R1", "P", "2020-02-01", "500")
    d1 = disburse(ledger, "D1", "A1", "2020-02-10", "400")
    before = table_counts(ledger)
    corrected = DisbursementIn(reference="D1", activity="A1", disbursed_on="2020-02-10", amount="420")
    plan = services.plan_funding(ledger, corrected, corrects=d1.entry_id)
    assert (plan.usd_cents, plan.psc_cents, plan.shortfall_cents) == (42_000, 5_460, 0)
    assert [(s.pledge_reference, s.usd_cents) for s in plan.splits] == [("P", 42_000)]
    as_new = services.plan_funding(ledger, corrected.model_copy(update={"reference": "D2"}))
    assert (as_new.funded_cents, as_new.shortfall_cents) == (4_248, 37_752)  # 48.00 funds 42.48 + PSC 5.52
    assert table_counts(ledger) == before  # the reversal of the preview was rolled back
    correct(ledger, d1.entry_id, amount="420")
    assert funding_rows(ledger, "2020-12-31")[1].disbursed == 42_000
    assert services.verify_chain(ledger).ok


def test_correct_on_the_command_line(usd_pledge, monkeypatch):
    ledger = usd_pledge
    r1 = receipt(ledger, "R1", "P", "2020-02-01", "400")
    monkeypatch.setenv("DONOR_LEDGER_DB", ledger.url)
    monkeypatch.setenv("DONOR_LEDGER_USER", "officer")
    code, out, err = invoke_cli("correct", str(r1.entry_id), "--reason", "typo", "--amount", "450",
                                "--bank-reference", "TX-9")
    assert (code, err) == (0, "")
    assert out.strip() == f"entry {r1.entry_id} reversed by entry 3, corrected by entry 4 (R1)"
    code, out, err = invoke_cli("correct", "4", "--reason", "typo", "--amount", "x")
    assert code == 1 and err.startswith("error: amount: 'x' is not an amount") and "Traceback" not in err
    code, _, err = invoke_cli("correct", "4", "--reason", "typo", "--amount")
    assert code == 2 and "expected --FIELD VALUE" in err


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amounts=st.lists(st.integers(1, 30_000), min_size=1, max_size=3), spend=st.integers(0, 10_000),
       which=st.integers(0, 10))
def test_correcting_an_event_to_its_own_content_leaves_every_figure_unchanged(usd_pledge, amounts, spend, which):
    ledger = usd_pledge
    with ledger.reading() as session:
        number = session.execute(select(JournalEntry.id).order_by(JournalEntry.id.desc())).scalar()
    reference = f"Q{number}"
    events = [pledge(ledger, reference, "AAA", "2020-03-01", "USD", {1: "1000", None: "500"}).entry_id]
    for i, cents in enumerate(amounts):
        events.append(receipt(ledger, f"{reference}R{i}", reference, f"2020-03-0{2 + i}", f"{cents / 100:.2f}").entry_id)
    spend = min(spend, sum(amounts) // 2)  # received cash of ¶1 and unearmarked covers it with its PSC
    if spend:
        events.append(disburse(ledger, f"{reference}D", "A1", "2020-03-09", f"{spend / 100:.2f}").entry_id)
    dates = ("2020-03-01", "2020-03-03", "2020-03-09", "2020-12-31")
    before = {day: funding_rows(ledger, day) for day in dates}
    target = events[1:][which % len(events[1:])] if len(events) > 1 else events[0]
    correct(ledger, target, reason="checked again")
    assert {day: funding_rows(ledger, day) for day in dates} == before
    assert services.verify_chain(ledger).ok


# -- importing again the rows of reversed and corrected events -----------------------------------


def test_importing_again_rows_of_reversed_and_corrected_events_case_by_case(db_url, tmp_path):
    from tests.test_imports import ok, refused, run, write

    receipts = "reference,pledge,received_on,amount,usd_amount,bank_reference\nR1,P1,2011-08-01,750,,NB-1\nR2,P1,2011-08-15,100,,\n"
    for kind, text in (("donors", "code,name\nUSA,United States\n"),
                       ("pledges", "reference,donor,pledged_on,currency,amount,paragraph\nP1,USA,2011-06-01,USD,1000,1\n"),
                       ("receipts", receipts)):
        ok(db_url, kind, write(tmp_path, f"{kind}.csv", text))  # entries: P1 1, R1 2, R2 3
    ledger = services.open_ledger(db_url, "officer")
    try:
        fixed = correct(ledger, 2, bank_reference="NB-2")  # R1: reversed by 4, corrected by 5
        back = reverse(ledger, 3, "2011-08-20")  # R2: reversed by 6, nothing live
    finally:
        ledger.close()
    assert (fixed.reversal_id, fixed.posted.entry_id, back.entry_id) == (4, 5, 6)
    path = write(tmp_path, "again.csv", receipts)
    assert ok(db_url, "receipts", path).splitlines() == [
        f"{path}:2: receipt R1: corrected by entry 5; not posted",
        f"{path}:3: receipt R2: reversed by entry 6 on 2011-08-20; not posted again "
        "(use donor-ledger correct 3 to post it again)",
        f"{path}: 2 rows: 0 added, 0 skipped (identical), 1 corrected later, not posted, 1 reversed, not posted again",
    ]
    # R2 with another amount: posted as the correction of entry 3; R1 as corrected: skipped
    changed = write(tmp_path, "changed.csv", receipts.replace("100,,", "90,,").replace("NB-1", "NB-2"))
    assert ok(db_url, "receipts", changed) == (
        f"{changed}: 2 rows: 0 added, 1 skipped (identical), 1 posted as corrections")
    result = run(db_url, "verify")
    assert result.exit_code == 0 and "7 entries" in result.stdout
    ledger = services.open_ledger(db_url, "officer")
    try:
        assert entry(ledger, 7) == {"kind": "receipt", "event_date": __import__("datetime").date(2011, 8, 15),
                                    "reference": "R2", "reverses_id": None, "corrects_id": 3}
    finally:
        ledger.close()
    # anything else that differs: an error naming the reference and the entry to correct
    other = write(tmp_path, "other.csv", receipts.replace("R1,P1,2011-08-01,750", "R1,P1,2011-08-01,740"))
    problem = refused(db_url, "receipts", other)[0]
    assert problem.startswith(f"{other}:2: amount: receipt R1 is already in the ledger")
    assert problem.endswith("correct it (donor-ledger correct 5)")


def test_the_workbook_links_a_correction_and_what_it_corrects(usd_pledge, tmp_path):
    import openpyxl

    from reports.workbook import export_workbook

    ledger = usd_pledge
    r1 = receipt(ledger, "R1", "P", "2020-02-01", "400")
    done = correct(ledger, r1.entry_id, amount="500")
    path = tmp_path / "audit.xlsx"
    export_workbook(ledger, path, __import__("datetime").date(2020, 12, 31))
    ws = openpyxl.load_workbook(path)["Receipts"]
    header = [cell.value for cell in ws[1]]
    rows = sorted((dict(zip(header, row, strict=True)) for row in ws.iter_rows(min_row=2, values_only=True)
                   if row[0] == "R1"), key=lambda r: r["Entry"])
    assert [(r["Entry"], r["Reversed by entry"], r["Corrects entry"], r["Corrected by entry"]) for r in rows] == [
        (r1.entry_id, done.reversal_id, None, done.posted.entry_id), (done.posted.entry_id, None, r1.entry_id, None)]
