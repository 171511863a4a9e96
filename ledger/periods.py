"""Closed periods (docs/rules.md#closed-periods): a period is closed through the last day of a month
by a journal entry without money lines, and reopened, back to the previous close, by another. The
chain proves when each period was closed and by whom; nothing dated in a closed period is posted.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, select

from . import journal
from .errors import LedgerError, Problem
from .schema import PERIOD_ENTRIES, JournalEntry

CLOSE, REOPEN = journal.PERIOD_CLOSE, journal.PERIOD_REOPEN


# built once, and as recorded at T (docs/architecture.md "Statements built once"): never extended
# at run time, where another thread could be computing the cache key of the statement extended
_CLOSES = select(JournalEntry.kind, JournalEntry.reference, JournalEntry.user_name).where(PERIOD_ENTRIES).order_by(JournalEntry.id)
_CLOSES_AT = _CLOSES.where(JournalEntry.posted_at <= bindparam("recorded_at"))


def _closes(reader) -> list[tuple[dt.date, str]]:
    """The closes in force, oldest first: (close date, who closed), as recorded at the reader's moment."""
    cached = reader.lookups.closes
    if cached is not None:
        return cached
    recorded_at = getattr(reader, "recorded_at", None)
    rows = reader.rows(_CLOSES) if recorded_at is None else reader.rows(_CLOSES_AT, {"recorded_at": recorded_at})
    closes: list[tuple[dt.date, str]] = []
    for kind, reference, user in rows:
        if kind == CLOSE:
            closes.append((close_date_of(reference), user))
        elif closes:
            closes.pop()
    reader.lookups.closes = closes
    return closes


def close_date_of(reference: str) -> dt.date:
    """The close date a close or reopen entry's reference names ("closed-through-2026-11-30")."""
    return dt.date.fromisoformat(reference.removeprefix("closed-through-"))


def reference_of(day: dt.date) -> str:
    return f"closed-through-{day.isoformat()}"


def closed_through(reader) -> tuple[dt.date, str] | None:
    """(the last day of the closed periods, who closed them), or None when no period is closed."""
    closes = _closes(reader)
    return closes[-1] if closes else None


def check_open(reader, field: str, day: dt.date, what: str = "money events") -> None:
    """Refuse ``day`` when it lies in a closed period, naming the close date and who closed it."""
    closed = closed_through(reader)
    if closed is not None and day <= closed[0]:
        through, user = closed
        raise LedgerError(Problem(
            field, f"{day.isoformat()} is in a closed period: the ledger is closed through {through.isoformat()} "
                   f"(closed by {user}); {what} dated on or before it are not recorded",
        ))


def month_end(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).day == 1


def close_period(uow, through: dt.date, reason: str) -> int:
    """Close every period through ``through`` (a month end after the previous close, not after today)."""
    reason = reason.strip()
    if not reason:
        raise LedgerError(Problem("reason", "say why the period is closed"))
    if not month_end(through):
        raise LedgerError(Problem("through", f"{through.isoformat()} is not the last day of a month"))
    if through > uow.today:
        raise LedgerError(Problem("through", f"{through.isoformat()} is after today ({uow.today.isoformat()})"))
    previous = closed_through(uow)
    if previous is not None and through <= previous[0]:
        raise LedgerError(Problem("through", f"{through.isoformat()} is not after the previous close "
                                             f"({previous[0].isoformat()}, closed by {previous[1]})"))
    entry_id = uow.post(journal.EntryDraft(CLOSE, uow.today, reference_of(through), f"closed through {through}: {reason}"))
    uow.lookups.closes = None
    return entry_id


def reopen_period(uow, reason: str) -> tuple[int, tuple[dt.date, str] | None]:
    """Undo the latest close: the ledger is closed through the previous one again (returned)."""
    reason = reason.strip()
    if not reason:
        raise LedgerError(Problem("reason", "say why the period is reopened"))
    latest = closed_through(uow)
    if latest is None:
        raise LedgerError(Problem("", "no period is closed"))
    entry_id = uow.post(journal.EntryDraft(REOPEN, uow.today, reference_of(latest[0]),
                                           f"reopened after the close through {latest[0]}: {reason}"))
    uow.lookups.closes = None
    return entry_id, closed_through(uow)
