"""The two moments every report states (docs/rules.md#as-recorded-at): as of a date, as recorded at a
moment T, with the closed-through date at T and the command that makes the report again."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ledger import periods, recorded
from ledger.clock import format_moment
from ledger.roles import Actor
from ledger.unit_of_work import Reader


@dataclass(frozen=True)
class Moments:
    as_of: dt.date
    at: recorded.Moment  # T and the chain head then
    closed_through: dt.date | None
    command: str


def read_at(session: Session, as_of: dt.date | None, recorded_at: dt.datetime | None, what: str) -> Moments:
    """Make ``session`` read as recorded at T (the earlier of ``recorded_at``, default now, and the
    latest stamp); the as-of date defaults to T's date when a moment is asked, else today."""
    at = recorded.moment(session, recorded_at)
    as_of = as_of or (at.recorded_at.date() if recorded_at else dt.date.today())
    recorded.read_as_recorded_at(session, at)
    reader = Reader(session, Actor("", None))
    reader.recorded_at = at.recorded_at
    closed = periods.closed_through(reader)
    command = f"donor-ledger {what} --as-of {as_of.isoformat()} --as-recorded-at {format_moment(at.recorded_at)}"
    return Moments(as_of, at, closed[0] if closed else None, command)
