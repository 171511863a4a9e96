"""One definition of every figure: overdue pledges, cash needs and the chain check, the same
through every view (alerts, the pledge list, ``report ageing``, ``report alerts``, the workbook)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ledger.alerts import CashNeedAlert, OverdueAlert, alerts_for
from tests.builders import activity, disburse, donor, pledge, receipt

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
