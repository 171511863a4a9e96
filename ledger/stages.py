"""The stage of a pledge: announced, signed or withdrawn (docs/rules.md#pledge-stages).

A pledge recorded *announced* (or recorded signed with a signing date after its pledge date) is
posted as an announcement: memorandum lines only. It becomes *signed* with its live (unreversed)
signing, whose rate becomes the pledge's rate, or *withdrawn* with its live withdrawal; reversing
either returns it to announced. A pledge recorded signed is signed on its pledge date.

This module reads stages (SQL columns for lists and reports, ``check_signed`` for every act on a
pledge, the signing history for IATI); the acts that change a stage are in ``ledger/signing.py``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import ColumnElement, and_, case, exists, func, select
from sqlalchemy.orm import aliased

from . import figures
from .errors import LedgerError, NotFound, Problem
from .recorded import entry_limit
from .schema import Allocation, JournalEntry, JournalLine, Pledge, Signing, Withdrawal

ANNOUNCED, SIGNED, WITHDRAWN = "announced", "signed", "withdrawn"
STAGES = (ANNOUNCED, SIGNED)  # the stages a pledge is recorded in
SIGNING, WITHDRAWAL = "signing", "withdrawal"  # their journal entry kinds


def posted_as_announcement(stage: str, pledged_on: dt.date, signed_on: dt.date | None) -> bool:
    """A pledge recorded announced, or signed after its pledge date, is posted as an announcement
    (the signing is a second entry)."""
    return stage == ANNOUNCED or (signed_on is not None and signed_on > pledged_on)


_LIVE_REVERSAL = aliased(JournalEntry)  # made once (ledger/events.py says why)


def _live(model, column, limit: int | None) -> ColumnElement:
    """``column`` of the pledge's live ``model`` row (a signing or a withdrawal; at most one is
    live): posted (at or before entry ``limit``) and not reversed (by then)."""
    reversal = _LIVE_REVERSAL
    reversed_ = exists().where(reversal.reverses_id == model.entry_id,
                               *([] if limit is None else [reversal.id <= limit]))
    return (select(func.max(column))
            .where(model.pledge_id == Pledge.id, ~reversed_, *([] if limit is None else [model.entry_id <= limit]))
            .scalar_subquery())


def _announcement() -> list:
    """The conditions (any) under which a pledge row was posted as an announcement, in SQL."""
    return [Pledge.stage == ANNOUNCED, and_(Pledge.signed_on.is_not(None), Pledge.signed_on > Pledge.pledged_on)]


def columns(session=None) -> tuple:
    """Columns over a selected ``Pledge`` (correlated): ``stage`` (announced, signed, withdrawn),
    ``signed_on`` (None while announced or withdrawn), ``withdrawn_on`` and ``rate_micros`` (the
    pledge's rate: its signing's, or for a pledge recorded signed its own) - as recorded at the
    session's moment when a session is given."""
    return _columns(None if session is None else entry_limit(session))


@lru_cache(maxsize=64)
def _columns(limit: int | None) -> tuple:
    """``columns`` as recorded up to entry ``limit``, built once per limit (docs/architecture.md
    "Statements built once")."""
    signed_on = _live(Signing, Signing.signed_on, limit)
    withdrawn_on = _live(Withdrawal, Withdrawal.withdrawn_on, limit)
    rate = _live(Signing, Signing.rate_micros, limit)
    announced = case((signed_on.is_not(None), SIGNED), (withdrawn_on.is_not(None), WITHDRAWN), else_=ANNOUNCED)
    first, second = _announcement()
    return (
        case((first, announced), (second, announced), else_=SIGNED).label("stage"),
        case((first, signed_on), (second, signed_on), else_=Pledge.pledged_on).label("signed_on"),
        case((first, withdrawn_on), (second, withdrawn_on), else_=None).label("withdrawn_on"),
        case((first, func.coalesce(rate, Pledge.rate_micros)), (second, func.coalesce(rate, Pledge.rate_micros)),
             else_=Pledge.rate_micros).label("rate_micros"),
    )


def usd_of_stage(session, as_of: dt.date, allocation: bool = False) -> tuple[ColumnElement, ColumnElement]:
    """(pledged USD, units per USD in micros) of what a selected ``Pledge`` promised - or, with
    ``allocation``, a selected ``Allocation`` of it - at the rate of its stage as of ``as_of``: signed
    by then after its date, the revenue lines of its live signing entry (``figures.PLEDGED_USD`` of
    that entry, at the signing's rate); else what it recorded (``figures.promised_usd``, at its pledge
    date's rate: for a pledge announced or withdrawn then, the announced USD of its memorandum lines).
    docs/rules.md#pledge-stages"""
    limit = entry_limit(session)
    signed_on, signing_entry = _live(Signing, Signing.signed_on, limit), _live(Signing, Signing.entry_id, limit)
    owner = JournalLine.allocation_id == Allocation.id if allocation else JournalLine.pledge_id == Pledge.id
    signed_usd = (select(figures.PLEDGED_USD.alone())
                  .where(figures.PLEDGED_USD.condition(), JournalLine.entry_id == signing_entry, owner)
                  .scalar_subquery())
    recorded = Allocation.pledged_cents if allocation else (
        select(figures.promised_usd()).where(Allocation.pledge_id == Pledge.id).scalar_subquery())
    signed = signed_on <= as_of
    return (case((signed, signed_usd), else_=recorded),
            case((signed, _live(Signing, Signing.rate_micros, limit)), else_=Pledge.rate_micros))


def signed_on(session=None) -> ColumnElement:
    """The pledge's signing date (None while announced or withdrawn), over a selected ``Pledge``."""
    return columns(session)[1]


def rate_micros(session=None) -> ColumnElement:
    """The pledge's rate (its live signing's, else its own), over a selected ``Pledge``."""
    return columns(session)[3]


def as_of(stage: str, signed_on: dt.date | None, withdrawn_on: dt.date | None, day: dt.date) -> tuple[str, dt.date | None]:
    """The stage (and signing date) as of ``day`` of a pledge whose stage now is given: signed or
    withdrawn after ``day``, it was still announced then."""
    if (stage == SIGNED and signed_on > day) or (stage == WITHDRAWN and withdrawn_on > day):
        return ANNOUNCED, None
    return stage, signed_on


@dataclass(frozen=True)
class Stage:
    reference: str
    stage: str
    signed_on: dt.date | None
    withdrawn_on: dt.date | None


def note(uow, row) -> None:
    """Keep a pledge row read with ``columns()`` for ``check_signed`` in this unit of work."""
    uow.lookups.stages[row.id] = Stage(row.reference, row.stage, row.signed_on, row.withdrawn_on)


def forget(uow, pledge) -> None:
    """Drop what this unit of work read of a pledge whose stage (and rate) just changed."""
    uow.lookups.stages.pop(pledge.id, None)
    uow.lookups.pledges.pop(pledge.reference, None)


def stage_of(reader, pledge_id: int) -> Stage:
    """The pledge's stage now (as recorded at the reader's moment)."""
    found = reader.lookups.stages.get(pledge_id)
    if found is not None:
        return found
    row = reader.rows(select(Pledge.id, Pledge.reference, *columns(reader.session)).where(Pledge.id == pledge_id)).one_or_none()
    if row is None:
        raise NotFound(Problem("pledge", f"no pledge with id {pledge_id}"))
    note(reader, row)
    return reader.lookups.stages[pledge_id]


def check_signed(uow, pledge_id: int, on: dt.date, field: str = "pledge") -> None:
    """Refuse an act dated ``on`` on a pledge that is not signed then: announced (not signed yet,
    or signed after ``on``) or withdrawn. Every act on a pledge calls it (receipts,
    cancellations, funding named by a disbursement, reallocations, refunds, schedules)."""
    found = stage_of(uow, pledge_id)
    reference = found.reference
    if found.stage == WITHDRAWN:
        raise LedgerError(Problem("pledge", f"pledge {reference} was withdrawn on {found.withdrawn_on}: "
                                            "a withdrawn pledge takes nothing more"))
    if found.stage == ANNOUNCED:
        raise LedgerError(Problem("pledge", f"pledge {reference} is announced, not signed: sign it first "
                                            f"(donor-ledger pledge sign {reference} --on DATE)"))
    if on < found.signed_on:
        raise LedgerError(Problem(field, f"{on.isoformat()} is before pledge {reference} was signed "
                                         f"({found.signed_on.isoformat()}): every event on a signed pledge is dated "
                                         "on or after its signing"))


@dataclass(frozen=True)
class StageEvent:
    """One change of a pledge's stage as the journal holds it: the announcement, a signing
    (recorded signed: on the pledge date) or a withdrawal, each with its entry and whether it
    was reversed (and when)."""

    pledge_id: int
    reference: str
    kind: str  # "announcement", "signing" or "withdrawal"
    on: dt.date
    entry_id: int
    reversed_on: dt.date | None


def stage_history(session, as_of: dt.date) -> list[StageEvent]:
    """Every stage event dated on or before ``as_of`` (recorded at the session's moment), by pledge
    then date: the announcement of each pledge posted as one, and each signing - for a pledge
    recorded signed its pledge entry, for an announced one its signing entries - and each
    withdrawal. IATI uses it for incoming pledges (13, while announced) and commitments (11)."""
    limit = entry_limit(session)
    reversal = aliased(JournalEntry)

    def recorded(entry_id) -> list:
        return [] if limit is None else [entry_id <= limit]

    def reversed_on(entry_id):
        return (select(func.min(reversal.event_date))
                .where(reversal.reverses_id == entry_id, reversal.event_date <= as_of, *recorded(reversal.id))
                .scalar_subquery())

    first, second = _announcement()
    kind = case((first, "announcement"), (second, "announcement"), else_=SIGNING)
    pledges = select(Pledge.id, Pledge.reference, kind, Pledge.pledged_on, Pledge.entry_id, reversed_on(Pledge.entry_id)) \
        .where(Pledge.pledged_on <= as_of, *recorded(Pledge.entry_id))
    events = [StageEvent(*row) for row in session.execute(pledges)]
    for model, day, name in ((Signing, Signing.signed_on, SIGNING), (Withdrawal, Withdrawal.withdrawn_on, WITHDRAWAL)):
        rows = session.execute(
            select(model.pledge_id, Pledge.reference, day, model.entry_id, reversed_on(model.entry_id))
            .join(Pledge, Pledge.id == model.pledge_id).where(day <= as_of, *recorded(model.entry_id)))
        events += [StageEvent(pid, reference, name, on, entry_id, gone) for pid, reference, on, entry_id, gone in rows]
    return sorted(events, key=lambda e: (e.reference, e.on, e.entry_id))


def signings(session, as_of: dt.date) -> list[StageEvent]:
    """The signings in force as of ``as_of``: each pledge's signing not reversed by then
    (a pledge recorded signed: its pledge entry)."""
    return [e for e in stage_history(session, as_of) if e.kind == SIGNING and e.reversed_on is None]
