"""Worked examples of the rules in docs/rules.md that tests/test_rules.py does not show: the
checks of a pledge's input, the carrying value and exchange difference of receipts at a later
rate or given in USD, cancellations split like receipts, disbursements in another currency, code point order,
rate values and the last admin. Numbers by hand, written out; US cents unless said otherwise.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from ledger import services
from ledger.inputs import PledgeIn, RateIn, UserIn
from tests.builders import (
    activity,
    cancel,
    disburse,
    donor,
    funding_rows,
    lines_of,
    pledge,
    rate,
    receipt,
    refused,
    reverse,
    table_counts,
)


def pledge_input(**fields) -> PledgeIn:
    given = dict(reference="P", donor="AAA", pledged_on="2020-01-10", currency="USD",
                 allocations=[{"paragraph": 1, "amount": "100"}])
    return PledgeIn(**{**given, **fields})


# -- a pledge's input -------------------------------------------------------------------------


def test_a_pledges_psc_rate_allocations_and_due_date_are_checked():
    assert pledge_input().psc_rate == Decimal("13") and pledge_input(psc_rate="").psc_rate_bp == 1300
    assert pledge_input(psc_rate="7.5").psc_rate_bp == 750  # stored in basis points
    assert pledge_input(psc_rate="0").psc_rate_bp == 0 and pledge_input(psc_rate="100").psc_rate_bp == 10_000
    with pytest.raises(ValidationError, match="must be between 0 and 100 percent, got 100.01"):
        pledge_input(psc_rate="100.01")
    with pytest.raises(ValidationError, match="13.555 has more than 2 decimals"):
        pledge_input(psc_rate="13.555")
    with pytest.raises(ValidationError, match="to (paragraph |¶)1: at most one per paragraph and one unearmarked"):
        pledge_input(allocations=[{"paragraph": 1, "amount": "1"}, {"paragraph": 1, "amount": "2"}])
    with pytest.raises(ValidationError, match="to unearmarked: at most one per paragraph and one unearmarked"):
        pledge_input(allocations=[{"paragraph": None, "amount": "1"}, {"paragraph": None, "amount": "2"}])
    with pytest.raises(ValidationError, match="before pledged_on"):
        pledge_input(due_on="2020-01-09")
    # kept in paragraph order, unearmarked last, whatever order they were given in
    given = [{"paragraph": None, "amount": "3"}, {"paragraph": 4, "amount": "2"}, {"paragraph": 1, "amount": "1"}]
    assert [a.paragraph for a in pledge_input(allocations=given).allocations] == [1, 4, None]


def test_allocations_are_stored_in_paragraph_order_unearmarked_last(ledger):
    donor(ledger, "AAA")
    pledge(ledger, "P", "AAA", "2020-01-10", "USD", {None: "300", 4: "200", 1: "100"})
    lines = lines_of(ledger, 1)
    # one Dr 1100 / Cr 4000 pair per allocation, in the order of the allocations
    assert [(line["account"], line["usd_cents"]) for line in lines] == [
        ("1100", 10_000), ("4000", -10_000), ("1100", 20_000), ("4000", -20_000), ("1100", 30_000), ("4000", -30_000)]
    rows = funding_rows(ledger, "2020-12-31")
    assert (rows[1].pledged, rows[4].pledged, rows[None].pledged) == (10_000, 20_000, 30_000)


# -- carrying value and exchange differences --------------------------------------------------


def test_receipts_at_a_later_rate_clear_the_carrying_value_and_post_the_difference(ledger):
    rate(ledger, "EUR", "2020-01-01", "0.80", through="2020-05")
    rate(ledger, "EUR", "2020-06-01", "0.75", through="2020-07")
    donor(ledger, "DEU")
    # EUR 1,000.00 / 0.80 = USD 1,250.00: the receivable is carried at 1,250.00
    pledge(ledger, "P", "DEU", "2020-02-01", "EUR", {1: "1000.00"})
    # R1 EUR 400.00 at 0.75 = 533.333 -> USD 533.33. Carrying value after: 600.00 / 0.80 = 750.00,
    # so the receipt clears 1,250.00 - 750.00 = 500.00 and 533.33 - 500.00 = 33.33 is a gain (Cr 7900)
    receipt(ledger, "R1", "P", "2020-07-01", "400.00")
    assert [(line["account"], line["flow"], line["amount_minor"], line["usd_cents"]) for line in lines_of(ledger, 2)] == [
        ("1000", "receipt", 40_000, 53_333), ("1100", "receipt", -40_000, -50_000), ("7900", "fx", 0, -3_333)]
    # R2 EUR 600.00 at 0.75 = USD 800.00 clears the last 750.00: gain 50.00
    receipt(ledger, "R2", "P", "2020-07-02", "600.00")
    assert [(line["account"], line["amount_minor"], line["usd_cents"]) for line in lines_of(ledger, 3)] == [
        ("1000", 60_000, 80_000), ("1100", -60_000, -75_000), ("7900", 0, -5_000)]
    # settled: the receivable is exactly zero in EUR and in USD
    receivable = [line for entry in (1, 2, 3) for line in lines_of(ledger, entry) if line["account"] == "1100"]
    assert sum(line["amount_minor"] for line in receivable) == 0 and sum(line["usd_cents"] for line in receivable) == 0
    row = funding_rows(ledger, "2020-12-31")[1]
    # fx_difference = received + outstanding - pledged = 1,333.33 + 0 - 1,250.00 = 83.33 = 33.33 + 50.00
    assert (row.pledged, row.received, row.outstanding, row.fx_difference) == (125_000, 133_333, 0, 8_333)


def test_a_receipt_given_in_usd_is_split_like_its_amount_and_fixes_no_rate(ledger):
    rate(ledger, "NOK", "2011-06-01", "5.80", through="2011-08")
    donor(ledger, "NOR")
    pledge(ledger, "P1", "NOR", "2011-06-01", "NOK", {1: "1000000.00", None: "500000.00"})
    # NOK 750,000.00 with USD 130,000.00 credited by the bank (converted it would be 129,310.34)
    # NOK split 2:1 -> 500,000.00 / 250,000.00; USD 13,000,000 cents 2:1 -> 8,666,666.67 / 4,333,333.33:
    #   floors leave one cent for the larger remainder (.67, paragraph 1): USD 86,666.67 / 43,333.33
    # carrying values cleared, as at 5.80: 172,413.79 - 86,206.90 = 86,206.89 ; 86,206.90 - 43,103.45 = 43,103.45
    # exchange gains (Cr 7900): 86,206.89 - 86,666.67 = -459.78 ; 43,103.45 - 43,333.33 = -229.88 (689.66 in all)
    posted = receipt(ledger, "R9", "P1", "2011-08-01", "750000.00", usd_amount="130000.00")
    assert posted.usd_cents == 13_000_000
    assert [(line["account"], line["amount_minor"], line["usd_cents"]) for line in lines_of(ledger, posted.entry_id)] == [
        ("1000", 50_000_000, 8_666_667), ("1100", -50_000_000, -8_620_689), ("7900", 0, -45_978),
        ("1000", 25_000_000, 4_333_333), ("1100", -25_000_000, -4_310_345), ("7900", 0, -22_988)]
    # its USD was given, not converted: a rate recorded later changes nothing posted
    assert services.add_rate(ledger, RateIn(currency="NOK", effective_from="2011-12-01", units_per_usd="5.90")) == "added"
    rows = funding_rows(ledger, "2011-12-31")  # outstanding now valued at 5.90
    # outstanding NOK 500,000.00 / 5.90 = 84,745.76 ; NOK 250,000.00 / 5.90 = 42,372.88
    assert (rows[1].received, rows[1].outstanding) == (8_666_667, 8_474_576)
    assert (rows[None].received, rows[None].outstanding) == (4_333_333, 4_237_288)


def test_a_cancellation_naming_no_allocation_is_split_like_a_receipt(ledger):
    donor(ledger, "AAA")
    pledge(ledger, "P", "AAA", "2020-01-10", "USD", {1: "600", None: "400"})
    before = table_counts(ledger)
    assert refused(cancel, ledger, "P", "2020-01-09", "1") == (
        "cancelled_on: 2020-01-09 is before the pledge date of P (2020-01-10)")
    assert table_counts(ledger) == before
    # USD 250.00 over the outstanding 600 : 400 -> 150.00 / 100.00; Dr 4000 / Cr 1100, no exchange difference
    posted = cancel(ledger, "P", "2020-02-01", "250")
    assert posted.usd_cents == 25_000
    assert [(line["account"], line["flow"], line["usd_cents"]) for line in lines_of(ledger, posted.entry_id)] == [
        ("4000", "cancel", 15_000), ("1100", "cancel", -15_000), ("4000", "cancel", 10_000), ("1100", "cancel", -10_000)]
    # USD 0.01 over 450.00 : 300.00 -> 0.006 / 0.004: both floor to 0, the cent goes to the larger remainder
    odd = cancel(ledger, "P", "2020-02-02", "0.01")
    assert [line["usd_cents"] for line in lines_of(ledger, odd.entry_id) if line["account"] == "4000"] == [1]
    rows = funding_rows(ledger, "2020-12-31")
    assert (rows[1].pledged, rows[1].outstanding) == (44_999, 44_999)  # 600.00 - 150.00 - 0.01
    assert (rows[None].pledged, rows[None].outstanding) == (30_000, 30_000)  # 400.00 - 100.00


# -- disbursements ----------------------------------------------------------------------------


def test_a_disbursement_in_another_currency_splits_its_amount_pro_rata_to_the_usd(ledger):
    rate(ledger, "EUR", "2020-01-01", "0.80", through="2020-02")
    rate(ledger, "VND", "2020-01-01", "23000", through="2020-02")
    donor(ledger, "AAA")
    donor(ledger, "BBB")
    activity(ledger, "A3", 3, "1000")
    pledge(ledger, "PA", "AAA", "2020-01-10", "USD", {3: "100"}, psc="0")
    pledge(ledger, "PB", "BBB", "2020-01-11", "USD", {None: "1000"}, psc="0")
    receipt(ledger, "RA", "PA", "2020-01-20", "100")
    receipt(ledger, "RB", "PB", "2020-01-20", "1000")
    # EUR 100.01 / 0.80 = 125.0125 -> USD 125.01: PA's paragraph-3 allocation pays 100.00, PB's
    # unearmarked one 25.01. EUR 10,001 cents pro rata 10,000 : 2,501 -> 8,000.16 / 2,000.84:
    # floors 8,000 + 2,000, the cent left to the larger remainder (.84): EUR 80.00 / 20.01
    posted = disburse(ledger, "D1", "A3", "2020-02-01", "100.01", currency="EUR")
    assert posted.usd_cents == 12_501
    spend = [(line["pledge_id"], line["currency"], line["amount_minor"], line["usd_cents"])
             for line in lines_of(ledger, posted.entry_id) if line["account"] == "5000"]
    assert spend == [(1, "EUR", 8_000, 10_000), (2, "EUR", 2_001, 2_501)]
    # VND 1 / 23,000 = USD 0.0000435: less than a cent, refused
    assert refused(disburse, ledger, "D2", "A3", "2020-02-01", "1", currency="VND") == (
        "amount: VND 1 is worth less than one US cent")


def test_funding_candidates_of_the_same_date_go_in_code_point_order(ledger):
    donor(ledger, "AAA")
    activity(ledger, "A1", 1, "1000")
    # the same date: "B-1" comes before "a-1" in code point order (B is 66, a is 97), on both
    # databases, although a-1 was recorded first
    pledge(ledger, "a-1", "AAA", "2020-01-10", "USD", {None: "100"}, psc="0")
    pledge(ledger, "B-1", "AAA", "2020-01-10", "USD", {None: "100"}, psc="0")
    receipt(ledger, "Ra", "a-1", "2020-01-20", "100")
    receipt(ledger, "RB", "B-1", "2020-01-20", "100")
    posted = disburse(ledger, "D1", "A1", "2020-02-01", "150")
    spend = [(line["pledge_id"], line["usd_cents"]) for line in lines_of(ledger, posted.entry_id) if line["account"] == "5000"]
    assert spend == [(2, 10_000), (1, 5_000)]  # B-1 (id 2) first, all of its 100.00; a-1 the other 50.00


# -- rates and users --------------------------------------------------------------------------


def test_a_rate_is_positive_with_at_most_six_decimals():
    assert RateIn(currency="nok", effective_from="2020-01-01", units_per_usd="8.123456").rate_micros == 8_123_456
    with pytest.raises(ValidationError, match="must be greater than zero"):
        RateIn(currency="NOK", effective_from="2020-01-01", units_per_usd="0")
    with pytest.raises(ValidationError, match="has more than 6 decimals"):
        RateIn(currency="NOK", effective_from="2020-01-01", units_per_usd="8.1234567")


def test_the_last_admin_cannot_give_up_the_admin_role(ledger):
    donor(ledger, "AAA")  # the first user of a new ledger becomes admin (on PostgreSQL: the login)
    me = ledger.actor.name
    assert refused(services.add_user, ledger, UserIn(name=me, role="finance")) == (
        "role: the last admin cannot give up the admin role")
    assert services.add_user(ledger, UserIn(name="boss", role="admin")) == "added"
    assert services.add_user(ledger, UserIn(name=me, role="finance")) == "updated"


def test_a_reversed_cancellation_leaves_no_cent_on_the_allocation(ledger):
    """Every act moves the carrying value to round(outstanding after / pledge's rate) and a
    cancellation's USD is exactly that move, so whatever is reversed in between the allocation
    ends with pledged = received and no exchange difference."""
    rate(ledger, "BRL", "2020-02-01", "3", through="2020-04")
    donor(ledger, "BRA")
    pledge(ledger, "P", "BRA", "2020-02-01", "BRL", {6: "1000.00"})  # carries round(1,000.00 / 3) = 333.33
    first = cancel(ledger, "P", "2020-02-10", "500.00")  # to round(500.00 / 3) = 166.67: USD 166.66
    assert first.usd_cents == 16_666
    # BRL 250.00 at the pledge's rate clears 166.67 - round(250.00 / 3 = 83.333) 83.33 = USD 83.34
    assert receipt(ledger, "R1", "P", "2020-03-01", "250.00").usd_cents == 8_334
    reverse(ledger, first.entry_id, on="2020-03-05")  # the receivable holds 83.33 + 166.66 = 249.99 again
    # cancelling the BRL 750.00 left moves 249.99 to 0: USD 249.99, not round(750.00 / 3) = 250.00
    assert cancel(ledger, "P", "2020-04-01", "750.00").usd_cents == 24_999
    row = funding_rows(ledger, "2020-04-30")[6]
    assert (row.pledged, row.received, row.outstanding, row.fx_difference) == (8_334, 8_334, 0, 0)
    assert not [line for entry in range(1, 6) for line in lines_of(ledger, entry) if line["account"] == "7900"]
