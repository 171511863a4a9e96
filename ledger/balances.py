"""Balances of allocations, read from the journal lines (the one record of every amount)."""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from operator import itemgetter

from sqlalchemy import bindparam, select

from . import figures, journal
from .money import round_half_up_div
from .schema import JournalEntry, JournalLine


@dataclass(frozen=True)
class AllocationBalance:
    """Counting every posted entry, whatever its date."""

    outstanding_minor: int = 0  # amount - received - cancelled
    cancelled_minor: int = 0
    receivable_cents: int = 0  # carrying value of the outstanding at the pledge-date rate


def note_posted(lookups, lines, event_date: dt.date) -> None:
    """Keep the balances of a unit of work's ``Lookups`` current with a newly posted entry's
    lines (one pass)."""
    moves = lookups.cash_moves
    totals = lookups.cash_totals
    balances = lookups.balances
    spent = lookups.spent
    for line in lines:
        if line.account == journal.EXPENDITURE and line.activity_id in spent:  # one not read yet is read with it
            spent[line.activity_id] += line.usd_cents
        aid = line.allocation_id
        if aid is None:
            continue
        account = line.account
        if account == journal.CASH:
            if line.usd_cents > 0:
                lookups.forget_candidates()  # an allocation may now hold cash that it did not
            if aid in totals:
                totals[aid] += line.usd_cents
            if aid in moves:
                _add_movement(moves[aid], event_date, line.usd_cents)
            continue
        balance = balances.get(aid)
        if balance is None:
            continue
        if account == journal.RECEIVABLE:
            balances[aid] = AllocationBalance(
                balance.outstanding_minor + line.amount_minor, balance.cancelled_minor,
                balance.receivable_cents + line.usd_cents,
            )
        elif account == journal.REVENUE and line.flow == journal.CANCEL:
            balances[aid] = AllocationBalance(
                balance.outstanding_minor, balance.cancelled_minor + line.amount_minor, balance.receivable_cents,
            )


def spent_on(uow, activity_id: int) -> int:
    """What is spent on an activity: every funding split on it, whatever its date, reversals
    netted (``figures.spent_per_activity``), posted in this unit of work included."""
    spent = uow.lookups.spent
    if activity_id not in spent:
        uow.flush()
        spent[activity_id] = figures.spent_per_activity(uow.session, activity_ids=[activity_id]).get(activity_id, 0)
    return spent[activity_id]


def allocation_balances(uow, allocation_ids: list[int]) -> dict[int, AllocationBalance]:
    cached = uow.lookups.balances
    if all(aid in cached for aid in allocation_ids):
        return {aid: cached[aid] for aid in allocation_ids}
    result = _allocation_balances(uow, allocation_ids)
    cached.update(result)
    return result


@cache
def _balances_statement():
    """Built once (docs/architecture.md "Statements built once"): the allocations are a parameter."""
    line = JournalLine
    wanted = (figures.OUTSTANDING, figures.CANCELLED, figures.CARRYING_USD)
    return (select(line.allocation_id, *(f.among() for f in wanted))
            .where(line.allocation_id.in_(bindparam("allocation_ids", expanding=True)),
                   line.account.in_(figures.accounts(wanted)))
            .group_by(line.allocation_id))


def _allocation_balances(uow, allocation_ids: list[int]) -> dict[int, AllocationBalance]:
    rows = uow.rows(_balances_statement(), {"allocation_ids": list(allocation_ids)})
    found = {aid: AllocationBalance(int(o or 0), int(c or 0), int(r or 0)) for aid, o, c, r in rows}
    return {aid: found.get(aid, AllocationBalance()) for aid in allocation_ids}


def _add_movement(movements: list[tuple[dt.date, int]], day: dt.date, cents: int) -> None:
    i = bisect.bisect_left(movements, day, key=_DAY)
    if i < len(movements) and movements[i][0] == day:
        movements[i] = (day, movements[i][1] + cents)
    else:
        movements.insert(i, (day, cents))


def cash_movements(uow, allocation_id: int) -> list[tuple[dt.date, int]]:
    """Net cash (USD cents) of an allocation per event date, in date order."""
    cached = uow.lookups.cash_moves
    found = cached.get(allocation_id)
    if found is None:
        found = cached[allocation_id] = _cash_movements(uow, allocation_id)
    return list(found)


@cache
def _cash_movements_statement():
    return (select(JournalEntry.event_date, figures.CASH_USD.alone())
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(JournalLine.allocation_id == bindparam("allocation_id"), figures.CASH_USD.condition())
            .group_by(JournalEntry.event_date)
            .order_by(JournalEntry.event_date))


def _cash_movements(uow, allocation_id: int) -> list[tuple[dt.date, int]]:
    rows = uow.rows(_cash_movements_statement(), {"allocation_id": allocation_id})
    return [(day, int(total)) for day, total in rows]


_DAY, _DELTA = itemgetter(0), itemgetter(1)


def available_cash(movements: list[tuple[dt.date, int]], on: dt.date) -> int:
    """The smallest cash balance on any date from ``on`` on (docs/rules.md#available-cash)."""
    later = bisect.bisect_right(movements, on, key=_DAY)  # the first movement after ``on``
    balance = sum(map(_DELTA, movements[:later]))  # the balance on ``on`` itself
    return min(accumulate(map(_DELTA, movements[later:]), initial=balance))  # and every later one


def psc_of(cents: int, psc_rate_bp: int) -> int:
    """PSC on a funding split: round_half_up(split * rate / 100) in cents."""
    return round_half_up_div(cents * psc_rate_bp, 10_000)


def fundable(available: int, psc_rate_bp: int) -> int:
    """The largest x with x + psc(x) <= available."""
    if available <= 0:
        return 0
    x = available * 10_000 // (10_000 + psc_rate_bp)
    while x + 1 + psc_of(x + 1, psc_rate_bp) <= available:
        x += 1
    while x > 0 and x + psc_of(x, psc_rate_bp) > available:
        x -= 1
    return x
