"""Properties of reallocations, refunds and closing (docs/rules.md#reallocations, #refunds,
#closing-a-pledge): after any sequence of acts the chain verifies, no allocation's cash goes
below zero on any date, pledged moves from what was promised by at most a cent per
reallocation, and reversing an act right after it gives back the figures before it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from ledger import journal, services
from ledger.errors import LedgerError
from ledger.inputs import (
    CancellationIn,
    DisbursementIn,
    PledgeCloseIn,
    PledgeIn,
    ReallocationIn,
    ReceiptIn,
    RefundIn,
    ReversalIn,
)
from ledger.schema import JournalEntry, JournalLine
from tests.builders import funding_rows
from tests.test_properties import START, amount_of, db_settings, fresh, prepare

acts = st.lists(
    st.tuples(
        st.sampled_from(["receipt", "receipt", "reallocate", "refund", "cancel", "disburse", "close"]),
        st.integers(0, 60),  # days after the pledge
        st.integers(1, 3_000_000),  # minor units
        st.integers(0, 99),  # which allocation / activity
        st.booleans(),  # reverse it right after
    ),
    min_size=1, max_size=8,
)
EARMARKS = [1, 2, 3, None]


def _act(ledger, kind, on, minor, pick, reference, currency):
    amount = amount_of(minor, currency)
    if kind == "receipt":
        return services.record_receipt(ledger, ReceiptIn(reference=fresh("R"), pledge=reference, received_on=on,
                                                         amount=amount))
    if kind == "reallocate":
        source, target = EARMARKS[pick % 4], EARMARKS[(pick // 4) % 4]
        return services.reallocate(ledger, ReallocationIn(
            pledge=reference, source="unearmarked" if source is None else source,
            target="unearmarked" if target is None else target, amount=amount, reallocated_on=on, consent="yes"))
    if kind == "refund":
        named = EARMARKS[pick % 5] if pick % 5 < 4 else "split"
        where = {} if named == "split" else {"unearmarked": True} if named is None else {"paragraph": named}
        return services.refund(ledger, RefundIn(pledge=reference, amount=amount_of(minor // 4 + 1, currency),
                                                refunded_on=on, reason="unspent", **where))
    if kind == "cancel":
        return services.cancel_pledge(ledger, CancellationIn(pledge=reference, cancelled_on=on,
                                                             amount=amount_of(minor // 4 + 1, currency), reason="off"))
    if kind == "disburse":
        return services.disburse(ledger, DisbursementIn(reference=fresh("D"), activity=f"A{pick % 3 + 1}", disbursed_on=on,
                                                        amount=amount_of(minor // 10 + 1, "USD"), pledge=reference))
    return services.close_pledge(ledger, PledgeCloseIn(pledge=reference, closed_on=on))


def _figures(ledger):
    rows = funding_rows(ledger, "2030-12-31")
    return {key: (r.pledged, r.received, r.refunded, r.outstanding, r.disbursed, r.psc) for key, r in rows.items()}


def _pledge_lines(ledger, pledge_id_of):
    with ledger.reading() as session:
        return session.execute(
            select(JournalLine.allocation_id, JournalLine.account, JournalLine.flow, JournalLine.usd_cents,
                   JournalEntry.event_date)
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(JournalLine.pledge_id == pledge_id_of)).all()


@db_settings(15)
@given(currency=st.sampled_from(["USD", "EUR", "JPY"]),
       allocations=st.dictionaries(st.sampled_from(EARMARKS), st.integers(1, 5_000_000), min_size=1, max_size=3),
       start=st.integers(0, 100), steps=acts)
def test_any_sequence_of_acts_keeps_the_ledger_whole(ledger, currency, allocations, start, steps):
    prepare(ledger)
    reference = fresh("P")
    pledged_on = START + dt.timedelta(days=start)
    posted = services.record_pledge(ledger, PledgeIn(
        reference=reference, donor="D1", pledged_on=pledged_on, currency=currency,
        allocations=[{"paragraph": p, "amount": amount_of(m, currency)} for p, m in allocations.items()]))
    with ledger.reading() as session:
        pledge_id = session.execute(select(JournalLine.pledge_id).where(JournalLine.entry_id == posted.entry_id)).scalar()
    reallocations = 0
    for kind, days, minor, pick, undo in steps:
        on = pledged_on + dt.timedelta(days=days)
        before = _figures(ledger)
        try:
            done = _act(ledger, kind, on, minor, pick, reference, currency)
        except LedgerError:
            assert _figures(ledger) == before  # a refusal writes nothing
            continue
        if undo:
            services.reverse(ledger, ReversalIn(entry_id=done.entry_id, reason="undo", reversed_on=on))
            assert _figures(ledger) == before
        elif kind == "reallocate":
            reallocations += 1
    assert services.verify_chain(ledger).ok
    lines = _pledge_lines(ledger, pledge_id)
    # no allocation's cash goes below zero on any date
    cash: dict[int, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    for allocation_id, account, _flow, cents, day in lines:
        if account == journal.CASH:
            cash[allocation_id][day] += cents
    for by_day in cash.values():
        balance = 0
        for day in sorted(by_day):
            balance += by_day[day]
            assert balance >= 0
    # pledged moves from what was promised only by cancellations, refunds and a cent per reallocation
    moved = sum(cents for _a, account, flow, cents, _d in lines if account == journal.REVENUE and flow == journal.REALLOCATE)
    assert abs(moved) <= reallocations
    with ledger.reading() as session:
        promised = session.execute(select(func.sum(JournalLine.usd_cents)).where(
            JournalLine.pledge_id == pledge_id, JournalLine.account == journal.REVENUE,
            JournalLine.flow == journal.PLEDGE)).scalar()
    others = sum(cents for _a, account, flow, cents, _d in lines
                 if account == journal.REVENUE and flow in (journal.CANCEL, journal.REFUND))
    net = -sum(cents for _a, account, _f, cents, _d in lines if account == journal.REVENUE)
    assert net == -promised - others - moved
