"""What every money event shares: what it posted (``Posted``), the check of its date, its
amount in minor units, and whether its reference is free (unique among unreversed events; one
query per import batch for references never used)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import aliased

from .errors import LedgerError, Problem
from .money import MoneyError, to_minor
from .periods import check_open
from .schema import JournalEntry


@dataclass(frozen=True)
class Posted:
    """What a money event posted: its journal entry and its value in USD cents."""

    entry_id: int
    reference: str
    usd_cents: int
    detail: str = ""


def check_date(uow, field: str, day, not_before=None, what: str = "") -> None:
    if day > uow.today:
        raise LedgerError(Problem(field, f"{day.isoformat()} is in the future; money events may not be dated after today ({uow.today})"))
    check_open(uow, field, day)
    if not_before is not None and day < not_before:
        raise LedgerError(Problem(field, f"{day.isoformat()} is before {what} ({not_before.isoformat()})"))


def free_references(uow, kind: str) -> set[str]:
    """References known not to be taken in this unit of work (filled by a batch look-up; a
    reference leaves the set when it is used)."""
    return uow.lookups.free_references.setdefault(kind, set())


# An alias sets up its columns when first used: a third of a millisecond for journal_entries,
# which an alias made per call paid on every statement of every act (docs/architecture.md
# "Statements built once"). Each is made once and used by one function only: an alias in a
# subquery must never be in the FROM of the statement around it, which SQLAlchemy would
# correlate with it.
_REVERSAL = aliased(JournalEntry)
_HOLDER_REVERSAL = aliased(JournalEntry)


def unreversed(entry_id):
    """The condition that the event posted by the entry ``entry_id`` (a column) is not reversed."""
    return ~exists().where(_REVERSAL.reverses_id == entry_id)


@dataclass(frozen=True)
class Holder:
    """An event that holds (or held) a reference: its entry, the reversed entry it corrects, and
    the reversal of it, if any."""

    entry_id: int
    corrects_id: int | None
    reversed_by: int | None
    reversed_on: dt.date | None


def reference_holders(uow, model, reference: str) -> list[Holder]:
    """The events of ``model`` (Pledge, Receipt, Disbursement) posted under ``reference``, oldest
    first: at most one is not reversed, and each later one is the correction of the one before."""
    return [Holder(*row) for row in uow.rows(_holders_statement(model), {"reference": reference})]


@cache
def _holders_statement(model):
    reversal = _HOLDER_REVERSAL
    return (select(model.entry_id, JournalEntry.corrects_id, reversal.id, reversal.event_date)
            .join(JournalEntry, JournalEntry.id == model.entry_id)
            .outerjoin(reversal, reversal.reverses_id == model.entry_id)
            .where(model.reference == bindparam("reference")).order_by(model.entry_id))


def claim_reference(uow, kind: str, model, reference: str, corrects: int | None = None) -> None:
    """Refuse ``reference`` unless it is free for a new ``kind`` event: unique among the events
    that are not reversed, and, once held by a reversed event, used again only by its correction
    (``corrects``: the last reversed entry that held it). docs/rules.md#corrections"""
    free = free_references(uow, model.__tablename__)
    if corrects is None and reference in free:
        free.discard(reference)  # it is about to be used, or the caller refuses
        return
    holders = reference_holders(uow, model, reference)
    if not holders:
        if corrects is None:
            return
        raise LedgerError(Problem("reference", f"{kind} reference {reference!r} was never used: there is nothing to correct"))
    last = holders[-1]
    if last.reversed_by is None:
        raise LedgerError(Problem("reference", f"{kind} reference {reference!r} is already taken"))
    if corrects is None:
        raise LedgerError(Problem(
            "reference",
            f"{kind} reference {reference!r} belongs to entry {last.entry_id}, reversed by entry {last.reversed_by}: "
            f"only its correction may use it again (donor-ledger correct {last.entry_id})"))
    if corrects != last.entry_id:
        raise LedgerError(Problem(
            "reference", f"entry {corrects} is not the last event under {kind} reference {reference!r}: "
            f"entry {last.entry_id} is; correct that one"))


def note_free_references(uow, kind: str, column, references) -> set[str]:
    """One query for a batch: which of ``references`` were ever used; the others are noted as free."""
    references = set(references)
    taken = set(uow.rows(select(column).where(column.in_(references))).scalars()) if references else set()
    free_references(uow, kind).update(references - taken)
    return taken


def minor_amount(value, currency: str, field: str = "amount") -> int:
    try:
        return to_minor(value, currency)
    except MoneyError as exc:
        raise LedgerError(Problem(field, str(exc))) from None
