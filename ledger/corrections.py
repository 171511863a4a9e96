"""Corrections: reverse an event and post it again, corrected, under the same reference, in one
unit of work (docs/rules.md#corrections)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import select

from . import journal, periods, stages
from .balances import allocation_balances
from .disbursements import FundingPlan, disburse, plan_funding, stored_disbursement
from .errors import LedgerError, NotFound, Problem
from .events import Posted
from .inputs import ReversalIn
from .instalments import record_schedule, stored_schedule
from .pledge_close import close_pledge, stored_closing
from .pledges import cancel_pledge, stored_cancellation, stored_pledge
from .reallocations import reallocate, stored_reallocation
from .receipts import record_receipt, stored_receipt
from .refunds import refund, stored_refund
from .reversals import cash_refusal, described, events_left_on_pledge, reverse
from .schema import JournalEntry, JournalLine
from .signing import record_staged_pledge, sign_pledge, stored_signing, stored_withdrawal, withdraw_pledge

# kind: (the event's content as its input model, the act that posts it, the field that keeps its reference);
# the acts on a pledge go by its reference
CORRECTABLE = {
    "pledge": (stored_pledge, record_staged_pledge, "reference"),
    "receipt": (stored_receipt, record_receipt, "reference"),
    "disbursement": (stored_disbursement, disburse, "reference"),
    "cancellation": (stored_cancellation, cancel_pledge, "pledge"),
    "reallocation": (stored_reallocation, reallocate, "pledge"),
    "refund": (stored_refund, refund, "pledge"),
    stages.SIGNING: (stored_signing, sign_pledge, "pledge"),
    stages.WITHDRAWAL: (stored_withdrawal, withdraw_pledge, "pledge"),
    journal.SCHEDULE: (stored_schedule, record_schedule, "pledge"),
    journal.PLEDGE_CLOSE: (stored_closing, close_pledge, "pledge"),
}


@dataclass(frozen=True)
class Correction:
    """What ``correct`` posted: for the entry it corrects, the reversal (None when the entry was
    already reversed) and the corrected event."""

    corrects: int
    reversal_id: int | None
    posted: Posted

    @property
    def reference(self) -> str:
        return self.posted.reference

    @property
    def entry_id(self) -> int:
        return self.posted.entry_id

    @property
    def usd_cents(self) -> int:
        return self.posted.usd_cents

    @property
    def detail(self) -> str:
        """"corrects entry 3, reversed by entry 6" (what a saved notice adds)."""
        return f"corrects entry {self.corrects}" + (f", reversed by entry {self.reversal_id}" if self.reversal_id else "")


def _entry(uow, entry_id: int) -> JournalEntry:
    entry = uow.rows(select(JournalEntry).where(JournalEntry.id == entry_id)).scalar_one_or_none()
    if entry is None:
        raise NotFound(Problem("entry", f"no journal entry {entry_id}"))
    if entry.kind == "reversal":
        raise LedgerError(Problem(
            "entry", f"entry {entry.id} is a reversal (of entry {entry.reverses_id}); to undo it, "
            f"correct entry {entry.reverses_id}, which posts its content again"))
    if entry.kind not in CORRECTABLE:
        raise LedgerError(Problem("entry", f"entry {entry.id} ({entry.kind}) cannot be corrected"))
    return entry


def content(uow, entry_id: int) -> BaseModel:
    """The event posted by entry ``entry_id`` as the input model that made it (a form opens with it)."""
    entry = _entry(uow, entry_id)
    return CORRECTABLE[entry.kind][0](uow, entry.id)


def corrected_content(uow, entry_id: int, changes: dict) -> BaseModel:
    """The event's content with ``changes`` (field: value, as a user gives them) applied, validated
    by its input model; the field holding its reference may not change."""
    entry = _entry(uow, entry_id)
    stored, _, kept = CORRECTABLE[entry.kind]
    original = stored(uow, entry.id)
    unknown = sorted(set(changes) - set(type(original).model_fields))
    if unknown:
        raise LedgerError(*(Problem(name, f"a {entry.kind} has no field {name}") for name in unknown))
    if kept in changes and str(changes[kept]) != getattr(original, kept):
        raise LedgerError(Problem(kept, f"a correction keeps the reference {getattr(original, kept)!r}"))
    return type(original).model_validate({**original.model_dump(), **changes})


def _reversal_date(uow, day: dt.date) -> dt.date:
    """The original's date, or the first day after the closed period if it lies in it."""
    closed = periods.closed_through(uow)
    return closed[0] + dt.timedelta(days=1) if closed is not None and day <= closed[0] else day


def correct(uow, entry_id: int, reason: str, changes: dict) -> Correction:
    """Reverse entry ``entry_id`` (unless it already is) and post its content with ``changes``
    under the same reference, naming the entry it corrects; cash and outstanding are checked once
    both are posted, so nothing is written if either half is refused."""
    entry = _entry(uow, entry_id)
    corrected_by = uow.rows(select(JournalEntry.id).where(JournalEntry.corrects_id == entry.id)).scalar()
    if corrected_by is not None:
        raise LedgerError(Problem("entry", f"entry {entry.id} was already corrected by entry {corrected_by}: "
                                  f"correct entry {corrected_by}"))
    data = corrected_content(uow, entry.id, changes)
    reversal_id = _reverse_original(uow, entry, reason)
    posted = CORRECTABLE[entry.kind][1](uow, data, corrects=entry.id)
    _check_both_halves(uow, [entry.id, *([reversal_id] if reversal_id else []), posted.entry_id], entry)
    return Correction(entry.id, reversal_id, posted)


def _reverse_original(uow, entry: JournalEntry, reason: str) -> int | None:
    """The first half of a correction: reverse ``entry`` unless it already is; the reversal's entry."""
    reversed_by = uow.rows(select(JournalEntry.id).where(JournalEntry.reverses_id == entry.id)).scalar()
    if reversed_by is not None:
        return None
    if entry.kind == "pledge" and (left := events_left_on_pledge(uow, entry.id)):
        raise LedgerError(Problem("entry", f"pledge {entry.reference} has {', '.join(left)}: a pledge with "
                                  "events posted against it cannot be corrected (reverse those first)"))
    on = _reversal_date(uow, entry.event_date)
    return reverse(uow, ReversalIn(entry_id=entry.id, reason=f"corrected: {reason}", reversed_on=on),
                   check_balances=False).entry_id


def plan_corrected_disbursement(uow, entry_id: int, data) -> FundingPlan:
    """Who would pay disbursement entry ``entry_id`` posted again as ``data``: planned as the
    correction posts it, after its first half reversed the original (the caller rolls back)."""
    _reverse_original(uow, _entry(uow, entry_id), "preview")
    return plan_funding(uow, data)


def _check_both_halves(uow, entry_ids: list[int], entry: JournalEntry) -> None:
    """No allocation touched by the correction is left with negative cash on any date, or with a
    negative outstanding amount."""
    cash_from: dict[int, dt.date] = {}
    touched: set[int] = set()
    rows = uow.rows(select(JournalLine.allocation_id, JournalLine.account, JournalEntry.event_date)
                    .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
                    .where(JournalLine.entry_id.in_(entry_ids), JournalLine.allocation_id.is_not(None)))
    for allocation_id, account, day in rows:
        touched.add(allocation_id)
        if account == journal.CASH:
            cash_from[allocation_id] = min(day, cash_from.get(allocation_id, day))
    doing = f"correcting {described(entry.kind, entry.reference, entry.id)}"
    for allocation_id, day in sorted(cash_from.items()):
        if refusal := cash_refusal(uow, allocation_id, 0, day, doing):
            raise refusal
    for allocation_id in touched:
        uow.lookups.balances.pop(allocation_id, None)  # read again: both halves posted
    if any(b.outstanding_minor < 0 for b in allocation_balances(uow, sorted(touched)).values()):
        raise LedgerError(Problem("amount", f"{doing} would leave more received or cancelled than pledged"))
