"""Donor statements and pledge ageing: worked examples with the numbers written by hand."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner
from rich.console import Console

from ledger import services
from ledger.inputs import CancellationIn, ReversalIn
from reports.ageing import ageing_report
from reports.donors import donor_report, row_values
from reports.funding import funding_report
from tests.builders import pledge, receipt, worked_example

END_2016 = dt.date(2016, 12, 31)


def statements(ledger, as_of):
    with ledger.reading() as session:
        report = donor_report(session, as_of)
    return {row.donor: row for row in report.rows}, report


def test_donor_statements_of_norway_and_usa_as_of_2016(ledger):
    worked_example(ledger)
    rows, report = statements(ledger, END_2016)
    # Norway: P1 pledged 172,413.79 + 86,206.90; R1 NOK 750,000 = USD 129,310.34; outstanding NOK 500,000 + 250,000
    # at 6.00 = 83,333.33 + 41,666.67; D1 50,000 + PSC 6,500 paid from P1's paragraph-1 allocation.
    assert row_values(rows["NOR"]) == dict(
        pledged="258620.69", cancelled="0.00", received="129310.34", outstanding="125000.00", fx_difference="-4310.35",
        spent="50000.00", psc="6500.00", balance="72810.34", refunded="0.00", announced="0.00", pledges=1)
    assert [(s.paragraph, s.activity, s.spent, s.psc) for s in rows["NOR"].spending] == [(1, "A1", 5_000_000, 650_000)]
    assert row_values(rows["USA"]) == dict(
        pledged="250000.00", cancelled="0.00", received="100000.00", outstanding="150000.00", fx_difference="0.00",
        spent="0.00", psc="0.00", balance="100000.00", refunded="0.00", announced="0.00", pledges=1)
    assert rows["USA"].spending == []
    assert row_values(report.totals) == dict(
        pledged="508620.69", cancelled="0.00", received="229310.34", outstanding="275000.00", fx_difference="-4310.35",
        spent="50000.00", psc="6500.00", balance="172810.34", refunded="0.00", announced="0.00", pledges=2)


def test_donor_statement_as_of_a_date_leaves_later_events_out(ledger):
    worked_example(ledger)
    rows, _ = statements(ledger, dt.date(2011, 8, 10))  # after R1, before R2 and D1; NOK still 5.80
    # outstanding NOK 500,000 / 5.80 = 86,206.90 and NOK 250,000 / 5.80 = 43,103.45 (rounded per allocation)
    assert row_values(rows["NOR"]) == dict(
        pledged="258620.69", cancelled="0.00", received="129310.34", outstanding="129310.35", fx_difference="0.00",
        spent="0.00", psc="0.00", balance="129310.34", refunded="0.00", announced="0.00", pledges=1)
    assert row_values(rows["USA"])["received"] == "0.00"
    assert row_values(rows["USA"])["outstanding"] == "250000.00"
    rows, _ = statements(ledger, dt.date(2011, 5, 31))  # before every pledge
    assert row_values(rows["NOR"])["pledged"] == "0.00" and rows["NOR"].pledges == 0


def test_cancellation_and_reversal_show_on_their_own_dates(ledger):
    worked_example(ledger)
    services.cancel_pledge(ledger, CancellationIn(pledge="P2", amount="50000", cancelled_on="2012-01-01",
                                                  reason="budget cut"))
    services.reverse(ledger, ReversalIn(entry_id=5, reason="wrong activity", reversed_on="2012-02-01"))  # D1
    before, _ = statements(ledger, dt.date(2011, 12, 31))
    assert row_values(before["USA"])["pledged"] == "250000.00"
    assert row_values(before["NOR"])["spent"] == "50000.00"
    after, report = statements(ledger, END_2016)
    assert row_values(after["USA"]) == dict(
        pledged="200000.00", cancelled="50000.00", received="100000.00", outstanding="100000.00",
        fx_difference="0.00", spent="0.00", psc="0.00", balance="100000.00", refunded="0.00", announced="0.00", pledges=1)
    # the reversal mirrors D1 and its PSC: Norway's balance is all it received
    assert row_values(after["NOR"])["spent"] == "0.00"
    assert row_values(after["NOR"])["psc"] == "0.00"
    assert row_values(after["NOR"])["balance"] == "129310.34"


def test_donor_totals_equal_the_funding_report(ledger):
    worked_example(ledger)
    pledge(ledger, "P3", "USA", "2012-03-01", "USD", {2: "1000", None: "333.33"}, psc="7")
    receipt(ledger, "R3", "P3", "2012-04-01", "1000")
    for as_of in (dt.date(2011, 8, 10), dt.date(2012, 3, 15), END_2016):
        with ledger.reading() as session:
            funding = funding_report(session, as_of)
            donors = donor_report(session, as_of)
            ageing = ageing_report(session, as_of)
        t, d = funding.totals, donors.totals
        assert (d.pledged, d.received, d.outstanding, d.spent, d.psc) == (
            t.pledged, t.received, t.outstanding, t.disbursed, t.psc)
        assert d.balance == t.available
        assert ageing.total_usd == t.outstanding


def ageing_ledger(ledger):
    worked_example(ledger)
    pledge(ledger, "P3", "USA", "2016-01-01", "USD", {2: "10000"}, due_on="2016-12-31")
    pledge(ledger, "P4", "USA", "2016-01-01", "USD", {3: "20000"}, due_on="2016-10-02")
    pledge(ledger, "P5", "NOR", "2016-01-01", "NOK", {5: "6000.00"}, due_on="2016-10-01")
    pledge(ledger, "P6", "USA", "2015-12-31", "USD", {None: "5000"}, due_on="2016-01-01")
    receipt(ledger, "R4", "P4", "2016-11-01", "5000")
    receipt(ledger, "R5", "P3", "2017-01-05", "10000")  # after the as-of date


def test_pledge_ageing_buckets_as_of_2016(ledger):
    ageing_ledger(ledger)
    with ledger.reading() as session:
        report = ageing_report(session, END_2016)
    got = {r.pledge: (r.days, r.bucket, r.outstanding, r.outstanding_usd, r.overdue) for r in report.rows}
    assert got == {
        "P1": (2040, "over_365", "750000.00", 12_500_000, False),  # no due date: from the pledge date, never overdue
        "P2": (2010, "over_365", "150000.00", 15_000_000, False),
        "P3": (0, "not_due", "10000.00", 1_000_000, False),  # due on the as-of date: not due; R5 comes later
        "P4": (90, "1_90", "15000.00", 1_500_000, True),  # 20,000 less R4 5,000
        "P5": (91, "91_180", "6000.00", 100_000, True),  # NOK 6,000 / 6.00
        "P6": (365, "181_365", "5000.00", 500_000, True),  # 2016 is a leap year
    }
    assert [r.pledge for r in report.rows] == ["P1", "P2", "P6", "P5", "P4", "P3"]  # oldest first
    assert {k: report.bucket_total(k) for k in ("not_due", "1_90", "91_180", "181_365", "over_365")} == {
        "not_due": 1_000_000, "1_90": 1_500_000, "91_180": 100_000, "181_365": 500_000, "over_365": 27_500_000}
    assert report.total_usd == 30_600_000
    assert [r.pledge for r in report.overdue_rows] == ["P6", "P5", "P4"]


def test_pledge_ageing_as_of_a_later_date(ledger):
    ageing_ledger(ledger)
    with ledger.reading() as session:
        report = ageing_report(session, dt.date(2017, 1, 5))
    got = {r.pledge: (r.days, r.bucket) for r in report.rows}
    assert "P3" not in got  # R5 cleared it on that day
    assert got["P4"] == (95, "91_180")
    assert got["P6"] == (370, "over_365")


def run(db_url, *args):
    from cli import commands  # noqa: F401  (registers the sub-commands)
    from cli.main import cli

    return CliRunner().invoke(cli, ["--db", db_url, "--user", "officer", *args], catch_exceptions=False)


def test_report_donors_and_ageing_on_the_command_line(ledger, db_url):
    ageing_ledger(ledger)
    result = run(db_url, "report", "donors", "--as-of", "2016-12-31", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["as_of"] == "2016-12-31" and document["currency"] == "USD"
    nor = next(r for r in document["rows"] if r["donor"] == "NOR")
    assert nor["received"] == "129310.34" and nor["pledges"] == 2
    assert nor["spending"] == [{"paragraph": 1, "activity": "A1", "title": "Activity A1", "spent": "50000.00",
                                "psc": "6500.00"}]
    result = run(db_url, "report", "ageing", "--as-of", "2016-12-31", "--format", "json")
    document = json.loads(result.output)
    assert document["totals"]["buckets"] == {"not_due": "10000.00", "1_90": "15000.00", "91_180": "1000.00",
                                             "181_365": "5000.00", "over_365": "275000.00"}
    assert document["totals"]["overdue_pledges"] == 3
    p3 = next(r for r in document["rows"] if r["pledge"] == "P3")
    assert p3 == {"pledge": "P3", "donor": "USA", "donor_name": "United States", "currency": "USD",
                  "pledged_on": "2016-01-01", "instalment": "1/1", "due_on": "2016-12-31", "days": 0, "bucket": "not_due",
                  "outstanding": "10000.00", "outstanding_usd": "10000.00", "overdue": False}
    result = run(db_url, "report", "ageing", "--as-of", "2016-12-31", "--format", "csv")
    lines = result.output.splitlines()
    assert lines[0] == ("pledge,donor,donor_name,currency,pledged_on,instalment,due_on,days,bucket,outstanding,"
                        "outstanding_usd,overdue")
    assert "P5,NOR,Norway,NOK,2016-01-01,1/1,2016-10-01,91,91_180,6000.00,1000.00,yes" in lines
    assert lines[-1] == "total,,,USD,,,,,,,306000.00,"
    for fmt in ("table", "csv"):
        assert run(db_url, "report", "donors", "--as-of", "2016-12-31", "--format", fmt).exit_code == 0


def test_csv_escapes_donor_names_that_look_like_formulas(ledger, db_url):
    from tests.builders import donor

    donor(ledger, "EVIL", '=HYPERLINK("http://x","y")')
    pledge(ledger, "-P", "EVIL", "2016-01-01", "USD", {1: "10"})
    result = run(db_url, "report", "donors", "--as-of", "2016-12-31", "--format", "csv")
    assert "EVIL,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" in result.output
    result = run(db_url, "report", "ageing", "--as-of", "2016-12-31", "--format", "csv")
    assert "'-P,EVIL," in result.output


def test_donors_ageing_and_alerts_name_the_stale_rates_they_valued_with(ledger):
    """Outstanding EUR valued as of 2020-12-31 at September's rate: every report that values it says
    so (JSON and table caption); NOK, received in full, values nothing and is not named."""
    from reports.ageing import ageing_json, ageing_table
    from reports.alerts import alerts_json, alerts_report, alerts_table
    from reports.donors import donors_json, donors_table
    from tests.builders import donor, rate

    rate(ledger, "EUR", "2020-01-01", "0.90", through="2020-09")
    rate(ledger, "NOK", "2020-01-01", "10.00")
    donor(ledger, "D1")
    pledge(ledger, "P1", "D1", "2020-02-01", "EUR", {1: "90000"}, due_on="2020-06-30")
    receipt(ledger, "R1", "P1", "2020-03-01", "45000")
    pledge(ledger, "P2", "D1", "2020-01-10", "NOK", {2: "1000"})
    receipt(ledger, "R2", "P2", "2020-01-15", "1000")
    stale = [{"currency": "EUR", "effective_from": "2020-09-01", "age_days": 121}]
    caption = "stale rates used: EUR from 2020-09-01 (121 days old)"
    with ledger.reading() as session:
        donors = donor_report(session, dt.date(2020, 12, 31))
        ageing = ageing_report(session, dt.date(2020, 12, 31))
        alerts = alerts_report(session, dt.date(2020, 12, 31))
        in_september = (donor_report(session, dt.date(2020, 9, 30)), ageing_report(session, dt.date(2020, 9, 30)),
                        alerts_report(session, dt.date(2020, 9, 30)))
    assert donors.totals.outstanding == ageing.total_usd == 5_000_000  # EUR 45,000 at 0.90, in cents
    assert json.loads(donors_json(donors))["stale_rates"] == stale
    assert json.loads(ageing_json(ageing))["stale_rates"] == stale
    assert json.loads(alerts_json(alerts))["stale_rates"] == stale
    for table in (donors_table(donors), ageing_table(ageing), alerts_table(alerts)):
        console = Console(width=400, record=True)
        console.print(table)
        assert caption in " ".join(console.export_text().split())
    donors_then, ageing_then, alerts_then = in_september  # September's rate is of September's month
    assert donors_then.stale_rates == ageing_then.stale_rates == alerts_then.alerts.stale_rates == []
    assert json.loads(donors_json(donors_then))["stale_rates"] == []
