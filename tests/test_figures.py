"""One definition of every figure: overdue pledges, cash needs and the chain check, the same
through every view (alerts, the pledge list, ``report ageing``, ``report alerts``, the workbook)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import queries
from ledger.alerts import CashNeedAlert, OverdueAlert, alerts_for
from ledger.database import Ledger
from ledger.errors import LedgerError
from reports.ageing import ageing_report
from reports.funding import MONEY_KEYS, funding_report_for
from reports.render import row_values
from reports.workbook import export_workbook
from tests.builders import activity, cancel, disburse, donor, invoke_cli, pledge, rate, receipt, reverse

APRIL_2020, JULY_2020 = dt.date(2020, 4, 1), dt.date(2020, 7, 1)


@pytest.fixture
def paid_late(ledger):
    """A pledge due 2020-03-01 and paid in full on 2020-06-01."""
    donor(ledger, "USA", "United States", currency="USD")
    pledge(ledger, "P-LATE", "USA", "2020-01-15", "USD", {1: "40000"}, due_on="2020-03-01")
    receipt(ledger, "R-LATE", "P-LATE", "2020-06-01", "40000")
    return ledger


def test_a_pledge_paid_after_its_due_date_is_overdue_until_paid(paid_late):
    found = alerts_for(paid_late, APRIL_2020)
    assert found.overdue_count == 1
    assert found.overdue == [OverdueAlert("P-LATE", "USA", dt.date(2020, 3, 1), "USD", Decimal("40000.00"),
                                          Decimal("40000.00"), 31)]
    assert found.chain is None
    later = alerts_for(paid_late, JULY_2020, check_chain=True)
    assert (later.overdue_count, later.overdue) == (0, [])
    assert later.chain is not None and later.chain.ok and later.chain.entries == 2


@pytest.fixture
def spent_later(ledger):
    """¶5: an ongoing activity of 1,000,000; 600,000 received in 2013; 200,000 (+ PSC 13 %
    = 26,000) spent in March 2014."""
    donor(ledger, "NOR", "Norway", currency="USD")
    activity(ledger, "A5", 5, "1000000", "ongoing", 10)
    activity(ledger, "A5-DONE", 5, "300000", "completed", 100)  # needs nothing more
    pledge(ledger, "P5", "NOR", "2013-01-10", "USD", {5: "600000"})
    receipt(ledger, "R5", "P5", "2013-02-01", "600000")
    disburse(ledger, "D5", "A5", "2014-03-01", "200000")
    return ledger


def test_the_cash_need_at_a_past_date_counts_the_spending_and_cash_of_that_date(spent_later):
    # as of 2013-12-31 nothing was spent yet: A5 needs its whole budget, the paragraph holds 600,000
    assert alerts_for(spent_later, dt.date(2013, 12, 31)).cash_needs == [
        CashNeedAlert(5, "Targeting technical assistance", Decimal("1000000.00"), Decimal("600000.00"))]
    # today: A5 needs 1,000,000 - 200,000 = 800,000; the cash is 600,000 - 200,000 - 26,000 = 374,000
    assert alerts_for(spent_later, dt.date.today()).cash_needs == [
        CashNeedAlert(5, "Targeting technical assistance", Decimal("800000.00"), Decimal("374000.00"))]
    # before the receipt there is no cash at all
    assert alerts_for(spent_later, dt.date(2013, 1, 31)).cash_needs == [
        CashNeedAlert(5, "Targeting technical assistance", Decimal("1000000.00"), Decimal("0.00"))]


# -- the same overdue pledge through every view --------------------------------------------------
def overdue_in_pledge_list(ledger, as_of: dt.date) -> set[str]:
    """The pledges the list's "overdue" filter finds; the status column must agree row by row."""
    everything = queries.pledges_page(ledger, queries.PledgeFilter(as_of=as_of), limit=10_000)
    by_status = {row.reference for row in everything if row.status == "overdue"}
    filtered = queries.PledgeFilter(status="overdue", as_of=as_of)
    found = {row.reference for row in queries.pledges_page(ledger, filtered, limit=10_000)}
    assert found == by_status
    assert queries.pledge_count(ledger, filtered) == len(found)
    return found


def overdue_in_ageing(ledger, as_of: dt.date) -> set[str]:
    with ledger.reading() as session:
        return {row.pledge for row in ageing_report(session, as_of).overdue_rows}


def overdue_in_cli(db_url: str, as_of: dt.date) -> tuple[set[str], set[str]]:
    """(``report alerts --format json``'s overdue pledges, ``report ageing``'s overdue rows)."""
    code, out, err = invoke_cli("--db", db_url, "--user", "officer", "report", "alerts", "--as-of", as_of.isoformat(), "--format", "json")
    assert code == 0, err
    alerts_doc = json.loads(out)
    assert alerts_doc["overdue_pledges"] == len(alerts_doc["overdue"])
    code, out, err = invoke_cli("--db", db_url, "--user", "officer", "report", "ageing", "--as-of", as_of.isoformat(), "--format", "json")
    assert code == 0, err
    return {o["pledge"] for o in alerts_doc["overdue"]}, {r["pledge"] for r in json.loads(out)["rows"] if r["overdue"]}


def workbook_overdue(ledger, as_of: dt.date, path) -> tuple[set[str], set[str], list[tuple]]:
    """(the overdue pledges of the first sheet's Alerts block, of the Ageing sheet, the cash-need rows)."""
    export_workbook(ledger, path, as_of)
    book = openpyxl.load_workbook(path, read_only=True)
    rows = [r for r in book["Funding vs implementation"].iter_rows(values_only=True)]
    labels = [r[1] if len(r) > 1 else None for r in rows]
    start = next(i for i, label in enumerate(labels) if str(label).startswith("Alerts, as of"))
    assert labels[start] == f"Alerts, as of {as_of.isoformat()}"
    needs_at = next(i for i in range(start, len(rows)) if str(labels[i]).startswith("Paragraphs whose"))
    chain_at = next(i for i in range(needs_at, len(rows)) if labels[i] == "Journal chain")
    alerts_block = {label.split(" (")[0] for label in labels[start + 2:needs_at]}
    assert labels[start + 1] == f"Overdue instalments: {needs_at - start - 2}"  # one row per overdue instalment
    needs = [(r[0], r[2], r[3]) for r in rows[needs_at + 1:chain_at]]
    ageing = {r[0] for r in book["Ageing"].iter_rows(min_row=2, values_only=True) if len(r) > 11 and r[11] == "OVERDUE"}
    book.close()
    return alerts_block, ageing, needs


def test_the_late_pledge_is_overdue_in_every_view_until_it_is_paid(paid_late, db_url, tmp_path):
    for as_of, expected in ((APRIL_2020, {"P-LATE"}), (JULY_2020, set())):
        assert {a.reference for a in alerts_for(paid_late, as_of).overdue} == expected
        assert overdue_in_pledge_list(paid_late, as_of) == expected
        assert overdue_in_ageing(paid_late, as_of) == expected
        assert overdue_in_cli(db_url, as_of) == (expected, expected)
        alerts_block, ageing_sheet, _needs = workbook_overdue(paid_late, as_of, tmp_path / f"{as_of}.xlsx")
        assert alerts_block == ageing_sheet == expected
    # as of April the list shows what was outstanding then; the detail agrees
    [row] = queries.pledges_page(paid_late, queries.PledgeFilter(as_of=APRIL_2020))
    assert (row.status, row.received, row.outstanding) == ("overdue", Decimal("0.00"), Decimal("40000.00"))
    detail = queries.pledge_detail(paid_late, "P-LATE", APRIL_2020)
    assert (detail.status, detail.outstanding) == ("overdue", Decimal("40000.00"))
    [row] = queries.pledges_page(paid_late, queries.PledgeFilter(as_of=JULY_2020))
    assert (row.status, row.received, row.outstanding) == ("received", Decimal("40000.00"), Decimal("0.00"))
    # before the pledge was signed, the list does not show it
    assert queries.pledges_page(paid_late, queries.PledgeFilter(as_of=dt.date(2020, 1, 1))) == []


def test_report_alerts_json_and_csv_of_the_cash_need(spent_later, db_url):
    code, out, err = invoke_cli("--db", db_url, "--user", "officer", "report", "alerts", "--as-of", "2013-12-31", "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    assert document["as_of"] == "2013-12-31" and len(document["chain_head"]) == 64
    assert document["cash_needs"] == [{"paragraph": 5, "title": "Targeting technical assistance",
                                       "need_usd": "1000000.00", "cash_usd": "600000.00", "shortfall_usd": "400000.00"}]
    assert (document["overdue_pledges"], document["overdue"], document["overdue_usd"]) == (0, [], "0.00")
    assert document["chain"]["ok"] is True and document["chain"]["entries"] == 3
    code, out, err = invoke_cli("--db", db_url, "--user", "officer", "report", "alerts", "--as-of", "2013-12-31", "--format", "csv")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "alert,subject,name,due_on,days_late,currency,amount,usd,cash_usd,message"
    assert lines[1] == "cash_need,5,Targeting technical assistance,,,USD,,1000000.00,600000.00,"
    assert lines[2].startswith("chain,ok,")
    code, out, err = invoke_cli("--db", db_url, "--user", "officer", "report", "alerts", "--as-of", "2013-12-31")
    assert code == 0 and "Targeting technical assistance" in out and "chain intact: 3 entries" in out


# -- property: every view names the same overdue pledges and the same paragraph figures -----------
PLEDGE_PLANS = st.lists(
    st.fixed_dictionaries({
        "currency": st.sampled_from(["USD", "EUR"]),
        "paragraph": st.sampled_from([1, 2, None]),
        "amount": st.integers(1_000, 50_000),
        "signed": st.integers(0, 300),  # days after 2020-01-01
        "due": st.none() | st.integers(0, 90),  # days after signing
        "receipts": st.lists(st.tuples(st.integers(1, 100), st.integers(0, 200)), max_size=3),  # (% of rest, days)
        "cancel": st.none() | st.integers(0, 300),  # cancel the rest, days after signing
        "reverse_receipt": st.booleans(),  # the last receipt, 10 days after it
    }),
    min_size=1, max_size=4,
)
START = dt.date(2020, 1, 1)


def build(ledger, plans) -> None:
    rate(ledger, "EUR", "2019-01-01", "0.90", through="2020-05")
    rate(ledger, "EUR", "2020-06-01", "0.80", through="2021-12")
    donor(ledger, "D1")
    activity(ledger, "A1", 1, "8000", "ongoing")
    activity(ledger, "A2", 2, "5000", "planned")
    for n, plan in enumerate(plans):
        reference, signed = f"P{n}", START + dt.timedelta(days=plan["signed"])
        due = None if plan["due"] is None else (signed + dt.timedelta(days=plan["due"])).isoformat()
        pledge(ledger, reference, "D1", signed.isoformat(), plan["currency"], {plan["paragraph"]: str(plan["amount"])},
               due_on=due)
        rest, last = plan["amount"], None
        for i, (share, days) in enumerate(plan["receipts"]):
            part = max(rest * share // 100, 1) if rest else 0
            if not part:
                break
            day = signed + dt.timedelta(days=days)
            last = (receipt(ledger, f"R{n}-{i}", reference, day.isoformat(), str(part)), day)
            rest -= part
        if plan["reverse_receipt"] and last is not None:
            reverse(ledger, last[0].entry_id, (last[1] + dt.timedelta(days=10)).isoformat())
        elif plan["cancel"] is not None and rest:
            cancel(ledger, reference, (signed + dt.timedelta(days=plan["cancel"])).isoformat(), str(rest))
        try:  # spend some of the paragraph's cash when there is any
            disburse(ledger, f"D{n}", "A1" if plan["paragraph"] != 2 else "A2",
                     (signed + dt.timedelta(days=250)).isoformat(), "500")
        except LedgerError:
            pass


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plans=PLEDGE_PLANS, as_of_days=st.integers(0, 500))
def test_every_view_names_the_same_overdue_pledges_and_paragraph_figures(sqlite_template, tmp_path, plans, as_of_days):
    path = tmp_path / f"ledger-{uuid.uuid4().hex}.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    ledger = Ledger(url, user="officer")
    try:
        build(ledger, plans)
        as_of = START + dt.timedelta(days=as_of_days)
        found = alerts_for(ledger, as_of, limit=None)
        overdue = {a.reference for a in found.overdue}
        assert found.overdue_count == len(overdue)
        assert overdue_in_pledge_list(ledger, as_of) == overdue
        assert overdue_in_ageing(ledger, as_of) == overdue
        assert overdue_in_cli(url, as_of) == (overdue, overdue)
        alerts_block, ageing_sheet, needs = workbook_overdue(ledger, as_of, path.with_suffix(".xlsx"))
        assert alerts_block == ageing_sheet == overdue
        # the dashboard's per-paragraph figures (funding_report_for, and the alerts' cash) are report funding's
        code, out, err = invoke_cli("--db", url, "--user", "officer", "report", "funding", "--as-of", as_of.isoformat(), "--format", "json")
        assert code == 0, err
        cli_rows = {row["paragraph"]: row for row in json.loads(out)["rows"]}
        dashboard = funding_report_for(ledger, as_of)
        for row in dashboard.rows:
            assert {k: v for k, v in row_values(row).items() if k in MONEY_KEYS} == {
                k: v for k, v in cli_rows[row.paragraph].items() if k in MONEY_KEYS}
        # cash needs from report funding's figures: each paragraph has one open activity (¶1: 8,000, ¶2: 5,000)
        expected = []
        for paragraph, budget in ((1, Decimal(8000)), (2, Decimal(5000))):
            need = max(budget - Decimal(cli_rows[paragraph]["spent_on_activities"]), Decimal(0))
            cash = max(Decimal(cli_rows[paragraph]["available"]), Decimal(0))
            if need > cash:
                expected.append((paragraph, need, cash))
        assert [(n.paragraph, n.need_usd, n.cash_usd) for n in found.cash_needs] == expected
        assert [(n.paragraph, float(n.need_usd), float(n.cash_usd)) for n in found.cash_needs] == [
            (p, float(need), float(cash)) for p, need, cash in needs]
    finally:
        ledger.close()
