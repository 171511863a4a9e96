"""Closing a pledge (docs/rules.md#closing-a-pledge): when nothing is outstanding and no allocation
holds cash on any date from the closing date on; the entry has no money lines."""

from __future__ import annotations

from sqlalchemy import select

from . import journal, stages
from .balances import allocation_balances, cash_movements
from .closing import check_not_closed, closed_pledges
from .errors import LedgerError, Problem
from .events import Posted, check_date
from .inputs import PledgeCloseIn
from .money import format_amount
from .pledges import allocations_of, pledge_by_reference
from .schema import Pledge, PledgeClosing


def _where(number: int | None) -> str:
    return "the unearmarked allocation" if number is None else f"paragraph {number}"


def close_pledge(uow, data: PledgeCloseIn, corrects: int | None = None) -> Posted:
    """Close the pledge; ``corrects``: the reversed closing this one corrects (ledger/corrections.py)."""
    pledge = pledge_by_reference(uow, data.pledge)
    check_date(uow, "closed_on", data.closed_on, pledge.pledged_on, f"the pledge date of {pledge.reference}")
    check_not_closed(uow, pledge.id, pledge.reference)
    if stages.stage_of(uow, pledge.id).stage == stages.ANNOUNCED:
        raise LedgerError(Problem("pledge", f"pledge {pledge.reference} is announced, not signed: withdraw it instead "
                                            f"(donor-ledger pledge withdraw {pledge.reference} --on DATE --reason TEXT)"))
    stages.check_signed(uow, pledge.id, data.closed_on, "closed_on")
    allocations = allocations_of(uow, pledge.id)
    balances = allocation_balances(uow, [a.id for a, _ in allocations])
    currency = pledge.currency
    for allocation, number in allocations:
        left = balances[allocation.id].outstanding_minor
        if left:
            raise LedgerError(Problem("pledge", (
                f"cannot close pledge {pledge.reference}: {currency} {format_amount(left, currency)} is outstanding "
                f"on {_where(number)}; cancel or reallocate it first")))
    for allocation, number in allocations:
        held = _cash_held_from(cash_movements(uow, allocation.id), data.closed_on)
        if held is not None:
            day, cents = held
            raise LedgerError(Problem("pledge", (
                f"cannot close pledge {pledge.reference}: USD {format_amount(cents, 'USD')} cash on {_where(number)} "
                f"on {day.isoformat()}; spend or refund it first")))
    entry_id = uow.post(journal.EntryDraft(journal.PLEDGE_CLOSE, data.closed_on, pledge.reference,
                                           f"pledge {pledge.reference} closed", [], corrects_id=corrects))
    uow.add(PledgeClosing, {"id": uow.next_id(PledgeClosing), "pledge_id": pledge.id, "closed_on": data.closed_on,
                            "entry_id": entry_id})
    closed_pledges(uow)[pledge.id] = (entry_id, data.closed_on)
    return Posted(entry_id, pledge.reference, 0)


def _cash_held_from(movements, on) -> tuple[object, int] | None:
    """The first date from ``on`` on on which the cash balance is not zero, with that balance."""
    balance = sum(cents for day, cents in movements if day <= on)
    if balance:
        return on, balance
    for day, cents in movements:
        if day > on:
            balance += cents
            if balance:
                return day, balance
    return None


def stored_closing(uow, entry_id: int) -> PledgeCloseIn:
    """The closing posted by entry ``entry_id`` as the input that made it (a correction's content)."""
    reference, closed_on = uow.rows(select(Pledge.reference, PledgeClosing.closed_on)
                                    .join(Pledge, Pledge.id == PledgeClosing.pledge_id)
                                    .where(PledgeClosing.entry_id == entry_id)).one()
    return PledgeCloseIn(pledge=reference, closed_on=closed_on)
