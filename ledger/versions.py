"""Versions of reference data (docs/rules.md#reference-data-versions): every change of an
activity, donor or user is a new version row with who, when and why, the first one included.
The activities, donors and users tables hold the current state (the latest version); the
versions are the history, shown as the audit trail, and give the activities and donors as
recorded at a moment (``activities_as_recorded``, ``donors_as_recorded``: what every report as
recorded at T shows of them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from .money import from_minor
from .schema import (
    Activity,
    ActivityVersion,
    AuditRecord,
    Base,
    Donor,
    DonorVersion,
    Paragraph,
    User,
    UserVersion,
)


@dataclass(frozen=True)
class Kind:
    table: str  # the audit trail's name of the kind
    model: type[Base]
    versions: type[Base]
    owner: str  # the version's column naming its item
    key: str  # the item's key column (code, name)
    fields: tuple[str, ...]  # the columns each version keeps


KINDS = {kind.model: kind for kind in (
    Kind("activities", Activity, ActivityVersion, "activity_id", "code",
         ("paragraph_id", "title", "budget_cents", "planned_start", "planned_end", "status", "progress_pct")),
    Kind("donors", Donor, DonorVersion, "donor_id", "code", ("name", "kind", "country", "currency", "iati_ref")),
    Kind("users", User, UserVersion, "user_id", "name", ("role",)),
)}
BY_TABLE = {kind.table: kind for kind in KINDS.values()}
SHOWN_AS = {"paragraph_id": "paragraph", "budget_cents": "budget_usd"}  # stored column -> the field users know


def record(uow, item: Base, reason: str = "") -> int:
    """Record ``item`` (added or changed in the unit of work) as its next version, by the acting
    user, with the unit of work's next stamp; returns its number."""
    return add(uow.session, item, uow.actor.name, uow.stamp(), reason)


def add(session: Session, item: Base, user_name: str, recorded_at: dt.datetime, reason: str = "") -> int:
    kind = KINDS[type(item)]
    versions = kind.versions
    if item.id is None:
        session.flush()  # the new item's id
        number = 1
    else:
        owner = getattr(versions, kind.owner)
        number = (session.execute(select(func.max(versions.version)).where(owner == item.id)).scalar() or 0) + 1
    session.add(versions(
        **{kind.owner: item.id, "version": number}, **{name: getattr(item, name) for name in kind.fields},
        recorded_at=recorded_at, user_name=user_name, reason=reason,
    ))
    return number


def activities_as_recorded(recorded_at: dt.datetime | None = None):
    """Each activity's version in force at ``recorded_at`` (None: now), as a subquery with the
    columns of ``ActivityVersion``; an activity first recorded after that moment is absent."""
    return _as_recorded(KINDS[Activity], recorded_at)


def donors_as_recorded(recorded_at: dt.datetime | None = None):
    """Each donor's version in force at ``recorded_at`` (None: now), as a subquery with the columns
    of ``DonorVersion`` (name, kind, country, currency, iati_ref) and ``code`` (a donor's code never changes);
    a donor first recorded after that moment is absent."""
    v = _as_recorded(KINDS[Donor], recorded_at)
    return select(v, Donor.code).join(Donor, Donor.id == v.c.donor_id).subquery()


def donor_names(session: Session, recorded_at: dt.datetime | None = None) -> dict[int, str]:
    """Donor id -> the donor's name as recorded at ``recorded_at`` (None: now)."""
    donor = donors_as_recorded(recorded_at)
    return dict(session.execute(select(donor.c.donor_id, donor.c.name)).all())


def _as_recorded(kind: Kind, recorded_at: dt.datetime | None):
    """The latest version of each item of ``kind`` recorded at or before ``recorded_at``."""
    v = kind.versions
    owner = getattr(v, kind.owner)
    latest = select(owner, func.max(v.version).label("version"))
    if recorded_at is not None:
        latest = latest.where(v.recorded_at <= recorded_at)
    latest = latest.group_by(owner).subquery()
    return (
        select(v)
        .join(latest, and_(latest.c[kind.owner] == owner, latest.c.version == v.version))
        .subquery()
    )


# -- the history of one item ------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class VersionView:
    version: int | None  # None: a change recorded before the ledger kept versions (the old audit trail)
    at: dt.datetime
    user: str
    reason: str
    changes: tuple[Change, ...]  # the first version: every field, with no old value


def history(session: Session, table: str, key: str) -> list[VersionView]:
    """The versions of one activity ('activities'), donor ('donors') or user ('users'), oldest
    first, each with the fields it changed; changes recorded before versions come first."""
    kind = BY_TABLE[table]
    earlier = [
        VersionView(None, at, user, "", (Change(field, old, new),))
        for at, user, field, old, new in session.execute(
            select(AuditRecord.at, AuditRecord.user_name, AuditRecord.field, AuditRecord.old_value, AuditRecord.new_value)
            .where(AuditRecord.table_name == table, AuditRecord.record_key == key)
            .order_by(AuditRecord.id)
        )
    ]
    versions = kind.versions
    rows = session.execute(
        select(versions).join(kind.model, kind.model.id == getattr(versions, kind.owner))
        .where(getattr(kind.model, kind.key) == key)
        .order_by(versions.version)
    ).scalars().all()
    numbers = dict(session.execute(select(Paragraph.id, Paragraph.number)).all()) if table == "activities" else {}
    shown: list[VersionView] = []
    before: dict[str, str | None] = {}
    for row in rows:
        values = {name: _shown(name, getattr(row, name), numbers) for name in kind.fields}
        changes = tuple(Change(SHOWN_AS.get(name, name), before.get(name), value)
                        for name, value in values.items() if not before or before[name] != value)
        shown.append(VersionView(row.version, row.recorded_at, row.user_name, row.reason, changes))
        before = values
    return earlier + shown


def _shown(name: str, value: object, paragraph_numbers: dict[int, int]) -> str | None:
    if value is None:
        return None
    if name == "budget_cents":
        return str(from_minor(value, "USD"))
    if name == "paragraph_id":
        return str(paragraph_numbers[value])
    return str(value)
