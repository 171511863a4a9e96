"""Reversals: a new entry that mirrors a posted one exactly. Nothing posted is changed."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from . import journal
from .balances import available_cash, cash_movements
from .errors import LedgerError, NotFound, Problem
from .inputs import ReversalIn
from .money import format_amount
from .pledges import Posted, check_date
from .schema import JournalEntry, JournalLine

REVERSIBLE = ("pledge", "cancellation", "receipt", "disbursement")
LINE_FIELDS = tuple(c for c in journal.LINE_COLUMNS if c != "line_no")


def _unreversed_entries_touching(uow, allocation_ids: set[int], exclude: int) -> list[tuple[int, str]]:
    reversed_ids = select(JournalEntry.reverses_id).where(JournalEntry.reverses_id.is_not(None))
    rows = uow.rows(
        select(JournalEntry.id, JournalEntry.kind).distinct()
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .where(
            JournalLine.allocation_id.in_(allocation_ids),
            JournalEntry.id != exclude,
            JournalEntry.kind != "reversal",
            JournalEntry.id.not_in(reversed_ids),
        )
        .order_by(JournalEntry.id)
    )
    return rows.all()


def reverse(uow, data: ReversalIn) -> Posted:
    entry = uow.rows(select(JournalEntry).where(JournalEntry.id == data.entry_id)).scalar_one_or_none()
    if entry is None:
        raise NotFound(Problem("entry", f"no journal entry {data.entry_id}"))
    if entry.kind == "reversal":
        raise LedgerError(Problem("entry", f"entry {entry.id} is itself a reversal and cannot be reversed"))
    if entry.kind not in REVERSIBLE:
        raise LedgerError(Problem("entry", f"entry {entry.id} ({entry.kind}) cannot be reversed"))
    by = uow.rows(select(JournalEntry.id).where(JournalEntry.reverses_id == entry.id)).scalar()
    if by is not None:
        raise LedgerError(Problem("entry", f"entry {entry.id} was already reversed by entry {by}"))
    on = data.reversed_on or uow.today
    check_date(uow, "reversed_on", on, entry.event_date, f"the date of entry {entry.id}")
    lines = [
        journal.Line(**{k: getattr(line, k) for k in LINE_FIELDS}).negated()
        for line in uow.rows(select(JournalLine).where(JournalLine.entry_id == entry.id).order_by(JournalLine.line_no)).scalars()
    ]
    allocations = {line.allocation_id for line in lines if line.allocation_id is not None}
    if entry.kind == "pledge":
        blocking = _unreversed_entries_touching(uow, allocations, entry.id)
        if blocking:
            listed = ", ".join(f"{kind} entry {eid}" for eid, kind in blocking[:5])
            raise LedgerError(Problem("entry", f"pledge {entry.reference} still has {listed}: reverse those first"))
    cash_change: dict[int, int] = defaultdict(int)
    for line in lines:
        if line.account == journal.CASH:
            cash_change[line.allocation_id] += line.usd_cents
    for allocation_id, change in sorted(cash_change.items()):
        if change < 0:
            available = available_cash(cash_movements(uow, allocation_id), on)
            if available + change < 0:
                raise LedgerError(Problem(
                    "entry",
                    f"reversing entry {entry.id} ({entry.kind} {entry.reference}) on {on} would leave allocation "
                    f"{allocation_id} with a negative cash balance (USD {format_amount(available + change, 'USD')}): "
                    f"only USD {format_amount(available, 'USD')} of it is unspent from that date on; reverse the spending first",
                ))
    entry_id = uow.post(journal.EntryDraft(
        "reversal", on, entry.reference, f"reverses entry {entry.id} ({entry.kind}): {data.reason}", lines,
        reverses_id=entry.id,
    ))
    usd = sum(line.usd_cents for line in lines if line.usd_cents > 0)
    return Posted(entry_id, entry.reference, usd)
