"""Instalment schedules of pledges, the money applied to them, and the one definition of overdue
(docs/rules.md#instalments).

A pledge's schedule is a list of instalments (due date, amount in the pledge's currency) adding up
to its amount. The schedule in force is the one of the latest unreversed ``schedule`` entry of the
pledge recorded at the reader's moment (its rows in the ``instalments`` table); a pledge without
one has its ``due_on`` as a schedule of one instalment of its whole amount, or no schedule.

As of a date D, the pledge's receipts dated on or before D are applied to its instalments earliest
due date first, its cancellations (and anything else that is no longer to be received: a reversed
pledge) latest due date first; what is left of each instalment is its unpaid part, and the unpaid
parts add up to the pledge's outstanding amount. An instalment is overdue when its due date is
before D and part of it is unpaid; a pledge is overdue when one of its instalments is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, case, exists, func, select
from sqlalchemy.orm import Session, aliased

from . import closing, figures, journal, periods, recorded, stages
from .errors import LedgerError, Problem
from .events import Posted, minor_amount
from .inputs import InstalmentIn, ScheduleIn
from .money import format_amount, from_minor, largest_remainder
from .pledges import pledge_by_reference
from .rates import RateBook
from .schema import Allocation, Donor, Instalment, JournalEntry, Pledge

Schedule = list[tuple[dt.date, int]]  # (due_on, amount_minor) in due date order


# -- the schedule in force ----------------------------------------------------------------------
_SCHEDULE_REVERSAL = aliased(JournalEntry)  # made once (ledger/events.py says why)


def _latest_schedules(session: Session, pledge_ids=None):
    """(pledge id, entry id) of each pledge's schedule in force: its latest ``schedule`` entry not
    reversed, both as recorded at the session's moment."""
    reversal = _SCHEDULE_REVERSAL
    statement = (
        select(Instalment.pledge_id, func.max(Instalment.entry_id).label("entry_id"))
        .where(~exists().where(reversal.reverses_id == Instalment.entry_id, *figures.recorded(session, reversal.id)),
               *figures.recorded(session, Instalment.entry_id))
        .group_by(Instalment.pledge_id)
    )
    if pledge_ids is not None:
        statement = statement.where(Instalment.pledge_id.in_(pledge_ids))
    return statement.subquery()


def schedules(session: Session, pledge_ids=None) -> dict[int, Schedule]:
    """pledge id -> its schedule in force (``pledge_ids`` None: every pledge that has one)."""
    latest = _latest_schedules(session, pledge_ids)
    found: dict[int, Schedule] = {}
    for pledge_id, due_on, amount in session.execute(
        select(Instalment.pledge_id, Instalment.due_on, Instalment.amount_minor)
        .join(latest, and_(latest.c.entry_id == Instalment.entry_id, latest.c.pledge_id == Instalment.pledge_id))
        .order_by(Instalment.pledge_id, Instalment.position)
    ):
        found.setdefault(pledge_id, []).append((due_on, int(amount)))
    due = select(Pledge.id, Pledge.due_on, figures.promised()).join(Allocation, Allocation.pledge_id == Pledge.id).where(
        Pledge.due_on.is_not(None), *figures.recorded(session, Pledge.entry_id)).group_by(Pledge.id, Pledge.due_on)
    if pledge_ids is not None:
        due = due.where(Pledge.id.in_(pledge_ids))
    for pledge_id, due_on, amount in session.execute(due):
        found.setdefault(pledge_id, [(due_on, int(amount))])  # its due date, until a schedule is posted
    return found


def schedule_of(reader, pledge_id: int) -> Schedule:
    """The pledge's schedule in force at the reader's moment (a session, or a unit of work's)."""
    session = getattr(reader, "session", reader)
    if hasattr(reader, "flush"):
        reader.flush()
    return schedules(session, [pledge_id]).get(pledge_id, [])


# -- money applied as of a date -----------------------------------------------------------------
def unpaid_parts(schedule: Schedule, received: int, outstanding: int) -> list[int]:
    """What is unpaid of each instalment when ``received`` is applied earliest due first and the
    rest of the schedule that is no longer to be received (cancelled) latest due first: the
    instalments' share of the interval [received, received + outstanding] of the schedule."""
    parts, start = [], 0
    low, high = received, received + outstanding
    for _due, amount in schedule:
        end = start + amount
        parts.append(max(0, min(end, high) - max(start, low)))
        start = end
    return parts


def is_overdue(due_on: dt.date | None, unpaid_minor: int, as_of: dt.date) -> bool:
    """An instalment is overdue as of D when its due date is before D and part of it is unpaid."""
    return due_on is not None and due_on < as_of and unpaid_minor > 0


def days_late(due_on: dt.date, as_of: dt.date) -> int:
    return (as_of - due_on).days


def overdue_clause(session: Session, outstanding, received, as_of: dt.date) -> ColumnElement:
    """:func:`is_overdue` of some instalment, as SQL over a pledge row and its outstanding and
    received amounts as of ``as_of``: receipts fill the instalments due before D first, so one of
    them is unpaid exactly when something is outstanding and less was received than they amount to."""
    latest = _latest_schedules(session)
    scheduled = (
        select(Instalment.amount_minor).join(latest, and_(latest.c.entry_id == Instalment.entry_id,
                                                          latest.c.pledge_id == Instalment.pledge_id))
        .where(Instalment.pledge_id == Pledge.id)
    )
    has_schedule = scheduled.exists().correlate(Pledge)
    due_before = (
        select(figures.scheduled())
        .join(latest, and_(latest.c.entry_id == Instalment.entry_id, latest.c.pledge_id == Instalment.pledge_id))
        .where(Instalment.pledge_id == Pledge.id, Instalment.due_on < as_of)
        .correlate(Pledge).scalar_subquery()
    )
    promised = select(figures.promised()).where(Allocation.pledge_id == Pledge.id).correlate(Pledge).scalar_subquery()
    owed_by_now = case(
        (has_schedule, due_before),
        (and_(Pledge.due_on.is_not(None), Pledge.due_on < as_of), promised),
        else_=0,
    )
    return and_(outstanding > 0, received < owed_by_now)


@dataclass(frozen=True)
class UnpaidInstalment:
    """The unpaid part of one instalment as of a date (due_on None: a signed pledge without a
    schedule, its whole outstanding amount, never overdue)."""

    pledge_id: int
    reference: str
    donor_id: int
    donor: str  # the donor's code
    currency: str
    pledged_on: dt.date
    signed_on: dt.date  # the pledge date of a pledge recorded signed
    position: int  # 1.. in due date order (1 for a pledge without schedule)
    of: int  # how many instalments the schedule has (0: none)
    due_on: dt.date | None
    amount_minor: int  # the instalment's amount
    unpaid_minor: int
    unpaid_cents: int  # each allocation's outstanding USD at the as-of rate split pro rata (largest remainder)

    def overdue(self, as_of: dt.date) -> bool:
        return is_overdue(self.due_on, self.unpaid_minor, as_of)

    def days(self, as_of: dt.date) -> int:
        """Days from the due date (else the signing date) to the as-of date."""
        return days_late(self.due_on or self.signed_on, as_of)

    @property
    def unpaid(self) -> Decimal:
        return from_minor(self.unpaid_minor, self.currency)


def unpaid_instalments(session: Session, as_of: dt.date, book: RateBook | None = None,
                       unscheduled: bool = False) -> list[UnpaidInstalment]:
    """Every instalment with an unpaid part as of ``as_of`` (as recorded at the session's moment), by
    pledge id and due date; with ``unscheduled``, also one row per pledge without a schedule that has
    something outstanding. The USD parts of a pledge add up to its allocations' outstanding USD."""
    book = book or RateBook.load(session, recorded.recorded_at(session))
    per_pledge: dict[int, list] = {}  # pledge id -> [received, outstanding, [outstanding cents per allocation]]
    for _aid, pledge_id, currency, received, outstanding in figures.per_allocation(
        session, as_of, (figures.RECEIVED, figures.OUTSTANDING), Allocation.pledge_id, Pledge.currency
    ):
        sums = per_pledge.setdefault(pledge_id, [0, 0, []])
        sums[0] += int(received)
        sums[1] += int(outstanding)
        if outstanding:
            sums[2].append(figures.outstanding_usd(int(outstanding), currency, book.on(currency, as_of)))
    owing = [pid for pid, sums in per_pledge.items() if sums[1] > 0]
    if not owing:
        return []
    plans = schedules(session, owing)
    found = []
    for pid, reference, donor_id, code, currency, pledged_on, signed_on in session.execute(
        select(Pledge.id, Pledge.reference, Pledge.donor_id, Donor.code, Pledge.currency, Pledge.pledged_on,
               func.coalesce(stages.signed_on(session), Pledge.pledged_on))
        .join(Donor, Donor.id == Pledge.donor_id).where(Pledge.id.in_(owing)).order_by(Pledge.id)
    ):
        received, outstanding, cents = per_pledge[pid]
        plan = plans.get(pid)
        if not plan:
            if unscheduled:
                found.append(UnpaidInstalment(pid, reference, donor_id, code, currency, pledged_on, signed_on, 1, 0, None,
                                              outstanding, outstanding, sum(cents)))
            continue
        parts = unpaid_parts(plan, received, outstanding)
        usd = [0] * len(parts)
        for allocation_cents in cents:
            for i, share in enumerate(largest_remainder(allocation_cents, parts)):
                usd[i] += share
        for i, ((due_on, amount), part) in enumerate(zip(plan, parts, strict=True)):
            if part:
                found.append(UnpaidInstalment(pid, reference, donor_id, code, currency, pledged_on, signed_on, i + 1, len(plan),
                                              due_on, amount, part, usd[i]))
    return found


# -- re-planning a schedule ---------------------------------------------------------------------
def _promised(uow, pledge_id: int) -> int:
    return int(uow.rows(select(figures.promised()).where(Allocation.pledge_id == pledge_id)).scalar())


def check_schedule(pledge, promised: int, data: ScheduleIn) -> Schedule:
    """The schedule asked for, in due date order and minor units; refused unless it adds up to the
    pledge's amount with distinct due dates, none before the pledge date."""
    currency = pledge.currency
    plan: Schedule = []
    for i, item in enumerate(data.instalments, start=1):
        minor = minor_amount(item.amount, currency, f"instalment {i}")
        if item.due_on < pledge.pledged_on:
            raise LedgerError(Problem(f"instalment {i}", f"due {item.due_on} is before the pledge date of "
                                                         f"{pledge.reference} ({pledge.pledged_on})"))
        plan.append((item.due_on, minor))
    dates = [due for due, _ in plan]
    repeated = sorted({d for d in dates if dates.count(d) > 1})
    if repeated:
        raise LedgerError(Problem("instalment", "two instalments are due on " + ", ".join(map(str, repeated))
                                  + "; give each due date once"))
    total = sum(amount for _, amount in plan)
    if total != promised:
        raise LedgerError(Problem(
            "instalment", f"the instalments add up to {currency} {format_amount(total, currency)}, not to the "
                          f"{currency} {format_amount(promised, currency)} of pledge {pledge.reference}"))
    return sorted(plan)


def _signed_and_open(uow, pledge, on: dt.date) -> None:
    """The pledge is signed (ledger/stages.py) and not closed (ledger/closing.py)."""
    stages.check_signed(uow, pledge.id, on)
    closing.check_not_closed(uow, pledge.id, pledge.reference)


def record_schedule(uow, data: ScheduleIn, corrects: int | None = None) -> Posted | None:
    """Re-plan a pledge's schedule with the donor: a ``schedule`` entry (no money lines) dated the
    day it is recorded, in an open period, with one row per instalment. The same schedule as the one
    in force is skipped (None), unless it corrects the reversed entry ``corrects`` (ledger/corrections.py)."""
    pledge = pledge_by_reference(uow, data.pledge)
    periods.check_open(uow, "instalment", uow.today, "schedules")
    _signed_and_open(uow, pledge, uow.today)
    plan = check_schedule(pledge, _promised(uow, pledge.id), data)
    if corrects is None and plan == schedule_of(uow, pledge.id) and _has_schedule_entry(uow, pledge.id):
        return None
    described = ", ".join(f"{due} {format_amount(amount, pledge.currency)}" for due, amount in plan)
    entry_id = uow.post(journal.EntryDraft(journal.SCHEDULE, uow.today, pledge.reference,
                                           f"schedule {pledge.currency} {described}: {data.reason}", corrects_id=corrects))
    for position, (due_on, amount) in enumerate(plan, start=1):
        uow.add(Instalment, {"id": uow.next_id(Instalment), "entry_id": entry_id, "pledge_id": pledge.id,
                             "position": position, "due_on": due_on, "amount_minor": amount})
    return Posted(entry_id, pledge.reference, 0, f"{len(plan)} instalment(s)")


def _has_schedule_entry(uow, pledge_id: int) -> bool:
    """A schedule entry is in force (else the schedule is the pledge's due date: posting the same
    instalment again records it as re-planned with the donor)."""
    uow.flush()
    return bool(uow.session.execute(select(_latest_schedules(uow.session, [pledge_id]).c.entry_id)).first())


# -- a pledge's schedule as its detail shows it -------------------------------------------------
@dataclass(frozen=True)
class InstalmentLine:
    position: int
    due_on: dt.date
    amount: Decimal
    paid: Decimal  # applied to it (receipts earliest due first, cancellations latest due first)
    unpaid: Decimal
    overdue: bool
    days_late: int | None  # from its due date, when overdue


@dataclass(frozen=True)
class ScheduleVersion:
    entry_id: int
    posted_at: dt.datetime
    user: str
    memo: str
    reversed_by: int | None


def schedule_lines(session: Session, pledge_id: int, currency: str, as_of: dt.date) -> list[InstalmentLine]:
    """The pledge's schedule in force with what is paid and unpaid of each instalment as of ``as_of``."""
    plan = schedules(session, [pledge_id]).get(pledge_id, [])
    received = outstanding = 0
    for _aid, pid, got, owed in figures.per_allocation(session, as_of, (figures.RECEIVED, figures.OUTSTANDING),
                                                      Allocation.pledge_id):
        if pid == pledge_id:
            received, outstanding = received + int(got), outstanding + int(owed)
    lines = []
    for i, ((due_on, amount), unpaid) in enumerate(zip(plan, unpaid_parts(plan, received, outstanding), strict=True)):
        late = is_overdue(due_on, unpaid, as_of)
        lines.append(InstalmentLine(i + 1, due_on, from_minor(amount, currency), from_minor(amount - unpaid, currency),
                                    from_minor(unpaid, currency), late, days_late(due_on, as_of) if late else None))
    return lines


def schedule_history(session: Session, pledge_id: int) -> list[ScheduleVersion]:
    """Every schedule entry of the pledge, oldest first, with the reversal that undid it."""
    reversal = aliased(JournalEntry)
    rows = session.execute(
        select(JournalEntry.id, JournalEntry.posted_at, JournalEntry.user_name, JournalEntry.memo, reversal.id)
        .outerjoin(reversal, reversal.reverses_id == JournalEntry.id)
        .where(JournalEntry.id.in_(select(Instalment.entry_id).where(Instalment.pledge_id == pledge_id)),
               *figures.recorded(session, JournalEntry.id))
        .order_by(JournalEntry.id)
    )
    return [ScheduleVersion(*row) for row in rows]


def stored_schedule(uow, entry_id: int) -> ScheduleIn:
    """The schedule posted by entry ``entry_id`` as the input that made it (a correction's content):
    its instalments, and the reason its memo ends with ("schedule USD 2012-01-31 100,000.00, ...: REASON")."""
    rows = uow.rows(select(Instalment.due_on, Instalment.amount_minor, Pledge.reference, Pledge.currency, JournalEntry.memo)
                    .join(Pledge, Pledge.id == Instalment.pledge_id).join(JournalEntry, JournalEntry.id == Instalment.entry_id)
                    .where(Instalment.entry_id == entry_id).order_by(Instalment.position)).all()
    reference, currency, memo = rows[0][2:]
    return ScheduleIn(pledge=reference, reason=memo.partition(": ")[2],
                      instalments=[InstalmentIn(due_on=due_on, amount=from_minor(amount, currency))
                                   for due_on, amount, *_ in rows])
