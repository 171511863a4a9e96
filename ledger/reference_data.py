"""Reference data that may change: donors, activities, users. Every change is audited."""

from __future__ import annotations

from sqlalchemy import exists, select

from .errors import LedgerError, NotFound, Problem
from .inputs import ActivityIn, ActivityUpdate, DonorIn, UserIn
from .money import from_minor, to_minor
from .paragraphs import paragraph_id
from .schema import Activity, Disbursement, Donor, Paragraph, User

DONOR_FIELDS = ("name", "kind", "country", "currency")


def upsert_donor(uow, data: DonorIn) -> str:
    """'added', 'updated' or 'unchanged'.

    A stored donor changes only in the fields ``data`` was given (``model_fields_set``): a
    column an import file leaves out, or an empty cell, keeps what is stored instead of
    resetting it to the model's default. The TUI's form gives every field.
    """
    donor = uow.session.execute(select(Donor).where(Donor.code == data.code)).scalar_one_or_none()
    if donor is None:
        uow.session.add(Donor(code=data.code, **{f: getattr(data, f) for f in DONOR_FIELDS}))
        uow.audit("donors", data.code, "*", None, "created")
        return "added"
    changed = False
    for name in DONOR_FIELDS:
        if name not in data.model_fields_set:
            continue
        old, new = getattr(donor, name), getattr(data, name)
        if old != new:
            uow.audit("donors", data.code, name, old, new)
            setattr(donor, name, new)
            changed = True
    return "updated" if changed else "unchanged"


def activity_by_code(uow, code: str, field: str = "activity") -> Activity:
    activity = uow.session.execute(select(Activity).where(Activity.code == code)).scalar_one_or_none()
    if activity is None:
        raise NotFound(Problem(field, f"no activity with code {code!r}"))
    return activity


def _activity_values(uow, data: ActivityIn, given_only: bool = False) -> dict:
    """The stored columns of ``data``; with ``given_only`` only those of the fields it was given."""
    values = {
        "paragraph_id": paragraph_id(uow, data.paragraph),
        "title": data.title,
        "budget_cents": to_minor(data.budget_usd, "USD"),
        "planned_start": data.planned_start,
        "planned_end": data.planned_end,
        "status": data.status,
        "progress_pct": data.progress_pct,
    }
    if given_only:
        given = {ACTIVITY_COLUMNS.get(name, name) for name in data.model_fields_set}
        values = {name: value for name, value in values.items() if name in given}
    return values


ACTIVITY_COLUMNS = {"paragraph": "paragraph_id", "budget_usd": "budget_cents"}  # field -> stored column


def has_disbursements(uow, activity_id: int) -> bool:
    return bool(uow.rows(select(exists().where(Disbursement.activity_id == activity_id))).scalar())


def upsert_activity(uow, data: ActivityIn) -> str:
    """'added', 'updated' or 'unchanged'; a stored activity changes only in the fields given (see upsert_donor)."""
    activity = uow.session.execute(select(Activity).where(Activity.code == data.code)).scalar_one_or_none()
    if activity is None:
        uow.session.add(Activity(code=data.code, **_activity_values(uow, data)))
        uow.audit("activities", data.code, "*", None, "created")
        return "added"
    values = _activity_values(uow, data, given_only=True)
    start = values.get("planned_start", activity.planned_start)
    end = values.get("planned_end", activity.planned_end)
    if start and end and end < start:
        raise LedgerError(Problem("planned_end", f"planned_end {end} is before planned_start {start}"))
    if values["paragraph_id"] != activity.paragraph_id and has_disbursements(uow, activity.id):
        old = uow.session.get(Paragraph, activity.paragraph_id).number
        raise LedgerError(Problem(
            "paragraph", f"activity {data.code} has disbursements: its paragraph cannot change from {old} to {data.paragraph}"
        ))
    return _apply(uow, activity, values)


def _apply(uow, activity: Activity, values: dict) -> str:
    changed = False
    for name, new in values.items():
        old = getattr(activity, name)
        if old != new:
            shown_old, shown_new = old, new
            if name == "budget_cents":
                shown_old, shown_new = from_minor(old, "USD"), from_minor(new, "USD")
            uow.audit("activities", activity.code, name, shown_old, shown_new)
            setattr(activity, name, new)
            changed = True
    return "updated" if changed else "unchanged"


def update_activity(uow, data: ActivityUpdate) -> str:
    activity = activity_by_code(uow, data.code, "code")
    values = {}
    if data.status is not None:
        values["status"] = data.status
    if data.progress_pct is not None:
        values["progress_pct"] = data.progress_pct
    if not values:
        raise LedgerError(Problem("", "nothing to update: give --progress and/or --status"))
    return _apply(uow, activity, values)


def add_user(uow, data: UserIn) -> str:
    user = uow.session.execute(select(User).where(User.name == data.name)).scalar_one_or_none()
    if user is None:
        uow.session.add(User(name=data.name, role=data.role, created_at=uow.stamp(), created_by=uow.actor.name))
        uow.audit("users", data.name, "role", None, data.role.value)
        return "added"
    if user.role != data.role:
        if user.name == uow.actor.name and data.role != "admin":
            admins = uow.session.execute(select(User.id).where(User.role == "admin")).all()
            if len(admins) <= 1:
                raise LedgerError(Problem("role", "the last admin cannot give up the admin role"))
        uow.audit("users", data.name, "role", user.role, data.role.value)
        user.role = data.role
        return "updated"
    return "unchanged"
