"""A worked example for every rule of docs/rules.md, numbers computed by hand and written out.

Money in a FundingRow is in US cents; amounts in comments are in major units.
"""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from ledger import queries, services
from ledger.errors import Problem, problems_of
from ledger.inputs import ActivityIn, ActivityUpdate, DonorIn, PledgeIn, RateIn
from ledger.schema import JournalEntry, Rate
from ledger.versions import Change
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
    table_counts,
    worked_example,
)

# -- input problems, each at its own field ----------------------------------------------------


def test_each_problem_of_a_pledge_is_located_at_its_field():
    """One problem per faulty allocation, at its position in the allocations given (a form shows
    it at that allocation's field, an import at that allocation's row), beside the pledge's own."""
    with pytest.raises(ValidationError) as error:
        PledgeIn(reference="P", donor="AAA", pledged_on="2020-03-01", currency="USD", due_on="2020-02-01",
                 allocations=[{"paragraph": 1, "amount": "1.234"}, {"paragraph": 2, "amount": "5"},
                              {"paragraph": 2, "amount": "7"}, {"amount": "0"}])
    assert problems_of(error.value) == [
        Problem("allocations.0.amount", "1.234 has more decimals than USD allows (2)"),
        Problem("allocations.2.paragraph", "a second allocation to ¶2: at most one per paragraph and one unearmarked"),
        Problem("allocations.3.amount", "must be greater than zero, got 0"),
        Problem("due_on", "2020-02-01 is before pledged_on (2020-03-01)"),
    ]


# -- a EUR pledge split 60/40, paid in two receipts at different rates ------------------------


@pytest.fixture
def eur_ledger(ledger):
    rate(ledger, "EUR", "2020-01-01", "0.80", through="2020-05")
    rate(ledger, "EUR", "2020-06-01", "0.75", through="2020-12")
    rate(ledger, "EUR", "2021-01-01", "0.90", through="2021-06")
    donor(ledger, "DEU", "Germany")
    # 60/40: paragraph 1 EUR 60,000.00 -> 60,000 / 0.80 = USD 75,000.00;
    #        paragraph 4 EUR 40,000.00 -> 40,000 / 0.80 = USD 50,000.00
    pledge(ledger, "PE", "DEU", "2020-02-01", "EUR", {1: "60000.00", 4: "40000.00"})
    # E1, 2020-03-01, EUR 33,333.33 at 0.80 (the pledge's rate: the carrying values it clears,
    # 75,000.00 - 50,000.00 and 50,000.00 - 33,333.34, in all USD 41,666.66)
    receipt(ledger, "E1", "PE", "2020-03-01", "33333.33")
    # E2, 2020-07-01, EUR 50,000.00 at 0.75 = 66,666.666... -> USD 66,666.67
    receipt(ledger, "E2", "PE", "2020-07-01", "50000.00")
    return ledger


def test_eur_receipt_split_pro_rata_by_largest_remainder(eur_ledger):
    # E1 over outstanding 60,000.00 : 40,000.00 (3:2), in cents 3,333,333:
    #   x 3/5 = 1,999,999.8 -> 1,999,999 ; x 2/5 = 1,333,333.2 -> 1,333,333 ; one cent left -> larger
    #   remainder (.8, paragraph 1): EUR 20,000.00 / 13,333.33
    # USD 4,166,666 cents pro rata 2,000,000 : 1,333,333:
    #   2,499,999.85 -> 2,499,999 ; 1,666,666.15 -> 1,666,666 ; one cent to .85: USD 25,000.00 / 16,666.66
    e1 = [line for line in lines_of(eur_ledger, 2) if line["account"] == "1000"]
    assert [(line["amount_minor"], line["usd_cents"]) for line in e1] == [(2_000_000, 2_500_000), (1_333_333, 1_666_666)]
    # E2 over outstanding 40,000.00 : 26,666.67; in cents 5,000,000:
    #   x 4,000,000/6,666,667 = 2,999,999.85 -> 2,999,999 ; x 2,666,667/6,666,667 = 2,000,000.15 -> 2,000,000
    #   one cent to .85 (paragraph 1): EUR 30,000.00 / 20,000.00
    # USD 6,666,667 cents 3:2 -> 4,000,000.2 / 2,666,666.8 -> floors + one cent to .8: USD 40,000.00 / 26,666.67
    e2 = [line for line in lines_of(eur_ledger, 3) if line["account"] == "1000"]
    assert [(line["amount_minor"], line["usd_cents"]) for line in e2] == [(3_000_000, 4_000_000), (2_000_000, 2_666_667)]


def test_eur_funding_report_shows_the_exchange_difference(eur_ledger):
    rows = funding_rows(eur_ledger, "2021-06-30")  # rate in force 0.90
    one, four = rows[1], rows[4]
    assert one.pledged == 7_500_000 and four.pledged == 5_000_000
    # programmable: 75,000 x 100/113 = 66,371.681 -> 66,371.68 ; 50,000 x 100/113 = 44,247.787 -> 44,247.79
    assert one.programmable == 6_637_168 and four.programmable == 4_424_779
    # received: 25,000.00 + 40,000.00 = 65,000.00 ; 16,666.66 + 26,666.67 = 43,333.33
    assert one.received == 6_500_000 and four.received == 4_333_333
    # outstanding: EUR 60,000 - 20,000 - 30,000 = 10,000.00 / 0.90 = 11,111.11
    #              EUR 40,000 - 13,333.33 - 20,000 = 6,666.67 / 0.90 = 7,407.411 -> 7,407.41
    assert one.outstanding == 1_111_111 and four.outstanding == 740_741
    # fx_difference = received + outstanding - pledged:
    #   65,000.00 + 11,111.11 - 75,000.00 = 1,111.11 ; 43,333.33 + 7,407.41 - 50,000.00 = 740.74
    assert one.fx_difference == 111_111 and four.fx_difference == 74_074
    assert rows["totals"].fx_difference == 185_185  # 1,111.11 + 740.74


def test_an_as_of_date_excludes_later_events(eur_ledger):
    # as of 2020-06-30: E2 (2020-07-01) is not counted; rate in force 0.75
    rows = funding_rows(eur_ledger, "2020-06-30")
    assert rows[1].received == 2_500_000 and rows[4].received == 1_666_666
    # outstanding EUR 40,000.00 / 0.75 = 53,333.33 ; EUR 26,666.67 / 0.75 = 35,555.56
    assert rows[1].outstanding == 5_333_333 and rows[4].outstanding == 3_555_556
    # before the pledge nothing at all
    before = funding_rows(eur_ledger, "2020-01-31")
    assert before["totals"].pledged == 0 and before["totals"].received == 0 and before["totals"].outstanding == 0


def test_as_of_excludes_later_receipts_and_disbursements_of_the_worked_example(ledger):
    worked_example(ledger)
    rows = funding_rows(ledger, "2011-08-10")  # after R1, before R2 (08-15) and D1 (09-01)
    assert rows[1].received == 8_620_689 and rows[4].received == 0
    assert rows[1].disbursed == 0 and rows[1].psc == 0 and rows[1].spent_on_activities == 0
    assert rows[4].pledged == 25_000_000
    rows = funding_rows(ledger, "2011-06-30")  # before P2 (07-01)
    assert rows[4].pledged == 0 and rows[1].pledged == 17_241_379


# -- currencies with 0 and 3 decimals ---------------------------------------------------------


def test_jpy_pledge_has_no_decimals(ledger):
    rate(ledger, "JPY", "2020-01-01", "110.5", through="2020-03")
    donor(ledger, "JPN", "Japan")
    # paragraph 2 JPY 700,001 / 110.5 = 6,334.850... -> USD 6,334.85 ; unearmarked 300,000 / 110.5 = 2,714.932 -> 2,714.93
    pledge(ledger, "PJ", "JPN", "2020-02-01", "JPY", {2: "700001", None: "300000"})
    assert "more decimals than JPY allows" in refused(receipt, ledger, "J0", "PJ", "2020-03-01", "1.5")
    # receipt JPY 500,001 at the pledge's rate 110.5: no exchange difference
    # yen split 700,001 : 300,000 (W 1,000,001): 350,000.85 -> 350,000 ; 150,000.15 -> 150,000; one yen to .85
    # each share's USD is the carrying value it clears: 6,334.85 - round(350,000 / 110.5 = 3,167.420) 3,167.42
    # = 3,167.43 ; 2,714.93 - round(150,000 / 110.5 = 1,357.466) 1,357.47 = 1,357.46: USD 4,524.89 in all
    # (converting the whole, 500,001 / 110.5 = 4,524.895 -> 4,524.90, would book a cent of exchange difference)
    receipt(ledger, "J1", "PJ", "2020-03-01", "500001")
    cash = [line for line in lines_of(ledger, 2) if line["account"] == "1000"]
    assert [(line["amount_minor"], line["usd_cents"]) for line in cash] == [(350_001, 316_743), (150_000, 135_746)]
    assert not [line for line in lines_of(ledger, 2) if line["account"] == "7900"]
    rows = funding_rows(ledger, "2020-12-31")
    assert rows[2].pledged == 633_485 and rows[None].pledged == 271_493
    # outstanding JPY 700,001 - 350,001 = 350,000 / 110.5 = 3,167.42 ; 150,000 / 110.5 = 1,357.466 -> 1,357.47
    assert rows[2].outstanding == 316_742 and rows[None].outstanding == 135_747
    with ledger.reading() as session:
        from ledger.pledges import stored_pledge
        from ledger.unit_of_work import Reader

        stored = stored_pledge(Reader(session, ledger.actor), 1)
    assert [str(a.amount) for a in stored.allocations] == ["700001", "300000"]


def test_kwd_pledge_has_three_decimals(ledger):
    rate(ledger, "KWD", "2020-01-01", "0.302", through="2020-03")
    donor(ledger, "KWT", "Kuwait")
    with pytest.raises(ValidationError, match="more decimals than KWD allows"):
        pledge(ledger, "PK0", "KWT", "2020-02-01", "KWD", {5: "1000.1255"})
    # KWD 1,000.125 / 0.302 = 3,311.672... -> USD 3,311.67
    pledge(ledger, "PK", "KWT", "2020-02-01", "KWD", {5: "1000.125"})
    assert lines_of(ledger, 1)[0]["amount_minor"] == 1_000_125
    assert funding_rows(ledger, "2020-12-31")[5].pledged == 331_167
    # receipt KWD 0.001 (one fils) / 0.302 = 0.00331 -> USD 0.00
    receipt(ledger, "K1", "PK", "2020-03-01", "0.001")
    assert funding_rows(ledger, "2020-12-31")[5].received == 0
    # outstanding 1,000.124 / 0.302 = 3,311.668 -> 3,311.67
    assert funding_rows(ledger, "2020-12-31")[5].outstanding == 331_167


# -- funding ----------------------------------------------------------------------------------


@pytest.fixture
def two_pledges(ledger):
    """Paragraph 3: PA (2020-01-10, para 3 USD 10,000, PSC 13) and PB (2020-02-10, unearmarked
    USD 20,000, PSC 7), both received in full."""
    donor(ledger, "AAA")
    donor(ledger, "BBB")
    activity(ledger, "A3", 3, "100000")
    pledge(ledger, "PA", "AAA", "2020-01-10", "USD", {3: "10000"}, psc="13")
    pledge(ledger, "PB", "BBB", "2020-02-10", "USD", {None: "20000"}, psc="7")
    receipt(ledger, "RA", "PA", "2020-01-20", "10000")
    receipt(ledger, "RB", "PB", "2020-02-20", "20000")
    return ledger


def test_automatic_funding_across_two_pledges_with_different_psc_rates(two_pledges):
    ledger = two_pledges
    # PA (earmarked, first): largest x with x + round(0.13x) <= 10,000.00:
    #   x = 8,849.56 -> PSC 1,150.4428 -> 1,150.44 ; total 10,000.00 (8,849.57 would need 10,000.01)
    # PB (unearmarked) pays the rest 15,000 - 8,849.56 = 6,150.44 with PSC 7 %: 430.5308 -> 430.53
    posted = disburse(ledger, "D1", "A3", "2020-03-01", "15000")
    assert posted.detail == "PSC USD 1,580.97"  # 1,150.44 + 430.53
    lines = lines_of(ledger, posted.entry_id)
    spend = [(line["pledge_id"], line["usd_cents"]) for line in lines if line["account"] == "5000"]
    psc = [(line["pledge_id"], line["usd_cents"]) for line in lines if line["account"] == "5100"]
    assert spend == [(1, 884_956), (2, 615_044)]
    assert psc == [(1, 115_044), (2, 43_053)]
    rows = funding_rows(ledger, "2020-12-31")
    assert (rows[3].disbursed, rows[3].psc, rows[3].available) == (884_956, 115_044, 0)
    # unearmarked available 20,000.00 - 6,150.44 - 430.53 = 13,419.03
    assert (rows[None].disbursed, rows[None].psc, rows[None].available) == (615_044, 43_053, 1_341_903)
    assert rows[3].spent_on_activities == 1_500_000 and rows[None].spent_on_activities == 0


def test_insufficient_funds_refused_naming_the_shortfall_and_writing_nothing(two_pledges):
    ledger = two_pledges
    disburse(ledger, "D1", "A3", "2020-03-01", "15000")
    before = table_counts(ledger)
    # PA has nothing left; PB 13,419.03: x / 1.07 -> 12,541.15 (+ PSC 877.88 = 13,419.03)
    # shortfall 14,000.00 - 12,541.15 = 1,458.85
    message = refused(disburse, ledger, "D2", "A3", "2020-03-02", "14000")
    assert message == ("amount: insufficient funds for paragraph 3: asked USD 14,000.00, can fund USD 12,541.15, "
                       "shortfall USD 1,458.85")
    assert table_counts(ledger) == before
    plan = services.plan_funding(ledger, __import__("ledger.inputs").inputs.DisbursementIn(
        reference="D2", activity="A3", disbursed_on="2020-03-02", amount="12541.15"))
    assert plan.shortfall_cents == 0 and plan.psc_cents == 87_788
    assert table_counts(ledger) == before  # a plan writes nothing


def test_a_named_funding_pledge_pays_from_its_paragraph_then_its_unearmarked_never_another(two_pledges):
    ledger = two_pledges
    donor(ledger, "CCC")
    # PC (later than PA): paragraph 3 USD 1,000 and unearmarked USD 5,000, PSC 13, all received
    pledge(ledger, "PC", "CCC", "2020-02-15", "USD", {3: "1000", None: "5000"})
    receipt(ledger, "RC", "PC", "2020-02-20", "6000")
    # paragraph 3 allocation: 1,000.00 / 1.13 -> 884.96 + PSC 115.04 = 1,000.00
    # rest 4,000 - 884.96 = 3,115.04 from PC's unearmarked, PSC 404.9552 -> 404.96
    posted = disburse(ledger, "D1", "A3", "2020-03-01", "4000", pledge="PC")
    lines = lines_of(ledger, posted.entry_id)
    assert [(line["pledge_id"], line["usd_cents"]) for line in lines if line["account"] == "5000"] == [
        (3, 88_496), (3, 311_504)]
    assert [line["usd_cents"] for line in lines if line["account"] == "5100"] == [11_504, 40_496]
    # PC's unearmarked has 5,000.00 - 3,115.04 - 404.96 = 1,480.00 left -> 1,309.73 (+ 170.27);
    # PA's 10,000 and PB's 20,000 are never used for a disbursement naming PC
    message = refused(disburse, ledger, "D2", "A3", "2020-03-01", "10000", pledge="PC")
    assert "can fund USD 1,309.73, shortfall USD 8,690.27" in message
    # a pledge that funds neither paragraph 3 nor unearmarked work
    donor(ledger, "DDD")
    pledge(ledger, "PD", "DDD", "2020-02-15", "USD", {5: "1000"})
    assert "funds neither paragraph 3" in refused(disburse, ledger, "D3", "A3", "2020-03-01", "1", pledge="PD")


def test_disbursement_posted_out_of_date_order_cannot_overdraw_an_earlier_date(ledger):
    donor(ledger, "AAA")
    activity(ledger, "A1", 1, "1000")
    pledge(ledger, "P", "AAA", "2020-01-01", "USD", {1: "1000"})
    receipt(ledger, "R", "P", "2020-01-10", "1000")
    # 2020-03-01: 800 + PSC 104 = 904 -> cash from 03-01 on is 96.00
    disburse(ledger, "D1", "A1", "2020-03-01", "800")
    # dated 2020-02-01: balance on 02-01 is 1,000 but on 03-01 only 96.00 -> 96.00 / 1.13 = 84.956:
    #   x = 84.96, PSC 11.0448 -> 11.04, total 96.00 (84.97 would need 96.01); shortfall 100 - 84.96 = 15.04
    message = refused(disburse, ledger, "D2", "A1", "2020-02-01", "100")
    assert "can fund USD 84.96, shortfall USD 15.04" in message
    # dated before the receipt: no cash at all on 2020-01-05
    assert "can fund USD 0.00" in refused(disburse, ledger, "D3", "A1", "2020-01-05", "1")
    disburse(ledger, "D4", "A1", "2020-02-01", "84.96")
    assert funding_rows(ledger, "2020-12-31")[1].available == 0  # 1,000 - 800 - 104 - 84.96 - 11.04


# -- receipts ---------------------------------------------------------------------------------


@pytest.fixture
def usd_pledge(ledger):
    donor(ledger, "AAA")
    activity(ledger, "A1", 1, "5000")
    pledge(ledger, "P", "AAA", "2020-01-10", "USD", {1: "1000"})
    return ledger


def test_receipt_dated_before_its_pledge_is_refused(usd_pledge):
    message = refused(receipt, usd_pledge, "R", "P", "2020-01-09", "10")
    assert message == "received_on: 2020-01-09 is before the pledge date of P (2020-01-10)"
    assert entry_count(usd_pledge) == 1


def test_receipt_over_outstanding_is_refused_naming_both_amounts(usd_pledge):
    receipt(usd_pledge, "R1", "P", "2020-01-10", "400")
    message = refused(receipt, usd_pledge, "R2", "P", "2020-01-11", "600.01")
    assert message == "amount: receipt of USD 600.01 exceeds the USD 600.00 outstanding on pledge P"
    receipt(usd_pledge, "R3", "P", "2020-01-11", "600")
    assert funding_rows(usd_pledge, "2020-12-31")[1].outstanding == 0


def test_a_usd_receipt_is_credited_its_own_amount(usd_pledge):
    """No exchange difference between USD and USD: a different usd_amount is refused, the same one accepted."""
    message = refused(receipt, usd_pledge, "R1", "P", "2020-01-10", "100", usd_amount="99")
    assert message == ("usd_amount: pledge P is in USD: the USD credited is the amount received (USD 100.00), "
                       "not USD 99.00; leave usd_amount empty")
    assert entry_count(usd_pledge) == 1
    receipt(usd_pledge, "R1", "P", "2020-01-10", "100", usd_amount="100.00")
    assert funding_rows(usd_pledge, "2020-12-31")[1].received == 10_000  # cents


def test_money_events_dated_after_today_are_refused(usd_pledge):
    ledger = usd_pledge
    receipt(ledger, "R1", "P", "2020-02-01", "500")
    before = table_counts(ledger)
    today = dt.date.today()  # read when the test runs, not when the module is collected (a run may cross midnight)
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    future = f"is in the future; money events may not be dated after today ({today})"
    assert future in refused(pledge, ledger, "PF", "AAA", tomorrow, "USD", {1: "1"})
    assert future in refused(receipt, ledger, "RF", "P", tomorrow, "1")
    assert future in refused(disburse, ledger, "DF", "A1", tomorrow, "1")
    assert future in refused(cancel, ledger, "P", tomorrow, "1")
    assert future in refused(reverse, ledger, 2, tomorrow)
    assert table_counts(ledger) == before


def test_receipt_clearing_the_pledge_clears_every_allocation(ledger):
    rate(ledger, "NOK", "2011-06-01", "5.80")
    donor(ledger, "NOR")
    pledge(ledger, "P", "NOR", "2011-06-01", "NOK", {1: "0.01", 2: "0.01", None: "0.01"})
    receipt(ledger, "R1", "P", "2011-06-02", "0.02")  # 1:1:1 -> 0.67 each; the first two get the cents
    receipt(ledger, "R2", "P", "2011-06-03", "0.01")
    rows = funding_rows(ledger, "2011-12-31")
    assert [rows[k].outstanding for k in (1, 2, None)] == [0, 0, 0]
    assert [line["amount_minor"] for line in lines_of(ledger, 2) if line["account"] == "1000"] == [1, 1]


# -- cancellations ----------------------------------------------------------------------------


def test_cancellation_in_two_halves_nets_to_exactly_zero_in_usd(ledger):
    rate(ledger, "BRL", "2020-02-01", "3")
    donor(ledger, "BRA")
    # BRL 1,000.00 / 3 = 333.333 -> USD 333.33
    pledge(ledger, "P", "BRA", "2020-02-01", "BRL", {6: "1000.00"})
    # first half: the carrying value moves from 333.33 to round(500.00 / 3) = round(166.667) = 166.67
    first = cancel(ledger, "P", "2020-03-01", "500.00")
    assert first.usd_cents == 16_666
    # second half: from 166.67 to 0 (rounding each half alone would give 166.67 + 166.67 = 333.34,
    # one cent more than pledged)
    second = cancel(ledger, "P", "2020-04-01", "500.00")
    assert second.usd_cents == 16_667
    row = funding_rows(ledger, "2020-12-31")[6]
    assert (row.pledged, row.programmable, row.outstanding, row.fx_difference) == (0, 0, 0, 0)
    assert "only BRL 0.00 is outstanding" in refused(cancel, ledger, "P", "2020-04-01", "0.01")


def test_cancellation_up_to_what_is_outstanding_and_on_one_allocation(usd_pledge):
    ledger = usd_pledge
    donor(ledger, "BBB")
    pledge(ledger, "Q", "BBB", "2020-01-10", "USD", {1: "600", None: "400"})
    receipt(ledger, "RQ", "Q", "2020-01-11", "500")  # 300 / 200
    assert refused(cancel, ledger, "Q", "2020-01-12", "500.01") == (
        "amount: cannot cancel USD 500.01: only USD 500.00 is outstanding on pledge Q")
    assert refused(cancel, ledger, "Q", "2020-01-12", "201", unearmarked=True) == (
        "amount: cannot cancel USD 201.00: only USD 200.00 is outstanding on the unearmarked allocation of pledge Q")
    assert refused(cancel, ledger, "Q", "2020-01-12", "301", paragraph=1) == (
        "amount: cannot cancel USD 301.00: only USD 300.00 is outstanding on paragraph 1 of pledge Q")
    cancel(ledger, "Q", "2020-01-12", "200", unearmarked=True)
    assert refused(cancel, ledger, "Q", "2020-01-12", "1", paragraph=2) == (
        "paragraph: pledge Q has no allocation to paragraph 2")
    rows = funding_rows(ledger, "2020-12-31")
    assert rows[None].pledged == 20_000 and rows[None].outstanding == 0  # 400 - 200 cancelled
    assert rows[1].pledged == 160_000 and rows[1].outstanding == 130_000  # P 1,000 + Q 600; P 1,000 + Q 300 left


# -- reversals --------------------------------------------------------------------------------


def test_receipt_reversed_before_spending_is_accepted_after_spending_refused(usd_pledge):
    ledger = usd_pledge
    r1 = receipt(ledger, "R1", "P", "2020-02-01", "1000")
    back = reverse(ledger, r1.entry_id, "2020-02-05")
    assert lines_of(ledger, back.entry_id) == [
        {**line, "entry_id": back.entry_id, "amount_minor": -line["amount_minor"], "usd_cents": -line["usd_cents"]}
        for line in lines_of(ledger, r1.entry_id)
    ]
    rows = funding_rows(ledger, "2020-12-31")
    assert rows[1].received == 0 and rows[1].outstanding == 100_000
    assert "can fund USD 0.00" in refused(disburse, ledger, "D0", "A1", "2020-02-06", "1")
    r2 = receipt(ledger, "R2", "P", "2020-03-01", "1000")  # R1's reference is left to its correction
    assert refused(receipt, ledger, "R1", "P", "2020-03-01", "1") == (
        f"reference: receipt reference 'R1' belongs to entry {r1.entry_id}, reversed by entry {back.entry_id}: "
        f"only its correction may use it again (donor-ledger correct {r1.entry_id})")
    d1 = disburse(ledger, "D1", "A1", "2020-03-10", "100")  # 100 + PSC 13
    # reversing R2 on 2020-03-20 would leave -113.00 from that date on
    assert refused(reverse, ledger, r2.entry_id, "2020-03-20") == (
        f"entry: reversing receipt R2 (entry {r2.entry_id}) on 2020-03-20 would leave the ¶1 allocation of pledge P "
        "with a negative cash balance (USD -113.00): only USD 887.00 of it is unspent from that date on; "
        f"reverse disbursement D1 (entry {d1.entry_id}) first")
    # also dated before the spending: the balance on 2020-03-10 would go negative
    assert "negative cash balance" in refused(reverse, ledger, r2.entry_id, "2020-03-05")
    reverse(ledger, d1.entry_id, "2020-03-20")
    reverse(ledger, r2.entry_id, "2020-03-20")
    rows = funding_rows(ledger, "2020-12-31")
    assert (rows[1].received, rows[1].disbursed, rows[1].psc, rows[1].available) == (0, 0, 0, 0)


def test_a_refused_receipt_reversal_names_the_latest_disbursements_that_cover_the_shortfall(ledger):
    donor(ledger, "AAA")
    activity(ledger, "A1", 1, "5000")
    activity(ledger, "A2", 2, "5000")
    pledge(ledger, "P", "AAA", "2020-01-10", "USD", {1: "1000", None: "1000"})
    r1 = receipt(ledger, "R1", "P", "2020-02-01", "2000")  # USD 1,000.00 to each allocation
    d1 = disburse(ledger, "D1", "A2", "2020-03-01", "100")  # unearmarked: 100 + PSC 13 = 113
    d2 = disburse(ledger, "D2", "A2", "2020-03-05", "200")  # 226, cash left 661
    # reversing R1 takes 1,000 from the unearmarked allocation: 339 short; D2 alone gives 226 back
    assert refused(reverse, ledger, r1.entry_id, "2020-04-01") == (
        f"entry: reversing receipt R1 (entry {r1.entry_id}) on 2020-04-01 would leave the unearmarked allocation "
        "of pledge P with a negative cash balance (USD -339.00): only USD 661.00 of it is unspent from that "
        f"date on; reverse disbursement D2 (entry {d2.entry_id}), disbursement D1 (entry {d1.entry_id}) first")
    reverse(ledger, d2.entry_id, "2020-04-01")
    assert refused(reverse, ledger, r1.entry_id, "2020-04-01").endswith(
        f"(USD -113.00): only USD 887.00 of it is unspent from that date on; "
        f"reverse disbursement D1 (entry {d1.entry_id}) first")


def test_reversal_dated_before_its_entry_is_refused(usd_pledge):
    r1 = receipt(usd_pledge, "R1", "P", "2020-02-01", "1000")
    assert refused(reverse, usd_pledge, r1.entry_id, "2020-01-31") == (
        f"reversed_on: 2020-01-31 is before the date of receipt R1 (entry {r1.entry_id}) (2020-02-01)")


def test_pledge_reversal_only_when_nothing_is_left_unreversed(usd_pledge):
    ledger = usd_pledge
    r1 = receipt(ledger, "R1", "P", "2020-02-01", "100")
    c1 = cancel(ledger, "P", "2020-02-02", "50")
    message = refused(reverse, ledger, 1, "2020-03-01")
    assert message == (f"entry: pledge P still has receipt R1 (entry {r1.entry_id}), cancellation of P "
                       f"(entry {c1.entry_id}): reverse those first")
    reverse(ledger, r1.entry_id, "2020-03-01")
    assert refused(reverse, ledger, 1, "2020-03-01") == (
        f"entry: pledge P still has cancellation of P (entry {c1.entry_id}): reverse those first")
    reverse(ledger, c1.entry_id, "2020-03-01")
    reverse(ledger, 1, "2020-03-01")
    row = funding_rows(ledger, "2020-12-31")[1]
    assert (row.pledged, row.received, row.outstanding) == (0, 0, 0)
    assert "only its correction may use it again (donor-ledger correct 1)" in refused(
        pledge, ledger, "P", "AAA", "2020-03-02", "USD", {1: "1"})


def test_a_reversal_cannot_be_reversed_and_nothing_is_reversed_twice(usd_pledge):
    r1 = receipt(usd_pledge, "R1", "P", "2020-02-01", "100")
    back = reverse(usd_pledge, r1.entry_id, "2020-02-02")
    assert refused(reverse, usd_pledge, back.entry_id, "2020-02-03") == (
        f"entry: entry {back.entry_id} is itself a reversal (of entry {r1.entry_id}, R1) and cannot be reversed")
    assert refused(reverse, usd_pledge, r1.entry_id, "2020-02-03") == (
        f"entry: receipt R1 (entry {r1.entry_id}) was already reversed by entry {back.entry_id}")
    assert "no journal entry 99" in refused(reverse, usd_pledge, 99, "2020-02-03")
    assert entry_count(usd_pledge) == 3


def test_duplicate_references_are_refused(usd_pledge):
    ledger = usd_pledge
    receipt(ledger, "R1", "P", "2020-02-01", "500")
    disburse(ledger, "D1", "A1", "2020-02-02", "10")
    before = table_counts(ledger)
    assert refused(pledge, ledger, "P", "AAA", "2020-01-10", "USD", {2: "1"}) == (
        "reference: pledge reference 'P' is already taken")
    assert refused(receipt, ledger, "R1", "P", "2020-02-01", "1") == (
        "reference: receipt reference 'R1' is already taken")
    assert refused(disburse, ledger, "D1", "A1", "2020-02-02", "1") == (
        "reference: disbursement reference 'D1' is already taken")
    assert table_counts(ledger) == before


# -- activities -------------------------------------------------------------------------------


def test_a_cancelled_activity_takes_no_new_disbursement(usd_pledge):
    ledger = usd_pledge
    receipt(ledger, "R1", "P", "2020-02-01", "1000")
    disburse(ledger, "D1", "A1", "2020-02-02", "100")
    services.update_activity(ledger, ActivityUpdate(code="A1", status="cancelled"))
    assert refused(disburse, ledger, "D2", "A1", "2020-02-03", "1") == (
        "activity: activity A1 is cancelled: it takes no new disbursement (reopen it as ongoing first)")
    rows = funding_rows(ledger, "2020-12-31")
    assert rows[1].spent_on_activities == 10_000  # what it spent stays spent
    assert rows[1].requirement == 0 and rows[1].activities_total == 0  # cancelled ones excluded


def test_an_activitys_paragraph_cannot_change_once_it_has_disbursements(usd_pledge):
    ledger = usd_pledge
    services.save_activity(ledger, ActivityIn(code="A1", paragraph=2, title="moved", budget_usd="5000"))
    services.save_activity(ledger, ActivityIn(code="A1", paragraph=1, title="back", budget_usd="5000"))
    receipt(ledger, "R1", "P", "2020-02-01", "1000")
    disburse(ledger, "D1", "A1", "2020-02-02", "100")
    assert refused(services.save_activity, ledger, ActivityIn(code="A1", paragraph=2, title="x", budget_usd="5000")) == (
        "paragraph: activity A1 has disbursements: its paragraph cannot change from 1 to 2")
    assert services.save_activity(ledger, ActivityIn(code="A1", paragraph=1, title="x", budget_usd="6000"),
                                  reason="more training") == "updated"


# -- exchange rates ---------------------------------------------------------------------------


def rate_rows(ledger) -> list[tuple]:
    with ledger.reading() as session:
        return session.execute(select(Rate.currency, Rate.effective_from, Rate.units_per_usd_micros, Rate.reason)
                               .order_by(Rate.currency, Rate.effective_from, Rate.id)).all()


def test_rate_rules(ledger):
    def add(currency, day, value, reason=None):
        return services.add_rate(ledger, RateIn(currency=currency, effective_from=day, units_per_usd=value, reason=reason))

    assert refused(add, "USD", "2020-01-01", "1.1") == (
        "units_per_usd: USD is the reporting currency: its rate is always 1, not 1.1")
    assert add("USD", "2020-01-01", "1") == "skipped"
    assert add("NOK", "2011-06-01", "5.80") == "added"
    assert add("NOK", "2011-06-01", "5.8") == "skipped"  # the same row again
    assert refused(add, "NOK", "2011-06-01", "5.81") == (
        "reason: NOK from 2011-06-01: 5.81 differs from the stored rate 5.80; a correction of a rate needs a reason")
    donor(ledger, "NOR")
    pledge(ledger, "P1", "NOR", "2011-06-01", "NOK", {1: "100"})  # 100 / 5.80 = 17.241 -> USD 17.24
    # a correction with its reason is recorded beside the first value; P1 keeps the rate it was posted at
    assert add("NOK", "2011-06-01", "5.90", "the UN circular was misread") == "updated"
    assert add("NOK", "2011-06-01", "5.9") == "skipped"  # the value now in force
    pledge(ledger, "P2", "NOR", "2011-06-15", "NOK", {2: "100"})  # 100 / 5.90 = 16.949 -> USD 16.95
    rows = funding_rows(ledger, "2011-06-30")
    assert (rows[1].pledged, rows[2].pledged) == (1_724, 1_695)
    assert rate_rows(ledger) == [("NOK", dt.date(2011, 6, 1), 5_800_000, None),
                                 ("NOK", dt.date(2011, 6, 1), 5_900_000, "the UN circular was misread")]
    assert services.verify_chain(ledger).ok
    # no rate for a date: the currency and the date are named
    donor(ledger, "CHE")
    assert refused(pledge, ledger, "PC", "CHE", "2020-01-01", "CHF", {1: "1"}) == (
        "currency: no exchange rate for CHF in force on 2020-01-01; import the UN operational rate first")
    assert "no exchange rate for NOK in force on 2010-12-31" in refused(
        pledge, ledger, "PN", "NOR", "2010-12-31", "NOK", {1: "1"})


def test_a_stale_rate_is_refused_naming_the_latest_and_the_month(ledger):
    rate(ledger, "NOK", "2016-12-01", "6.00")
    donor(ledger, "NOR")
    activity(ledger, "A1", 1, "1000")
    before = table_counts(ledger)
    assert refused(pledge, ledger, "P1", "NOR", "2017-01-10", "NOK", {1: "100"}) == (
        "currency: no NOK rate for January 2017 (the latest is 6.00 from 2016-12-01); "
        "record the UN operational rate for January 2017")
    assert table_counts(ledger) == before
    pledge(ledger, "P1", "NOR", "2016-12-31", "NOK", {1: "100"})
    before = table_counts(ledger)
    for usd in ({}, {"usd_amount": "16.67"}):  # a given usd_amount still needs the month's rate
        assert refused(receipt, ledger, "R1", "P1", "2017-02-01", "10", **usd) == (
            "received_on: no NOK rate for February 2017 (the latest is 6.00 from 2016-12-01); "
            "record the UN operational rate for February 2017")
    assert refused(disburse, ledger, "D1", "A1", "2017-03-01", "10", currency="NOK") == (
        "disbursed_on: no NOK rate for March 2017 (the latest is 6.00 from 2016-12-01); "
        "record the UN operational rate for March 2017")
    assert table_counts(ledger) == before
    # events that reuse the pledge's stored rate need none: a cancellation in 2017
    assert cancel(ledger, "P1", "2017-04-01", "10").usd_cents == 167  # 16.67 - round(90 / 6 = 15.00)


def test_a_correction_needs_a_reason_naming_the_stored_value_on_import(ledger, tmp_path):
    from imports.importer import import_file
    from imports.readers import ImportFileError

    path = tmp_path / "rates.csv"
    path.write_text("currency,effective_from,units_per_usd\nNOK,2011-06-01,5.80\n")
    assert import_file(ledger, "rates", path).added == 1
    path.write_text("currency,effective_from,units_per_usd,reason\nNOK,2011-07-01,5.85,\nNOK,2011-06-01,5.90,\n")
    with pytest.raises(ImportFileError) as error:
        import_file(ledger, "rates", path)
    assert str(error.value).endswith("rates.csv:3: reason: NOK from 2011-06-01: 5.90 differs from the stored rate 5.80; "
                                     "a correction of a rate needs a reason")
    path.write_text("currency,effective_from,units_per_usd,reason\nNOK,2011-06-01,5.90,circular 2011/6 corrected\n")
    assert import_file(ledger, "rates", path).updated == 1
    assert [row[2:] for row in rate_rows(ledger)] == [(5_800_000, None), (5_900_000, "circular 2011/6 corrected")]


def test_a_usd_amount_out_of_tolerance_is_refused_naming_both_values(ledger):
    rate(ledger, "CHF", "2020-03-01", "0.90")
    donor(ledger, "CHE")
    pledge(ledger, "PC", "CHE", "2020-03-05", "CHF", {1: "25000.00"})  # 25,000 / 0.90 = USD 27,777.78
    before = table_counts(ledger)
    assert refused(receipt, ledger, "R1", "PC", "2020-03-10", "25000.00", usd_amount="1") == (
        "usd_amount: USD 1.00 credited is more than 10% away from USD 27,777.78, the CHF 25,000.00 converted at "
        "the rate of 2020-03-10 (0.90); check the USD credited")
    # 10% of 27,777.78 is 2,777.778: 30,555.56 is 2,777.78 away (refused), 30,555.55 is 2,777.77 away
    assert "more than 10% away" in refused(receipt, ledger, "R1", "PC", "2020-03-10", "25000.00", usd_amount="30555.56")
    assert "more than 10% away" in refused(receipt, ledger, "R1", "PC", "2020-03-10", "25000.00", usd_amount="25000.00")
    assert table_counts(ledger) == before
    assert receipt(ledger, "R1", "PC", "2020-03-10", "25000.00", usd_amount="30555.55").usd_cents == 3_055_555


def test_a_rate_recorded_under_a_posted_receipt_applies_only_after_it(ledger):
    rate(ledger, "EUR", "2020-01-01", "0.80", through="2020-02")
    donor(ledger, "DEU")
    pledge(ledger, "PE", "DEU", "2020-01-15", "EUR", {1: "1000.00"})  # USD 1,250.00
    r1 = receipt(ledger, "R1", "PE", "2020-02-10", "400.00")  # the pledge's rate: 1,250.00 - 750.00 = USD 500.00
    assert r1.usd_cents == 50_000
    # the right February rate is recorded afterwards (a correction) and a mid-month one too: accepted
    services.add_rate(ledger, RateIn(currency="EUR", effective_from="2020-02-01", units_per_usd="0.78", reason="UN revision"))
    services.add_rate(ledger, RateIn(currency="EUR", effective_from="2020-02-05", units_per_usd="0.79"))
    assert services.verify_chain(ledger).ok
    with ledger.reading() as session:
        from ledger.schema import Receipt

        assert session.execute(select(Receipt.usd_cents, Receipt.rate_micros).where(Receipt.reference == "R1")).one() == (
            50_000, 800_000)
    # a new receipt uses the rate in force now: EUR 300.00 / 0.79 = 379.746 -> USD 379.75; it clears
    # 750.00 - round(300.00 / 0.80 = 375.00) = 375.00 of carrying value: exchange gain 4.75
    r2 = receipt(ledger, "R2", "PE", "2020-02-20", "300.00")
    assert r2.usd_cents == 37_975
    fx = [line["usd_cents"] for line in lines_of(ledger, r2.entry_id) if line["account"] == "7900"]
    assert fx == [-475]
    assert funding_rows(ledger, "2020-02-29")[1].received == 87_975
    assert services.verify_chain(ledger).ok
    # a correction of R1 posts it again, and a receipt posted now converts at the rate in force on its
    # date: EUR 400.00 / 0.79 = 506.329 -> USD 506.33; it clears the same 500.00 of carrying value
    # (EUR 400.00 at the pledge's 0.80): exchange gain 6.33
    fixed = services.correct(ledger, r1.entry_id, "bank reference mistyped", {"bank_reference": "BR-1"})
    assert fixed.reference == "R1" and fixed.usd_cents == 50_633
    fx = [line["usd_cents"] for line in lines_of(ledger, fixed.entry_id) if line["account"] == "7900"]
    assert fx == [-633]
    with ledger.reading() as session:
        assert session.execute(select(Receipt.usd_cents, Receipt.rate_micros).where(
            Receipt.entry_id == fixed.entry_id)).one() == (50_633, 790_000)
    assert funding_rows(ledger, "2020-02-29")[1].received == 88_608  # 506.33 + 379.75
    assert services.verify_chain(ledger).ok


def test_a_disbursement_in_another_currency_keeps_its_rate_when_a_rate_is_recorded_later(usd_pledge):
    ledger = usd_pledge
    rate(ledger, "EUR", "2020-02-01", "0.8")
    receipt(ledger, "R1", "P", "2020-02-01", "1000")
    disburse(ledger, "D1", "A1", "2020-02-10", "80", currency="EUR")  # EUR 80 / 0.8 = USD 100.00
    assert lines_of(ledger, 3)[0]["usd_cents"] == 10_000
    services.add_rate(ledger, RateIn(currency="EUR", effective_from="2020-02-05", units_per_usd="0.9"))
    assert lines_of(ledger, 3)[0]["usd_cents"] == 10_000
    assert services.verify_chain(ledger).ok
    d2 = disburse(ledger, "D2", "A1", "2020-02-10", "90", currency="EUR")  # EUR 90 / 0.9 = USD 100.00
    assert d2.usd_cents == 10_000


# -- the audit trail --------------------------------------------------------------------------


def test_audit_trail_records_who_when_field_old_and_new(usd_pledge):
    """The audit trail is the versions: each change a new version with who, when, why and the
    fields it changed, old and new value; the first version holds every field."""
    ledger = usd_pledge
    start = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=5)
    services.save_donor(ledger, DonorIn(code="AAA", name="Alpha", kind="foundation"), reason="the donor's own name")
    services.update_activity(ledger, ActivityUpdate(code="A1", progress_pct=30, status="ongoing"))
    services.save_activity(ledger, ActivityIn(code="A1", paragraph=2, title="Activity A1", budget_usd="7500.5",
                                              status="ongoing", progress_pct=30), reason="moved to paragraph 2")
    donor_versions = queries.history(ledger, "donors", "AAA")
    activity_versions = queries.history(ledger, "activities", "A1")
    assert [(v.version, v.reason, v.changes) for v in donor_versions] == [
        (1, "", (Change("name", None, "AAA"), Change("kind", None, "member-state"), Change("country", None, None),
                 Change("currency", None, None), Change("iati_ref", None, None))),
        (2, "the donor's own name", (Change("name", "AAA", "Alpha"), Change("kind", "member-state", "foundation"))),
    ]
    assert [(v.version, v.reason, v.changes) for v in activity_versions] == [
        (1, "", (Change("paragraph", None, "1"), Change("title", None, "Activity A1"),
                 Change("budget_usd", None, "5000.00"), Change("planned_start", None, None),
                 Change("planned_end", None, None), Change("status", None, "planned"), Change("progress_pct", None, "0"))),
        (2, "", (Change("status", "planned", "ongoing"), Change("progress_pct", "0", "30"))),
        (3, "moved to paragraph 2", (Change("paragraph", "1", "2"), Change("budget_usd", "5000.00", "7500.50"))),
    ]
    versions = donor_versions + activity_versions
    assert {v.user for v in versions} == {ledger.actor.name}
    assert all(start <= v.at <= dt.datetime.now(dt.UTC).replace(tzinfo=None) for v in versions)
    assert services.save_donor(ledger, DonorIn(code="AAA", name="Alpha", kind="foundation")) == "unchanged"
    assert len(queries.history(ledger, "donors", "AAA")) == 2  # no change, no version


def test_every_entry_names_its_poster(usd_pledge):
    with usd_pledge.reading() as session:
        assert session.execute(select(JournalEntry.user_name)).scalars().all() == [usd_pledge.actor.name]
