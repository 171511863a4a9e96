"""Alerts as of a date: overdue pledges, paragraphs whose open activities need more than their
cash, and (on request) the journal's chain check. The dashboard, ``report alerts`` and the
workbook's first sheet all read :func:`alerts`; its rules are those of :mod:`ledger.figures`.

Dated as of D: outstanding amounts, spending and cash count the entries dated on or before D.
As recorded at the session's moment T (``ledger.recorded``): the entries, rates and activity
versions recorded by T; the chain check verifies the whole chain and states it up to T's head.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import figures, recorded
from .instalments import days_late, unpaid_instalments
from .money import from_minor
from .paragraphs import paragraphs
from .rates import RateBook, StaleRate
from .schema import Allocation
from .versions import activities_as_recorded


@dataclass(frozen=True)
class OverdueAlert:
    reference: str
    donor: str  # the donor's code
    due_on: dt.date
    currency: str
    outstanding: Decimal  # pledge currency, as of the date
    outstanding_usd: Decimal  # valued at the as-of rate, each allocation's split over the unpaid instalments
    days_late: int
    instalment: int = 1  # its position in the schedule
    of: int = 1  # how many instalments the schedule has


@dataclass(frozen=True)
class CashNeedAlert:
    paragraph: int
    title: str
    need_usd: Decimal  # budgets of the paragraph's planned and ongoing activities less what they spent, as of the date
    cash_usd: Decimal  # the paragraph's earmarked available cash as of the date (never below zero)


@dataclass(frozen=True)
class ChainAlert:
    ok: bool
    entries: int
    head: str
    message: str


@dataclass(frozen=True)
class Alerts:
    as_of: dt.date
    overdue_count: int  # overdue instalments
    overdue: list[OverdueAlert]  # one per overdue instalment, oldest due date first (then reference), at most `limit`
    cash_needs: list[CashNeedAlert]  # paragraph order
    chain: ChainAlert | None  # None unless check_chain=True
    stale_rates: list[StaleRate] = field(default_factory=list)  # rates that valued the overdue amounts, not of D's month


def _usd(cents: int) -> Decimal:
    return from_minor(cents, "USD")


def alerts(session: Session, as_of: dt.date, *, limit: int = 50, check_chain: bool = False) -> Alerts:
    book = RateBook.load(session, recorded.recorded_at(session))
    overdue = _overdue(session, as_of, book)
    stale = book.stale({a.currency for a in overdue}, as_of)  # the rates that valued them (ledger.rates)
    return Alerts(as_of, len(overdue), overdue[:limit], cash_needs(session, as_of),
                  chain_alert(session) if check_chain else None, stale)


def overdue_pledges(session: Session, as_of: dt.date, limit: int | None = None) -> tuple[int, list[OverdueAlert]]:
    """How many instalments are overdue as of the date (``instalments.is_overdue``), and the oldest ``limit``."""
    overdue = _overdue(session, as_of, RateBook.load(session, recorded.recorded_at(session)))
    return len(overdue), overdue[:limit]


def _overdue(session: Session, as_of: dt.date, book: RateBook) -> list[OverdueAlert]:
    """Every overdue instalment as of the date (``instalments.is_overdue``), oldest due date first
    (then reference), its unpaid part valued at ``book``'s as-of rate."""
    overdue = [
        OverdueAlert(i.reference, i.donor, i.due_on, i.currency, i.unpaid, _usd(i.unpaid_cents), days_late(i.due_on, as_of),
                     i.position, i.of)
        for i in unpaid_instalments(session, as_of, book) if i.overdue(as_of)
    ]
    overdue.sort(key=lambda a: (a.due_on, a.reference))
    return overdue


def paragraph_cash(session: Session, as_of: dt.date) -> dict[int, int]:
    """paragraph id -> available cents of the allocations earmarked to it, as of the date (the
    funding report's ``available`` of that paragraph's row)."""
    cash: dict[int, int] = {}
    wanted = (figures.RECEIVED_USD, figures.REFUNDED_USD, figures.DISBURSED_USD, figures.PSC_USD)
    for _aid, paragraph_id, received, refunded, disbursed, psc in figures.per_allocation(
        session, as_of, wanted, Allocation.paragraph_id
    ):
        if paragraph_id is not None:
            cash[paragraph_id] = cash.get(paragraph_id, 0) + figures.available(int(received), int(refunded),
                                                                                int(disbursed), int(psc))
    return cash


def cash_needs(session: Session, as_of: dt.date) -> list[CashNeedAlert]:
    """The paragraphs whose planned and ongoing activities need more than the paragraph's cash."""
    cash = paragraph_cash(session, as_of)
    spent = figures.spent_per_activity(session, as_of)
    need: dict[int, int] = {}
    version = activities_as_recorded(recorded.recorded_at(session)).c  # the versions in force at the moment read
    for aid, paragraph_id, status, budget in session.execute(
        select(version.activity_id, version.paragraph_id, version.status, version.budget_cents)
    ):
        need[paragraph_id] = need.get(paragraph_id, 0) + figures.still_to_spend(status, int(budget), spent.get(aid, 0))
    return [
        CashNeedAlert(p.number, p.short_title, _usd(need[p.id]), _usd(max(cash.get(p.id, 0), 0)))
        for p in paragraphs(session)
        if figures.needs_cash(need.get(p.id, 0), cash.get(p.id, 0))
    ]


def chain_alert(session: Session) -> ChainAlert:
    from .reconcile import verified_up_to, verify_ledger

    return chain_of(verified_up_to(verify_ledger(session), recorded.read_moment(session)))


def chain_of(verification) -> ChainAlert:
    """The alert of a chain check already made (``ledger.reconcile.verify_ledger``)."""
    return ChainAlert(verification.ok, verification.entries, verification.head_hash, verification.message)


def alerts_for(ledger, as_of: dt.date, *, limit: int = 50, check_chain: bool = False,
               recorded_at: dt.datetime | None = None) -> Alerts:
    """The alerts of an open ledger (for callers that hold no session, like the TUI), as recorded at
    ``recorded_at`` when given (docs/rules.md#as-recorded-at)."""
    with ledger.reading() as session:
        if recorded_at is not None:
            recorded.read_as_recorded_at(session, recorded.moment(session, recorded_at))
        return alerts(session, as_of, limit=limit, check_chain=check_chain)
