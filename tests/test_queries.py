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
