"""As recorded at a moment T (docs/rules.md#as-recorded-at): what the ledger held at T.

Stamps increase with the chain (ledger/unit_of_work.py ``stamp``), so the entries posted at or
before T are exactly the first N of the chain: every journal sum of ``ledger.figures`` counts the
lines of entries 1..N (``entry_limit``) and nothing else, and the chain head at T proves which.
Rates, settings and closes are the versions recorded at or before T.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .clock import utcnow
from .journal import GENESIS
from .schema import JournalEntry, stamp_columns

_ENTRY_LIMIT = "donor_ledger_entry_limit"  # session.info key: count only entries 1..N
_RECORDED_AT = "donor_ledger_recorded_at"  # session.info key: the moment T itself
_MOMENT = "donor_ledger_moment"  # session.info key: T with the chain head then


@cache
def _latest_stamps():
    return select(*(select(func.max(column)).scalar_subquery() for column in stamp_columns()))


def latest_stamp(session: Session) -> dt.datetime | None:
    """The latest stamp stored in any stamped column (``schema.stamp_columns``), or None: one
    query, as a writer asks it under the writer lock before its first stamp."""
    latest = session.execute(_latest_stamps()).one()
    return max((value for value in latest if value is not None), default=None)


@dataclass(frozen=True)
class Moment:
    """The moment a report uses and the chain head then: T, and entries 1..entries ending in head_hash."""

    recorded_at: dt.datetime
    entries: int
    head_hash: str


def moment(session: Session, asked: dt.datetime | None = None) -> Moment:
    """T = the earlier of ``asked`` (default now) and the latest committed stamp, with the chain head at T."""
    latest = latest_stamp(session)
    at = asked or utcnow()
    if latest is not None and latest < at:
        at = latest
    row = session.execute(select(JournalEntry.id, JournalEntry.hash).where(JournalEntry.posted_at <= at)
                          .order_by(JournalEntry.id.desc()).limit(1)).first()
    return Moment(at, row.id, row.hash) if row else Moment(at, 0, GENESIS)


def read_as_recorded_at(session: Session, at: Moment) -> None:
    """Make every journal sum of this session count only the entries posted at or before ``at``."""
    stored = session.execute(select(JournalEntry.id).order_by(JournalEntry.id.desc()).limit(1)).scalar() or 0
    session.info[_ENTRY_LIMIT] = at.entries if at.entries < stored else None
    session.info[_RECORDED_AT] = at.recorded_at
    session.info[_MOMENT] = at


def recorded_at(session: Session) -> dt.datetime | None:
    """The moment this session reads as recorded at (None: the latest)."""
    return session.info.get(_RECORDED_AT)


def read_moment(session: Session) -> Moment | None:
    """The moment this session reads as recorded at, with the chain head then (None: the latest)."""
    return session.info.get(_MOMENT)


def entry_limit(session: Session) -> int | None:
    """The last entry this session's sums count (None: every entry)."""
    return session.info.get(_ENTRY_LIMIT)
