"""What every money event shares: what it posted (``Posted``), the check of its date, its
amount in minor units, and whether its reference is taken (one query per import batch)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from .errors import LedgerError, Problem
from .money import MoneyError, to_minor
from .periods import check_open


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


def reference_taken(uow, kind: str, column, reference: str) -> bool:
    free = free_references(uow, kind)
    if reference in free:
        free.discard(reference)  # it is about to be used, or the caller refuses
        return False
    return uow.rows(select(column).where(column == reference)).first() is not None


def note_free_references(uow, kind: str, column, references) -> set[str]:
    """One query for a batch: which of ``references`` are taken; the others are noted as free."""
    references = set(references)
    taken = set(uow.rows(select(column).where(column.in_(references))).scalars()) if references else set()
    free_references(uow, kind).update(references - taken)
    return taken


def minor_amount(value, currency: str, field: str = "amount") -> int:
    try:
        return to_minor(value, currency)
    except MoneyError as exc:
        raise LedgerError(Problem(field, str(exc))) from None
