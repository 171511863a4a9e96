"""The read models the TUI shows agree with the reports: pledged and programmable are net of
cancellations (docs/rules.md#outstanding-and-carrying-value), and a pledge's status says so."""

from decimal import Decimal

from ledger import queries
from tests.builders import cancel, donor, pledge, receipt


def test_a_fully_cancelled_pledge_counts_nothing(ledger):
    donor(ledger, "USA", "United States")
    pledge(ledger, "P1", "USA", "2020-01-01", "USD", {1: "1000"})
    cancel(ledger, "P1", "2020-02-01", "1000")
    detail = queries.pledge_detail(ledger, "P1")
    [allocation] = detail.allocations
    assert (allocation.pledged_usd, allocation.programmable_usd) == (Decimal("0.00"), Decimal("0.00"))
    assert [d.pledged_usd for d in queries.donors(ledger)] == [Decimal("0.00")]
    assert [a.pledged_usd for a in queries.paragraph_funding(ledger, 1)] == [Decimal("0.00")]
    assert [r.status for r in queries.pledges_page(ledger)] == ["cancelled"]


def test_received_in_part_and_the_rest_cancelled_is_closed_not_received(ledger):
    donor(ledger, "USA", "United States")
    pledge(ledger, "P2", "USA", "2020-01-01", "USD", {1: "1000"})
    receipt(ledger, "R1", "P2", "2020-01-15", "100")
    cancel(ledger, "P2", "2020-02-01", "900")
    [row] = queries.pledges_page(ledger)
    assert (row.status, row.outstanding) == ("closed (part cancelled)", Decimal("0.00"))
    [allocation] = queries.pledge_detail(ledger, "P2").allocations
    # net pledged 100.00; programmable = round_half_up(10000 * 100 / 113) cents = 8849.557... -> 88.50
    assert (allocation.pledged_usd, allocation.programmable_usd) == (Decimal("100.00"), Decimal("88.50"))


def test_a_disbursement_entry_is_found_by_its_exact_reference(ledger):
    from tests.builders import disburse, worked_example

    worked_example(ledger)
    disburse(ledger, "D10", "A1", "2011-09-02", "100")
    disburse(ledger, "D_1", "A1", "2011-09-03", "100")
    assert queries.disbursement_entry(ledger, "D1") == 5  # not D10 or D_1, which a LIKE search also finds
    assert queries.disbursement_entry(ledger, "D_1") == 7
    assert queries.disbursement_entry(ledger, "D") is None


def test_who_paid_for_a_paragraph_includes_unearmarked_money_and_reversals_take_it_back(ledger):
    from reports.funding import funding_report_for
    from tests.builders import activity, disburse, entry_count, reverse, worked_example

    worked_example(ledger)
    activity(ledger, "A1-02", 1, "100000", "planned", 0)
    # P1's ¶1 allocation holds 86,206.89 - 50,000.00 - 6,500.00 = 29,706.89 after D1: it gives x with
    # x + 13% <= 29,706.89, x = 26,289.28 (PSC 3,417.61); P1's unearmarked allocation pays the other
    # 33,710.72 of D2 (PSC 4,382.39)
    disburse(ledger, "D2", "A1-02", "2011-09-02", "60000")
    assert [(s.pledge, s.donor, s.earmarked, s.spent_usd, s.psc_usd) for s in queries.paragraph_spending(ledger, 1)] == [
        ("P1", "NOR", 1, Decimal("76289.28"), Decimal("9917.61")),
        ("P1", "NOR", None, Decimal("33710.72"), Decimal("4382.39")),
    ]
    spent = funding_report_for(ledger).rows[0].spent_on_activities  # ¶1's spent on activities, in cents
    assert spent == 11_000_000 == sum(s.spent_usd for s in queries.paragraph_spending(ledger, 1)) * 100
    assert queries.paragraph_spending(ledger, 4) == []  # P2 is earmarked to ¶4 but paid for nothing yet
    reverse(ledger, entry_count(ledger))  # D2 reversed: its funding splits net to zero and drop out
    assert [(s.pledge, s.earmarked, s.spent_usd) for s in queries.paragraph_spending(ledger, 1)] == [
        ("P1", 1, Decimal("50000.00"))]
