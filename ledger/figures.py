"""Every figure of the ledger, defined once (docs/architecture.md, "Every figure and where it is
defined"). Screens, lists, details, reports, the workbook, IATI and the alerts call these.

Two kinds of definition:
- journal sums (:class:`LineSum`): a figure is the sum of one column of the journal lines of one
  account (and flow), with a sign. Each is written here once and rendered as SQL either inside
  an aggregate of several figures (:meth:`LineSum.among`) or alone with its condition in the
  WHERE clause (:meth:`LineSum.alone`, for correlated sums that use the line indexes);
- finishing rules on those sums, in integers (cents or minor units): programmable, outstanding
  at the as-of rate, available, exchange difference, overdue, days late, cash need.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from . import journal
from .money import round_half_up_div, to_usd_cents
from .recorded import entry_limit
from .schema import Allocation, Instalment, JournalEntry, JournalLine, Pledge


# -- journal sums ------------------------------------------------------------------------------
@dataclass(frozen=True)
class LineSum:
    """sign * sum(column) over the journal lines on ``account`` (of ``flow``, if given)."""

    name: str
    account: str
    flow: str | None
    column: str  # "usd_cents" or "amount_minor"
    sign: int = 1

    def condition(self):
        on = JournalLine.account == self.account
        return on if self.flow is None else and_(on, JournalLine.flow == self.flow)

    def value(self):
        column = getattr(JournalLine, self.column)
        return column if self.sign == 1 else -column

    def among(self):
        """The figure as one column of an aggregate that reads several accounts."""
        return func.coalesce(func.sum(case((self.condition(), self.value()), else_=0)), 0).label(self.name)

    def alone(self):
        """The figure as a sum whose lines the caller selects with ``condition()`` in WHERE."""
        return func.coalesce(func.sum(self.value()), 0)


PLEDGED_USD = LineSum("pledged_usd", journal.REVENUE, None, "usd_cents", -1)  # net of cancellations, reallocations, refunds
CANCELLED_USD = LineSum("cancelled_usd", journal.REVENUE, journal.CANCEL, "usd_cents")
RECEIVED_USD = LineSum("received_usd", journal.CASH, journal.RECEIPT, "usd_cents")
DISBURSED_USD = LineSum("disbursed_usd", journal.EXPENDITURE, None, "usd_cents")  # spent on activities
DISBURSED = LineSum("disbursed", journal.EXPENDITURE, None, "amount_minor")  # in the disbursement's currency
CASH_USD = LineSum("cash_usd", journal.CASH, None, "usd_cents")  # cash held: received less spent and PSC
PSC_USD = LineSum("psc_usd", journal.PSC, None, "usd_cents")
REFUNDED_USD = LineSum("refunded_usd", journal.CASH, journal.REFUND, "usd_cents", -1)  # paid back to the donor
REALLOCATED_USD = LineSum("reallocated_usd", journal.REVENUE, journal.REALLOCATE, "usd_cents", -1)  # in (+) less away (-)
REALLOCATED = LineSum("reallocated", journal.RECEIVABLE, journal.REALLOCATE, "amount_minor")  # pledge currency, in less away
CARRYING_USD = LineSum("carrying_usd", journal.RECEIVABLE, None, "usd_cents")  # outstanding at the pledge-date rate
PLEDGED = LineSum("pledged", journal.RECEIVABLE, journal.PLEDGE, "amount_minor")  # pledge currency
CANCELLED = LineSum("cancelled", journal.RECEIVABLE, journal.CANCEL, "amount_minor", -1)
RECEIVED = LineSum("received", journal.RECEIVABLE, journal.RECEIPT, "amount_minor", -1)
OUTSTANDING = LineSum("outstanding", journal.RECEIVABLE, None, "amount_minor")  # amount - received - cancelled +- reallocated
# announced, not yet signed nor withdrawn: the memorandum lines, at the announcement's rate per allocation
ANNOUNCED_USD = LineSum("announced_usd", journal.MEMO_ANNOUNCED, None, "usd_cents")
ANNOUNCED = LineSum("announced", journal.MEMO_ANNOUNCED, None, "amount_minor")  # pledge currency


def promised() -> ColumnElement:
    """What pledges promised in their currency: the sum of their allocations' amounts (as
    recorded, before any cancellation), for a GROUP BY or a correlated subquery over Allocation."""
    return func.coalesce(func.sum(Allocation.amount_minor), 0)


def scheduled() -> ColumnElement:
    """What instalments amount to in their pledge's currency (a schedule adds up to what its pledge
    promised), for a GROUP BY or a correlated subquery over Instalment."""
    return func.coalesce(func.sum(Instalment.amount_minor), 0)


def promised_usd() -> ColumnElement:
    """The USD of what pledges promised: the sum of their allocations' pledged cents."""
    return func.coalesce(func.sum(Allocation.pledged_cents), 0)


# what an entry moves: the sum of its debits (positive lines), in USD cents
DEBITS_USD = func.coalesce(func.sum(case((JournalLine.usd_cents > 0, JournalLine.usd_cents), else_=0)), 0)


def accounts(figures: Iterable[LineSum]) -> tuple[str, ...]:
    """The accounts the figures read (a WHERE that lets SQL skip the other lines)."""
    return tuple(sorted({f.account for f in figures}))


def latest_event_date(session: Session) -> dt.date | None:
    return session.execute(select(func.max(JournalEntry.event_date))).scalar()


def dated_after(session: Session, as_of: dt.date) -> bool:
    """True when some entry is dated after ``as_of``: sums as of that date must then look up
    each line's entry date; otherwise they read the journal lines alone (the covering index
    ix_journal_lines_allocation), which is what a report as of today does."""
    latest = latest_event_date(session)
    return latest is not None and latest > as_of


def recorded(session: Session, entry_id) -> list:
    """The condition that keeps, of the entries named by ``entry_id``, those a reader as recorded at
    a moment counts (ledger/recorded.py): none, or ``entry_id <= N``."""
    limit = entry_limit(session)
    return [] if limit is None else [entry_id <= limit]


def per_allocation(session: Session, as_of: dt.date, figures: Sequence[LineSum], *columns):
    """One row per allocation with a line dated on or before ``as_of`` (and recorded at the
    session's moment): the allocation id, then ``columns`` (of Allocation and Pledge), then the
    figures in order, by allocation id."""
    line = JournalLine
    sums = [f.among() for f in figures]
    if dated_after(session, as_of):  # the entries of those dates (date index), then their lines
        return session.execute(
            select(line.allocation_id, *columns, *sums)
            .join(JournalEntry, JournalEntry.id == line.entry_id)
            .join(Allocation, Allocation.id == line.allocation_id)
            .join(Pledge, Pledge.id == Allocation.pledge_id)
            .where(JournalEntry.event_date <= as_of, *recorded(session, line.entry_id))
            .group_by(line.allocation_id, *columns)
            .order_by(line.allocation_id)
        )
    # every line counts: sum them per allocation from the allocation index, then join the few allocations
    summed = (
        select(line.allocation_id.label("allocation_id"), *sums)
        .where(line.allocation_id.is_not(None), *recorded(session, line.entry_id))
        .group_by(line.allocation_id)
        .subquery()
    )
    return session.execute(
        select(summed.c.allocation_id, *columns, *(summed.c[f.name] for f in figures))
        .join(Allocation, Allocation.id == summed.c.allocation_id)
        .join(Pledge, Pledge.id == Allocation.pledge_id)
        .order_by(summed.c.allocation_id)
    )


def spent_per_activity(session: Session, as_of: dt.date | None = None, activity_ids=None) -> dict[int, int]:
    """activity id -> cents spent on it (disbursed, lines dated on or before ``as_of``; None: all;
    recorded at the session's moment), of every activity or of ``activity_ids`` (through the
    activity index: a disbursement's budget check reads its own activity's lines only)."""
    if as_of is not None and dated_after(session, as_of):  # the entries of those dates, then their lines
        statement = (
            select(JournalLine.activity_id, DISBURSED_USD.alone())
            .select_from(JournalEntry)
            .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
            .where(JournalEntry.event_date <= as_of, DISBURSED_USD.condition(), *recorded(session, JournalLine.entry_id))
        )
    else:  # the activity index alone
        statement = select(JournalLine.activity_id, DISBURSED_USD.alone()).where(
            DISBURSED_USD.condition(), JournalLine.activity_id.is_not(None), *recorded(session, JournalLine.entry_id))
    if activity_ids is not None:
        statement = statement.where(JournalLine.activity_id.in_(activity_ids))
    rows = session.execute(statement.group_by(JournalLine.activity_id))
    return {aid: int(total) for aid, total in rows if aid is not None}


# -- finishing rules (integers) -----------------------------------------------------------------
def programmable_of(net_pledged_cents: int, psc_rate_bp: int) -> int:
    """What can be spent on activities once PSC is charged: round_half_up(net * 100 / (100 + psc))."""
    return round_half_up_div(net_pledged_cents * 10_000, 10_000 + psc_rate_bp)


def outstanding_usd(outstanding_minor: int, currency: str, units_per_usd_micros: int) -> int:
    """An allocation's outstanding valued at the rate in force on the as-of date, rounded to the
    cent per allocation (then summed by the caller)."""
    return to_usd_cents(outstanding_minor, currency, units_per_usd_micros) if outstanding_minor else 0


def available(received_cents, refunded_cents, disbursed_cents, psc_cents):
    """Cash an allocation (or a row of them) still holds: received - refunded - disbursed - psc."""
    return received_cents - refunded_cents - disbursed_cents - psc_cents


def fx_difference(received_cents: int, refunded_cents: int, outstanding_cents: int, pledged_cents: int) -> int:
    """Exchange gain (+) or loss (-): received - refunded + outstanding at the as-of rate - pledged
    (pledged is net of refunds)."""
    return received_cents - refunded_cents + outstanding_cents - pledged_cents


# -- cash need ----------------------------------------------------------------------------------
OPEN_STATUSES = ("planned", "ongoing")


def still_to_spend(status: str, budget_cents: int, spent_cents: int) -> int:
    """What an activity still needs: its budget less what it spent (never below zero), if it is
    planned or ongoing; a completed or cancelled activity needs nothing more."""
    return max(budget_cents - spent_cents, 0) if status in OPEN_STATUSES else 0


def needs_cash(need_cents: int, available_cents: int) -> bool:
    """A paragraph whose open activities need more than the cash it can draw on."""
    return need_cents > max(available_cents, 0)
