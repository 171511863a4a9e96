"""Reference data that may change: donors, activities, users. Every change is a new version
(``ledger.versions``: who, when, why)."""

from __future__ import annotations

from sqlalchemy import exists, select

from . import versions
from .balances import spent_on
from .errors import LedgerError, NotFound, Problem
from .inputs import ActivityIn, ActivityUpdate, DonorIn, UserIn
from .money import format_amount, to_minor
from .paragraphs import paragraph_id
from .schema import Activity, Disbursement, Donor, Paragraph, User

DONOR_FIELDS = ("name", "kind", "country", "currency", "iati_ref")


def upsert_donor(uow, data: DonorIn, reason: str = "") -> str:
    """'added', 'updated' or 'unchanged'; a change is recorded as a version with ``reason``.

    A stored donor changes only in the fields ``data`` was given (``model_fields_set``): a
    column an import file leaves out, or an empty cell, keeps what is stored instead of
    resetting it to the model's default. The TUI's form gives every field.
    """
    donor = uow.session.execute(select(Donor).where(Donor.code == data.code)).scalar_one_or_none()
    if donor is None:
        donor = Donor(code=data.code, **{f: getattr(data, f) for f in DONOR_FIELDS})
        uow.session.add(donor)
        versions.record(uow, donor, reason)
        return "added"
    changed = False
    for name in DONOR_FIELDS:
        if name in data.model_fields_set and getattr(donor, name) != getattr(data, name):
            setattr(donor, name, getattr(data, name))
            changed = True
    if not changed:
        return "unchanged"
    versions.record(uow, donor, reason)
    return "updated"


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


def upsert_activity(uow, data: ActivityIn, reason: str = "") -> str:
    """'added', 'updated' or 'unchanged'; a stored activity changes only in the fields given (see
    upsert_donor), recorded as a version with ``reason`` (which a budget revision needs)."""
    activity = uow.session.execute(select(Activity).where(Activity.code == data.code)).scalar_one_or_none()
    if activity is None:
        activity = Activity(code=data.code, **_activity_values(uow, data))
        uow.session.add(activity)
        versions.record(uow, activity, reason)
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
    return _apply(uow, activity, values, reason)


def _apply(uow, activity: Activity, values: dict, reason: str) -> str:
    changed = {name: new for name, new in values.items() if getattr(activity, name) != new}
    if not changed:
        return "unchanged"
    if "budget_cents" in changed:
        check_budget_revision(uow, activity, changed["budget_cents"], reason)
    for name, new in changed.items():
        setattr(activity, name, new)
    versions.record(uow, activity, reason)
    return "updated"


def check_budget_revision(uow, activity: Activity, budget_cents: int, reason: str) -> None:
    """A budget is revised with a reason, and never below what the activity has spent."""
    usd = lambda cents: f"USD {format_amount(cents, 'USD')}"  # noqa: E731
    if not reason.strip():
        raise LedgerError(Problem("reason", f"a revision of the budget of activity {activity.code} "
                                            f"(from {usd(activity.budget_cents)} to {usd(budget_cents)}) needs a reason"))
    spent = spent_on(uow, activity.id)
    if budget_cents < spent:
        raise LedgerError(Problem("budget_usd", f"activity {activity.code} has spent {usd(spent)}: its budget cannot "
                                                f"be revised to {usd(budget_cents)}, below what is spent"))


def update_activity(uow, data: ActivityUpdate) -> str:
    activity = activity_by_code(uow, data.code, "code")
    values = {}
    if data.status is not None:
        values["status"] = data.status
    if data.progress_pct is not None:
        values["progress_pct"] = data.progress_pct
    if data.budget_usd is not None:
        values["budget_cents"] = to_minor(data.budget_usd, "USD")
    if not values:
        raise LedgerError(Problem("", "nothing to update: give --progress, --status and/or --budget"))
    return _apply(uow, activity, values, data.reason)


def add_user(uow, data: UserIn) -> str:
    user = uow.session.execute(select(User).where(User.name == data.name)).scalar_one_or_none()
    if user is None:
        user = User(name=data.name, role=data.role.value, created_at=uow.stamp(), created_by=uow.actor.name)
        uow.session.add(user)
        versions.record(uow, user)
        return "added"
    if user.role != data.role:
        if user.name == uow.actor.name and data.role != "admin":
            admins = uow.session.execute(select(User.id).where(User.role == "admin")).all()
            if len(admins) <= 1:
                raise LedgerError(Problem("role", "the last admin cannot give up the admin role"))
        user.role = data.role.value
        versions.record(uow, user)
        return "updated"
    return "unchanged"
