"""The service layer: one function per business act, each one unit of work.

The CLI and the TUI call these; the importers call the per-row functions of the modules
below inside one unit of work for a whole file. Every function validates its input
model, checks the acting user's role, writes everything or nothing, and returns plain
read models.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from . import (
    corrections,
    disbursements,
    instalments,
    periods,
    pledge_close,
    pledges,
    rates,
    reallocations,
    receipts,
    reference_data,
    refunds,
    reversals,
    settings,
    signing,
)
from .corrections import Correction
from .database import Ledger, resolve_url
from .disbursements import FundingPlan
from .errors import LedgerError, PermissionDenied, Problem
from .events import Posted
from .inputs import (
    ActivityIn,
    ActivityUpdate,
    CancellationIn,
    DisbursementIn,
    DonorIn,
    PledgeCloseIn,
    PledgeIn,
    RateIn,
    ReallocationIn,
    ReceiptIn,
    RefundIn,
    ReversalIn,
    ScheduleIn,
    SigningIn,
    UserIn,
    WithdrawalIn,
)
from .journal import Verification
from .reconcile import verify_ledger
from .roles import Act
from .unit_of_work import Reader


def open_ledger(db: str | None = None, user: str | None = None) -> Ledger:
    """Open (creating or upgrading) the ledger at ``db``, acting as ``user`` (on PostgreSQL the
    login), who must be one of its users, to read as well as to write: the first user of a new
    ledger becomes its admin; anyone else is refused until an admin adds them."""
    ledger = Ledger(resolve_url(db), user)
    name = ledger.user_name
    if ledger.actor.role is None:
        ledger.close()
        raise PermissionDenied(
            f"no user {name!r} in this ledger; an admin adds one with: donor-ledger user add {name} --role ROLE"
        )
    return ledger


def _act(ledger: Ledger, act: Act, rule, *args):
    """``rule(uow, *args)`` in one unit of work of a user allowed ``act``: all of it written, or nothing."""
    with ledger.writing(act) as uow:
        return rule(uow, *args)


def record_pledge(ledger: Ledger, data: PledgeIn) -> Posted:
    return _act(ledger, Act.RECORD_MONEY, signing.record_staged_pledge, data)


def sign_pledge(ledger: Ledger, data: SigningIn) -> Posted:
    """Sign an announced pledge (docs/rules.md#pledge-stages)."""
    return _act(ledger, Act.RECORD_MONEY, signing.sign_pledge, data)


def withdraw_pledge(ledger: Ledger, data: WithdrawalIn) -> Posted:
    """Withdraw an announced pledge."""
    return _act(ledger, Act.RECORD_MONEY, signing.withdraw_pledge, data)


def cancel_pledge(ledger: Ledger, data: CancellationIn) -> Posted:
    return _act(ledger, Act.RECORD_MONEY, pledges.cancel_pledge, data)


def schedule_pledge(ledger: Ledger, data: ScheduleIn) -> Posted | None:
    """Re-plan a pledge's instalments with the donor (None: the same schedule is already in force)."""
    return _act(ledger, Act.RECORD_MONEY, instalments.record_schedule, data)


def reallocate(ledger: Ledger, data: ReallocationIn) -> Posted:
    """Move outstanding money between allocations of a pledge (``Posted.detail``: what it did to the
    pledge's pledged USD)."""
    return _act(ledger, Act.RECORD_MONEY, reallocations.reallocate, data)


def refund(ledger: Ledger, data: RefundIn) -> Posted:
    return _act(ledger, Act.RECORD_MONEY, refunds.refund, data)


def close_pledge(ledger: Ledger, data: PledgeCloseIn) -> Posted:
    return _act(ledger, Act.RECORD_MONEY, pledge_close.close_pledge, data)


def record_receipt(ledger: Ledger, data: ReceiptIn) -> Posted:
    return _act(ledger, Act.RECORD_MONEY, receipts.record_receipt, data)


def disburse(ledger: Ledger, data: DisbursementIn) -> Posted:
    return _act(ledger, Act.RECORD_MONEY, disbursements.disburse, data)


def plan_funding(ledger: Ledger, data: DisbursementIn, corrects: int | None = None) -> FundingPlan:
    """Who would pay this disbursement, without writing anything; as the correction of entry
    ``corrects``: with that entry reversed first, as the correction posts it, in a unit of work
    rolled back (the original's money and budget are free again)."""
    if corrects is not None:
        return _previewed(ledger, Act.RECORD_MONEY, corrections.plan_corrected_disbursement, corrects, data)
    with ledger.reading() as session:
        return disbursements.plan_funding(Reader(session, ledger.actor), data)


class _Preview(Exception):
    def __init__(self, result):
        self.result = result


def _previewed(ledger: Ledger, act: Act, rule, *args):
    """``rule(uow, *args)`` in a unit of work rolled back: what it gives, nothing written."""
    try:
        with ledger.writing(act) as uow:
            raise _Preview(rule(uow, *args))
    except _Preview as preview:
        return preview.result


def reverse(ledger: Ledger, data: ReversalIn) -> Posted:
    return _act(ledger, Act.RECORD_MONEY, reversals.reverse, data)


def correct(ledger: Ledger, entry_id: int, reason: str, changes: dict) -> Correction:
    """Reverse entry ``entry_id`` (unless it already is) and post it again with ``changes`` (field:
    value) under the same reference, in one unit of work (docs/rules.md#corrections)."""
    if not reason.strip():
        raise LedgerError(Problem("reason", "give the reason for the correction"))
    return _act(ledger, Act.RECORD_MONEY, corrections.correct, entry_id, reason, changes)


def correction_content(ledger: Ledger, entry_id: int) -> BaseModel:
    """The event posted by entry ``entry_id`` as its input model (what a correction starts from)."""
    with ledger.reading() as session:
        return corrections.content(Reader(session, ledger.actor), entry_id)


def add_rate(ledger: Ledger, data: RateIn) -> str:
    return _act(ledger, Act.MANAGE_DONORS_RATES, rates.add_rate, data)


def save_donor(ledger: Ledger, data: DonorIn, reason: str = "") -> str:
    return _act(ledger, Act.MANAGE_DONORS_RATES, reference_data.upsert_donor, data, reason)


def save_activity(ledger: Ledger, data: ActivityIn, reason: str = "") -> str:
    return _act(ledger, Act.UPDATE_ACTIVITIES, reference_data.upsert_activity, data, reason)


def update_activity(ledger: Ledger, data: ActivityUpdate) -> str:
    return _act(ledger, Act.UPDATE_ACTIVITIES, reference_data.update_activity, data)


def add_user(ledger: Ledger, data: UserIn) -> str:
    return _act(ledger, Act.MANAGE_USERS, reference_data.add_user, data)


def set_setting(ledger: Ledger, name: str, value: str, reason: str = "") -> str:
    """A new version of a ledger setting (admin): "set", or "unchanged" when it has that value."""
    return _act(ledger, Act.MANAGE_SETTINGS, settings.set_value, name, value, reason)


def settings_in_force(ledger: Ledger) -> list[tuple[str, str, tuple[str, dt.datetime, str] | None]]:
    """Every setting: (name, value in force, (who, when, why) it was set, or None while it has its default)."""
    with ledger.reading() as session:
        reader = Reader(session, ledger.actor)
        found = []
        for name in settings.NAMES:
            version = settings.version(reader, name)
            origin = None if version is None else (version.user_name, version.recorded_at, version.reason)
            found.append((name, settings.value(reader, name), origin))
        return found


def close_period(ledger: Ledger, through: dt.date, reason: str) -> int:
    """Close the periods through a month end; returns the closing entry's id."""
    return _act(ledger, Act.CLOSE_PERIOD, periods.close_period, through, reason)


def reopen_period(ledger: Ledger, reason: str) -> tuple[int, tuple[dt.date, str] | None]:
    """Reopen the latest closed period; returns the entry's id and the close in force again."""
    return _act(ledger, Act.REOPEN_PERIOD, periods.reopen_period, reason)


def closed_through(ledger: Ledger) -> tuple[dt.date, str] | None:
    with ledger.reading() as session:
        return periods.closed_through(Reader(session, ledger.actor))


def verify_chain(ledger: Ledger, checkpoint: str | None = None) -> Verification:
    """The hash chain, the balance of every entry and the rows posted beside the journal."""
    with ledger.reading() as session:
        return verify_ledger(session, checkpoint)
