"""Per-allocation sums of the journal lines as of a date: what donor statements, pledge
ageing and the audit workbook read (docs/architecture.md: every amount is a sum of journal
lines by account and flow). One SQL aggregate; the per-allocation roundings happen here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ledger import journal
from ledger.money import to_usd_cents
from ledger.rates import RateBook
from ledger.schema import Allocation, JournalEntry, JournalLine, Pledge


@dataclass(frozen=True)
class AllocationSums:
    """One allocation's figures from the lines dated on or before the as-of date."""

    allocation_id: int
    pledge_id: int
    donor_id: int
    paragraph_id: int | None
    currency: str
    psc_rate_bp: int
    pledged_cents: int  # net of cancellations: -sum(usd on 4000)
    cancelled_cents: int  # sum(usd on 4000, flow cancel)
    received_cents: int  # sum(usd on 1000, flow receipt)
    disbursed_cents: int  # sum(usd on 5000)
    psc_cents: int  # sum(usd on 5100)
    pledged_minor: int  # sum(amount on 1100, flow pledge)
    cancelled_minor: int  # -sum(amount on 1100, flow cancel)
    received_minor: int  # -sum(amount on 1100, flow receipt)
    outstanding_minor: int  # sum(amount on 1100)
    outstanding_cents: int  # outstanding at the rate in force on the as-of date, rounded here


def _sum(condition, column):
    return func.coalesce(func.sum(case((condition, column), else_=0)), 0)


def allocation_sums(session: Session, as_of: dt.date, book: RateBook | None = None) -> list[AllocationSums]:
    """Every allocation with a line dated on or before ``as_of``, in allocation id order."""
    book = book or RateBook.load(session)
    line = JournalLine
    on = line.account.__eq__
    statement = (
        select(
            line.allocation_id, Allocation.pledge_id, Pledge.donor_id, Allocation.paragraph_id, Pledge.currency,
            Pledge.psc_rate_bp,
            _sum(on(journal.REVENUE), -line.usd_cents),
            _sum(on(journal.REVENUE) & (line.flow == journal.CANCEL), line.usd_cents),
            _sum(on(journal.CASH) & (line.flow == journal.RECEIPT), line.usd_cents),
            _sum(on(journal.EXPENDITURE), line.usd_cents),
            _sum(on(journal.PSC), line.usd_cents),
            _sum(on(journal.RECEIVABLE) & (line.flow == journal.PLEDGE), line.amount_minor),
            _sum(on(journal.RECEIVABLE) & (line.flow == journal.CANCEL), -line.amount_minor),
            _sum(on(journal.RECEIVABLE) & (line.flow == journal.RECEIPT), -line.amount_minor),
            _sum(on(journal.RECEIVABLE), line.amount_minor),
        )
        .join(JournalEntry, JournalEntry.id == line.entry_id)
        .join(Allocation, Allocation.id == line.allocation_id)
        .join(Pledge, Pledge.id == Allocation.pledge_id)
        .where(JournalEntry.event_date <= as_of)
        .group_by(line.allocation_id, Allocation.pledge_id, Pledge.donor_id, Allocation.paragraph_id, Pledge.currency,
                  Pledge.psc_rate_bp)
        .order_by(line.allocation_id)
    )
    result = []
    for row in session.execute(statement):
        (aid, pid, did, para, currency, psc_bp, pledged, cancelled, received, disbursed, psc,
         pledged_minor, cancelled_minor, received_minor, outstanding) = row
        outstanding = int(outstanding)
        outstanding_cents = to_usd_cents(outstanding, currency, book.on(currency, as_of)) if outstanding else 0
        result.append(AllocationSums(
            aid, pid, did, para, currency, psc_bp, int(pledged), int(cancelled), int(received), int(disbursed),
            int(psc), int(pledged_minor), int(cancelled_minor), int(received_minor), outstanding, outstanding_cents,
        ))
    return result


def reversed_as_of(session: Session, as_of: dt.date) -> dict[int, tuple[int, dt.date]]:
    """entry id -> (id, date) of the reversal that undoes it, for reversals dated on or before as_of."""
    rows = session.execute(
        select(JournalEntry.reverses_id, JournalEntry.id, JournalEntry.event_date)
        .where(JournalEntry.reverses_id.is_not(None), JournalEntry.event_date <= as_of)
    )
    return {original: (rid, day) for original, rid, day in rows}


def use_snapshot(session: Session) -> None:
    """Read every query of this session from one snapshot of the database.

    SQLite (WAL) already reads a whole transaction from one snapshot; PostgreSQL needs
    REPEATABLE READ, set before the first statement.
    """
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
