"""Per-allocation sums of the journal lines as of a date: what donor statements, pledge
ageing and the audit workbook read (docs/architecture.md: every amount is a sum of journal
lines by account and flow, named in ledger.figures). One SQL aggregate; the per-allocation
roundings happen here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import figures, recorded
from ledger.rates import RateBook, StaleRate
from ledger.schema import Allocation, JournalEntry, Pledge


@dataclass(frozen=True)
class AllocationSums:
    """One allocation's figures from the lines dated on or before the as-of date."""

    allocation_id: int
    pledge_id: int
    donor_id: int
    paragraph_id: int | None
    currency: str
    psc_rate_bp: int
    pledged_cents: int  # figures.PLEDGED_USD (net of cancellations, reallocations and refunds)
    cancelled_cents: int  # figures.CANCELLED_USD
    received_cents: int  # figures.RECEIVED_USD
    disbursed_cents: int  # figures.DISBURSED_USD
    psc_cents: int  # figures.PSC_USD
    announced_cents: int  # figures.ANNOUNCED_USD (announced, not signed nor withdrawn)
    refunded_cents: int  # figures.REFUNDED_USD
    reallocated_cents: int  # figures.REALLOCATED_USD (reallocated in less reallocated away)
    pledged_minor: int  # figures.PLEDGED
    cancelled_minor: int  # figures.CANCELLED
    received_minor: int  # figures.RECEIVED
    reallocated_minor: int  # figures.REALLOCATED
    outstanding_minor: int  # figures.OUTSTANDING
    outstanding_cents: int  # outstanding at the rate in force on the as-of date, rounded here


FIGURES = (
    figures.PLEDGED_USD, figures.CANCELLED_USD, figures.RECEIVED_USD, figures.DISBURSED_USD, figures.PSC_USD,
    figures.ANNOUNCED_USD, figures.REFUNDED_USD, figures.REALLOCATED_USD,
    figures.PLEDGED, figures.CANCELLED, figures.RECEIVED, figures.REALLOCATED, figures.OUTSTANDING,
)


def allocation_sums(session: Session, as_of: dt.date, book: RateBook | None = None) -> list[AllocationSums]:
    """Every allocation with a line dated on or before ``as_of``, in allocation id order."""
    book = book or RateBook.load(session, recorded.recorded_at(session))
    result = []
    for row in figures.per_allocation(session, as_of, FIGURES, Allocation.pledge_id, Pledge.donor_id,
                                      Allocation.paragraph_id, Pledge.currency, Pledge.psc_rate_bp):
        aid, pid, did, para, currency, psc_bp, *sums = row
        *sums, outstanding = (int(v) for v in sums)
        outstanding_cents = figures.outstanding_usd(outstanding, currency, book.on(currency, as_of))
        result.append(AllocationSums(aid, pid, did, para, currency, psc_bp, *sums, outstanding, outstanding_cents))
    return result


def add_figures(total, s: AllocationSums) -> None:
    """Add one allocation's pledged, cancelled, received, refunded, outstanding (USD as of the date) and
    announced figures to ``total``: a donor's row of `report donors` or a pledge of its statement."""
    total.pledged += s.pledged_cents
    total.cancelled += s.cancelled_cents
    total.received += s.received_cents
    total.refunded += s.refunded_cents
    total.outstanding += s.outstanding_cents
    total.announced += s.announced_cents


def stale_rates_of(sums: list[AllocationSums], book: RateBook, as_of: dt.date) -> list[StaleRate]:
    """The stale rates (``RateBook.stale``) that valued the outstanding amounts of ``sums`` as of the date."""
    return book.stale({s.currency for s in sums if s.outstanding_minor}, as_of)


def reversed_as_of(session: Session, as_of: dt.date) -> dict[int, tuple[int, dt.date]]:
    """entry id -> (id, date) of the reversal that undoes it, for reversals dated on or before as_of."""
    rows = session.execute(
        select(JournalEntry.reverses_id, JournalEntry.id, JournalEntry.event_date)
        .where(JournalEntry.reverses_id.is_not(None), JournalEntry.event_date <= as_of,
               *figures.recorded(session, JournalEntry.id))
    )
    return {original: (rid, day) for original, rid, day in rows}


def corrections_as_of(session: Session, as_of: dt.date) -> tuple[dict[int, int], dict[int, int]]:
    """({correction: the reversed entry it corrects}, {reversed entry: its correction}) for the
    corrections dated on or before as_of (docs/rules.md#corrections)."""
    rows = session.execute(
        select(JournalEntry.id, JournalEntry.corrects_id)
        .where(JournalEntry.corrects_id.is_not(None), JournalEntry.event_date <= as_of)
    ).all()
    return {entry: corrected for entry, corrected in rows}, {corrected: entry for entry, corrected in rows}


def use_snapshot(session: Session) -> None:
    """Read every query of this session from one snapshot of the database.

    SQLite (WAL) already reads a whole transaction from one snapshot; PostgreSQL needs
    REPEATABLE READ, set before the first statement.
    """
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
