"""The worked example of docs/worked-example.md, to the cent, on both databases."""

import datetime as dt

import pytest

from ledger.errors import LedgerError
from reports.funding import funding_report
from reports.render import row_values
from tests.builders import disburse, lines_of, worked_example

EXPECTED = {
    1: dict(requirement="500000.00", pledged="172413.79", programmable="152578.58", received="86206.89",
            outstanding="83333.33", fx_difference="-2873.57", announced="0.00", disbursed="50000.00", psc="6500.00",
            available="29706.89", spent_on_activities="50000.00", coverage_pct="30.5", delivery_pct="10.0",
            progress_pct="40.0", gap="347421.42", activities_total=1, activities_completed=0),
    4: dict(requirement="200000.00", pledged="250000.00", programmable="221238.94", received="100000.00",
            outstanding="150000.00", fx_difference="0.00", announced="0.00", disbursed="0.00", psc="0.00", available="100000.00",
            spent_on_activities="0.00", coverage_pct="110.6", delivery_pct="0.0", progress_pct="0.0", gap="0.00",
            activities_total=1, activities_completed=0),
    None: dict(requirement="0.00", pledged="86206.90", programmable="76289.29", received="43103.45",
               outstanding="41666.67", fx_difference="-1436.78", announced="0.00", disbursed="0.00", psc="0.00", available="43103.45",
               spent_on_activities="0.00", coverage_pct=None, delivery_pct=None, progress_pct=None, gap="0.00",
               activities_total=0, activities_completed=0),
    "totals": dict(requirement="700000.00", pledged="508620.69", programmable="450106.81", received="229310.34",
                   outstanding="275000.00", fx_difference="-4310.35", announced="0.00", disbursed="50000.00", psc="6500.00",
                   available="172810.34", spent_on_activities="50000.00", coverage_pct="64.3", delivery_pct="7.1",
                   progress_pct="28.6", gap="271132.13", activities_total=2, activities_completed=0),
}
ZERO_PARAGRAPH = dict(requirement="0.00", pledged="0.00", programmable="0.00", received="0.00", outstanding="0.00",
                      fx_difference="0.00", announced="0.00", disbursed="0.00", psc="0.00", available="0.00",
                      spent_on_activities="0.00", coverage_pct=None, delivery_pct=None, progress_pct=None,
                      gap="0.00", activities_total=0, activities_completed=0)


def test_funding_report_as_of_2016_to_the_cent(ledger):
    worked_example(ledger)
    with ledger.reading() as session:
        report = funding_report(session, dt.date(2016, 12, 31))
    rows = {row.paragraph: row_values(row) for row in report.rows}
    assert [r.paragraph for r in report.rows] == [1, 2, 3, 4, 5, 6, 7, None]
    for key in (1, 4, None):
        assert rows[key] == EXPECTED[key], key
    for key in (2, 3, 5, 6, 7):
        assert rows[key] == ZERO_PARAGRAPH, key
    assert row_values(report.totals) == EXPECTED["totals"]
    assert report.entries == 5


def test_receipt_split_gives_the_odd_cent_to_the_larger_remainder(ledger):
    worked_example(ledger)
    with ledger.reading() as session:
        report = funding_report(session, dt.date(2011, 8, 1))
    rows = {row.paragraph: row for row in report.rows}
    assert rows[1].received == 8_620_689
    assert rows[None].received == 4_310_345


def test_further_140000_for_a4_is_refused_with_the_shortfall(ledger):
    worked_example(ledger)
    with pytest.raises(LedgerError) as refused:
        disburse(ledger, "D2", "A4", "2011-09-01", "140000")
    assert str(refused.value) == (
        "amount: insufficient funds for paragraph 4: asked USD 140,000.00, can fund USD 126,640.22, "
        "shortfall USD 13,359.78"
    )
    with ledger.reading() as session:
        report = funding_report(session, dt.date(2016, 12, 31))
    assert report.entries == 5  # nothing written


def test_the_journal_entries_of_the_worked_example(ledger):
    """Every line of entries 1 to 5 as docs/worked-example.md writes them out."""
    worked_example(ledger)

    def lines(entry):
        return [(line["account"], line["flow"], line["currency"], line["amount_minor"], line["usd_cents"])
                for line in lines_of(ledger, entry)]

    # P1 at 5.80: NOK 1,000,000.00 -> USD 172,413.79; NOK 500,000.00 -> USD 86,206.90
    assert lines(1) == [("1100", "pledge", "NOK", 100_000_000, 17_241_379), ("4000", "pledge", "NOK", -100_000_000, -17_241_379),
                        ("1100", "pledge", "NOK", 50_000_000, 8_620_690), ("4000", "pledge", "NOK", -50_000_000, -8_620_690)]
    assert lines(2) == [("1100", "pledge", "USD", 25_000_000, 25_000_000), ("4000", "pledge", "USD", -25_000_000, -25_000_000)]
    # R1: NOK 500,000.00 / 250,000.00, USD 86,206.89 / 43,103.45, each equal to the carrying value
    # cleared (172,413.79 - 86,206.90; 86,206.90 - 43,103.45): no 7900 line
    assert lines(3) == [("1000", "receipt", "NOK", 50_000_000, 8_620_689), ("1100", "receipt", "NOK", -50_000_000, -8_620_689),
                        ("1000", "receipt", "NOK", 25_000_000, 4_310_345), ("1100", "receipt", "NOK", -25_000_000, -4_310_345)]
    assert lines(4) == [("1000", "receipt", "USD", 10_000_000, 10_000_000), ("1100", "receipt", "USD", -10_000_000, -10_000_000)]
    # D1: USD 50,000.00 from P1's paragraph-1 allocation, PSC 13 % = 6,500.00
    assert lines(5) == [("5000", "spend", "USD", 5_000_000, 5_000_000), ("1000", "spend", "USD", -5_000_000, -5_000_000),
                        ("5100", "psc", "USD", 650_000, 650_000), ("1000", "psc", "USD", -650_000, -650_000)]


def test_the_worked_example_stores_the_rates_it_used_and_names_stale_ones(ledger):
    """R1 converted at the pledge's own 5.80 (the August 2011 row): USD 129,310.34, the sum of the
    carrying values it cleared; a report as of a date after the last NOK rate lists that rate."""
    import json

    from sqlalchemy import select

    from ledger.schema import Disbursement, Receipt
    from reports.render import funding_json

    worked_example(ledger)
    with ledger.reading() as session:
        stored = session.execute(select(Receipt.reference, Receipt.usd_cents, Receipt.rate_micros).order_by(Receipt.id)).all()
        assert stored == [("R1", 12_931_034, 5_800_000), ("R2", 10_000_000, 1_000_000)]
        assert session.execute(select(Disbursement.rate_micros)).scalar_one() == 1_000_000
        assert funding_report(session, dt.date(2016, 12, 31)).stale_rates == []  # 6.00 from 2016-12-01
        later = funding_report(session, dt.date(2017, 1, 31))
    assert json.loads(funding_json(later))["stale_rates"] == [
        {"currency": "NOK", "effective_from": "2016-12-01", "age_days": 61}]
