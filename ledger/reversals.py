"""Reversals: a new entry that mirrors a posted one exactly. Nothing posted is changed."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from . import figures, journal, stages
from .balances import allocation_balances, available_cash, cash_movements
from .closing import check_not_closed, note_reopened
from .errors import LedgerError, NotFound, Problem
from .events import Posted, check_date
from .inputs import ReversalIn, paragraph_label
from .money import format_amount
from .schema import Allocation, Instalment, JournalEntry, JournalLine, Paragraph, Pledge, PledgeClosing

REVERSIBLE = ("pledge", "cancellation", "receipt", "disbursement", stages.SIGNING, stages.WITHDRAWAL, "reallocation",
              "refund", journal.PLEDGE_CLOSE, journal.SCHEDULE)
OF_PLEDGE = ("cancellation", "reallocation", "refund", journal.PLEDGE_CLOSE)  # entries under their pledge's reference
LINE_FIELDS = tuple(c for c in journal.LINE_COLUMNS if c != "line_no")


def described(kind: str, reference: str, entry_id: int) -> str:
    """An entry as a user finds it: "receipt R1 (entry 3)"; a cancellation has its pledge's reference."""
    return f"{kind} {'of ' if kind in OF_PLEDGE else ''}{reference} (entry {entry_id})"


def _unreversed():
    return JournalEntry.id.not_in(select(JournalEntry.reverses_id).where(JournalEntry.reverses_id.is_not(None)))


def _unreversed_entries_touching(uow, allocation_ids: set[int], exclude: int,
                                 kinds_left_out: tuple[str, ...] = ()) -> list[tuple[int, str, str]]:
    rows = uow.rows(
        select(JournalEntry.id, JournalEntry.kind, JournalEntry.reference).distinct()
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .where(
            JournalLine.allocation_id.in_(allocation_ids),
            JournalEntry.id != exclude,
            JournalEntry.kind.not_in(("reversal", *kinds_left_out)),
            _unreversed(),
        )
        .order_by(JournalEntry.id)
    )
    return rows.all()


def _allocation_named(uow, allocation_id: int) -> str:
    """"the ¶4 allocation of pledge P1" / "the unearmarked allocation of pledge P1"."""
    reference, number = uow.rows(
        select(Pledge.reference, Paragraph.number).select_from(Allocation)
        .join(Pledge, Pledge.id == Allocation.pledge_id)
        .outerjoin(Paragraph, Paragraph.id == Allocation.paragraph_id)
        .where(Allocation.id == allocation_id)
    ).one()
    return f"the {paragraph_label(number)} allocation of pledge {reference}"


def _spending_to_reverse_first(uow, allocation_id: int, shortfall: int) -> list[str]:
    """The latest unreversed disbursements paid by the allocation whose cash covers ``shortfall``."""
    rows = uow.rows(
        select(JournalEntry.id, JournalEntry.reference, figures.CASH_USD.alone())
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .where(JournalLine.allocation_id == allocation_id, figures.CASH_USD.condition(),
               JournalEntry.kind == "disbursement", _unreversed())
        .group_by(JournalEntry.id, JournalEntry.reference, JournalEntry.event_date)
        .order_by(JournalEntry.event_date.desc(), JournalEntry.id.desc())
    )
    named, covered = [], 0
    for entry_id, reference, cents in rows:
        named.append(described("disbursement", reference, entry_id))
        covered -= int(cents)
        if covered >= shortfall:
            break
    return named


def events_left_on_pledge(uow, entry_id: int, kinds_left_out: tuple[str, ...] = ()) -> list[str]:
    """The unreversed events posted against the pledge of entry ``entry_id`` (other than those of
    ``kinds_left_out``), as a user names them ("receipt R1 (entry 3)", "schedule P1 (entry 12)"): a
    pledge is reversed or corrected, and a signing reversed, only when there are none. Events with
    lines are found by the allocations they touch (a signing, a withdrawal, a reallocation, a
    refund, funding splits...); schedules and closings, which have none, by their rows."""
    allocations = set(uow.rows(select(JournalLine.allocation_id).where(
        JournalLine.entry_id == entry_id, JournalLine.allocation_id.is_not(None))).scalars())
    found = set(map(tuple, _unreversed_entries_touching(uow, allocations, entry_id, kinds_left_out)))
    pledges = select(JournalLine.pledge_id).where(JournalLine.entry_id == entry_id)
    without_lines = select(Instalment.entry_id).where(Instalment.pledge_id.in_(pledges)).union(
        select(PledgeClosing.entry_id).where(PledgeClosing.pledge_id.in_(pledges)))
    found |= set(uow.rows(
        select(JournalEntry.id, JournalEntry.kind, JournalEntry.reference)
        .where(JournalEntry.id.in_(without_lines), JournalEntry.kind.not_in(kinds_left_out), _unreversed())).all())
    return [described(kind, reference, eid) for eid, kind, reference in sorted(found)]


def cash_refusal(uow, allocation_id: int, change: int, on, doing: str) -> LedgerError | None:
    """Why lowering the allocation's cash by ``-change`` from ``on`` on is refused (the cash it
    holds on some later date would go negative), or None; ``change`` 0: the cash as posted."""
    available = available_cash(cash_movements(uow, allocation_id), on)
    if available + change >= 0:
        return None
    first = _spending_to_reverse_first(uow, allocation_id, -(available + change))
    unspent = f": only USD {format_amount(available, 'USD')} of it is unspent from that date on" if change else ""
    return LedgerError(Problem(
        "entry",
        f"{doing} on {on} would leave {_allocation_named(uow, allocation_id)} with a "
        f"negative cash balance (USD {format_amount(available + change, 'USD')}){unspent}; reverse "
        + (", ".join(first) if first else "the spending") + " first",
    ))


def reverse(uow, data: ReversalIn, check_balances: bool = True) -> Posted:
    """Post the reversal of ``data.entry_id``; ``check_balances`` False leaves the cash and
    outstanding checks to a correction, which checks both of its halves together."""
    entry = uow.rows(select(JournalEntry).where(JournalEntry.id == data.entry_id)).scalar_one_or_none()
    if entry is None:
        raise NotFound(Problem("entry", f"no journal entry {data.entry_id}"))
    if entry.kind == "reversal":
        raise LedgerError(Problem(
            "entry", f"entry {entry.id} is itself a reversal (of entry {entry.reverses_id}, {entry.reference}) "
            "and cannot be reversed"))
    named = described(entry.kind, entry.reference, entry.id)
    if entry.kind not in REVERSIBLE:
        raise LedgerError(Problem("entry", f"{named} cannot be reversed"))
    by = uow.rows(select(JournalEntry.id).where(JournalEntry.reverses_id == entry.id)).scalar()
    if by is not None:
        raise LedgerError(Problem("entry", f"{named} was already reversed by entry {by}"))
    on = data.reversed_on or uow.today
    check_date(uow, "reversed_on", on, entry.event_date, f"the date of {named}")
    lines = [
        journal.Line(**{k: getattr(line, k) for k in LINE_FIELDS}).negated()
        for line in uow.rows(select(JournalLine).where(JournalLine.entry_id == entry.id).order_by(JournalLine.line_no)).scalars()
    ]
    if entry.kind == journal.PLEDGE_CLOSE:
        closed = uow.rows(select(PledgeClosing.pledge_id).where(PledgeClosing.entry_id == entry.id)).scalar_one()
    else:
        for pledge_id in sorted({line.pledge_id for line in lines if line.pledge_id is not None}):
            check_not_closed(uow, pledge_id, _pledge_reference(uow, pledge_id), "entry")
    if entry.kind in ("pledge", stages.SIGNING):
        # a signing is reversed only while nothing else is posted on its pledge (the pledge entry aside)
        signing = entry.kind == stages.SIGNING
        blocking = events_left_on_pledge(uow, entry.id, ("pledge",) if signing else ())
        if blocking:
            more = f" and {len(blocking) - 5} more" if len(blocking) > 5 else ""
            whose = f"the signing of pledge {entry.reference}" if signing else f"pledge {entry.reference}"
            raise LedgerError(Problem("entry", f"{whose} still has {', '.join(blocking[:5])}{more}: "
                                      "reverse those first"))
    if check_balances:
        _check_outstanding(uow, lines, on, named)
    if entry.kind in (stages.SIGNING, stages.WITHDRAWAL):  # the pledge's stage and rate change
        uow.lookups.stages.clear()
        uow.lookups.pledges.clear()
    cash_change: dict[int, int] = defaultdict(int)
    for line in lines:
        if line.account == journal.CASH:
            cash_change[line.allocation_id] += line.usd_cents
    for allocation_id, change in sorted(cash_change.items()) if check_balances else ():
        if change < 0 and (refusal := cash_refusal(uow, allocation_id, change, on, f"reversing {named}")):
            raise refusal
    entry_id = uow.post(journal.EntryDraft(
        "reversal", on, entry.reference, f"reverses entry {entry.id} ({entry.kind}): {data.reason}", lines,
        reverses_id=entry.id, reverses_kind=entry.kind,
    ))
    if entry.kind == journal.PLEDGE_CLOSE:
        note_reopened(uow, closed)
    usd = sum(line.usd_cents for line in lines if line.usd_cents > 0)
    return Posted(entry_id, entry.reference, usd)


def _pledge_reference(uow, pledge_id: int) -> str:
    return uow.rows(select(Pledge.reference).where(Pledge.id == pledge_id)).scalar_one()


def _check_outstanding(uow, lines: list[journal.Line], on, described: str) -> None:
    """A reversal may not leave any allocation with a negative outstanding amount (reversing a
    reallocation whose money the target has received since)."""
    change: dict[int, int] = defaultdict(int)
    for line in lines:
        if line.account == journal.RECEIVABLE and line.allocation_id is not None:
            change[line.allocation_id] += line.amount_minor
    lowered = sorted(aid for aid, minor in change.items() if minor < 0)
    if not lowered:
        return
    balances = allocation_balances(uow, lowered)
    for aid in lowered:
        after = balances[aid].outstanding_minor + change[aid]
        if after < 0:
            currency = next(line.currency for line in lines if line.allocation_id == aid)
            raise LedgerError(Problem("entry", (
                f"reversing {described} on {on} would leave {_allocation_named(uow, aid)} with a negative outstanding "
                f"amount ({currency} {format_amount(after, currency)}); reverse the receipts or cancellations on it "
                "first")))
