"""Disbursements: cash paid for an activity, funded by allocations that hold received cash."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import bindparam, select

from . import figures, journal, stages
from .balances import available_cash, cash_movements, fundable, psc_of, spent_on
from .closing import check_not_closed, closed_pledges_statement
from .errors import LedgerError, NotFound, Problem
from .events import Posted, check_date, claim_reference, unreversed
from .inputs import DisbursementIn
from .money import format_amount, from_minor, largest_remainder, to_minor, to_usd_cents
from .rates import rate_book
from .reference_data import activity_by_code
from .schema import Activity, Allocation, Disbursement, Donor, JournalLine, Paragraph, Pledge


@dataclass(frozen=True)
class FundingSplit:
    allocation_id: int
    pledge_reference: str
    donor_code: str
    paragraph: int | None  # of the allocation; None: unearmarked
    usd_cents: int
    psc_cents: int
    psc_rate_bp: int
    amount_minor: int  # the share of the disbursement in its own currency


@dataclass(frozen=True)
class FundingPlan:
    """Who pays a disbursement, before it is posted (the TUI shows it before saving)."""

    activity_code: str
    paragraph: int
    currency: str
    amount_minor: int
    usd_cents: int
    splits: list[FundingSplit]
    rate_micros: int  # the rate converted at (of the disbursement's month; 1 for USD)

    @property
    def funded_cents(self) -> int:
        return sum(s.usd_cents for s in self.splits)

    @property
    def shortfall_cents(self) -> int:
        return self.usd_cents - self.funded_cents

    @property
    def psc_cents(self) -> int:
        return sum(s.psc_cents for s in self.splits)

    def refusal(self) -> LedgerError:
        usd = lambda cents: f"USD {format_amount(cents, 'USD')}"  # noqa: E731
        return LedgerError(Problem(
            "amount",
            f"insufficient funds for paragraph {self.paragraph}: asked {usd(self.usd_cents)}, "
            f"can fund {usd(self.funded_cents)}, shortfall {usd(self.shortfall_cents)}",
        ))


def _candidates(uow, paragraph_id: int, pledge_id: int | None):
    """Allocations that may pay, in the order of docs/rules.md#disbursements-and-funding: earmarked to the paragraph, then
    unearmarked; oldest pledge first. Only those holding cash now are read further."""
    key = (paragraph_id, pledge_id)
    lookups = uow.lookups
    if key not in lookups.candidates:
        # one read of the allocations holding cash serves every paragraph
        if pledge_id not in lookups.holding_cash:
            lookups.holding_cash[pledge_id] = _holding_cash(uow, pledge_id)
        rows = lookups.holding_cash[pledge_id]
        lookups.candidates[key] = [row for row in rows if row[1] == paragraph_id] + [row for row in rows if row[1] is None]
    rows, totals = lookups.candidates[key], lookups.cash_totals
    spent = 0
    while spent < len(rows) and totals.get(rows[spent][0], 1) <= 0:
        spent += 1
    del rows[:spent]  # spent allocations stay spent while the list is cached (see below)
    return rows


@cache
def _holding_cash_statement(of_one_pledge: bool):
    """Built once (docs/architecture.md "Statements built once"); the pledge is a parameter."""
    cash = (
        select(JournalLine.allocation_id, figures.CASH_USD.alone().label("cash"))
        .where(figures.CASH_USD.condition())
        .group_by(JournalLine.allocation_id)
        .subquery()
    )
    statement = (
        select(Allocation.id, Allocation.paragraph_id, Pledge.reference, Pledge.psc_rate_bp, Donor.code,
               cash.c.cash, Allocation.pledge_id, Pledge.donor_id)
        .join(Pledge, Pledge.id == Allocation.pledge_id)
        .join(Donor, Donor.id == Pledge.donor_id)
        .join(cash, cash.c.allocation_id == Allocation.id)
        .where(cash.c.cash > 0, Allocation.pledge_id.not_in(closed_pledges_statement()))
        .order_by(stages.signed_on(), Pledge.reference)
    )
    return statement.where(Allocation.pledge_id == bindparam("pledge_id")) if of_one_pledge else statement


def _holding_cash(uow, pledge_id: int | None) -> list[tuple]:
    """Every allocation (of the pledge, when given) holding cash now, oldest pledge first."""
    of_one_pledge = pledge_id is not None
    rows = uow.rows(_holding_cash_statement(of_one_pledge), {"pledge_id": pledge_id} if of_one_pledge else None).all()
    # Cached until cash comes in (balances.note_posted drops the lists): spending only lowers
    # cash, and an allocation whose cash is spent is skipped as it would fund nothing.
    totals = uow.lookups.cash_totals
    owners = uow.lookups.owners
    for row in rows:
        totals[row[0]] = int(row[5])
        owners[row[0]] = (row[6], row[7])
    return [row[:5] for row in rows]


def _activity(uow, code: str) -> Activity:
    cached = uow.lookups.activities
    activity = cached.get(code)
    if activity is None:
        activity = cached[code] = activity_by_code(uow, code)
    return activity


CLOSED_STATUSES = ("completed", "cancelled")  # an activity in these takes no new disbursement


def check_budget(uow, activity: Activity, usd_cents: int) -> None:
    """Budget control: spending on an activity (every funding split on it, whatever its date,
    reversals netted) never goes above its budget."""
    spent = spent_on(uow, activity.id)
    excess = spent + usd_cents - activity.budget_cents
    if excess > 0:
        usd = lambda cents: f"USD {format_amount(cents, 'USD')}"  # noqa: E731
        raise LedgerError(Problem(
            "amount", f"over the budget of activity {activity.code}: budget {usd(activity.budget_cents)}, spent "
                      f"{usd(spent)}, this disbursement {usd(usd_cents)}, excess {usd(excess)}",
        ))


def plan_funding(uow, data: DisbursementIn) -> FundingPlan:
    """Validate a disbursement against the ledger and work out which allocations pay it."""
    activity: Activity = _activity(uow, data.activity)
    if activity.status in CLOSED_STATUSES:
        raise LedgerError(Problem("activity", f"activity {activity.code} is {activity.status}: it takes no new "
                                              "disbursement (reopen it as ongoing first)"))
    check_date(uow, "disbursed_on", data.disbursed_on)
    numbers = uow.lookups.paragraph_numbers  # never change
    paragraph = numbers.get(activity.paragraph_id)
    if paragraph is None:
        paragraph = numbers[activity.paragraph_id] = uow.session.get(Paragraph, activity.paragraph_id).number
    pledge_id = None
    if data.pledge is not None:
        pledge_id = uow.rows(select(Pledge.id).where(Pledge.reference == data.pledge, unreversed(Pledge.entry_id))).scalar()
        if pledge_id is None:
            raise NotFound(Problem("pledge", f"no pledge with reference {data.pledge!r}"))
        check_not_closed(uow, pledge_id, data.pledge)
        stages.check_signed(uow, pledge_id, data.disbursed_on, "disbursed_on")
        has_allocation = uow.rows(
            select(Allocation.id).where(
                Allocation.pledge_id == pledge_id,
                (Allocation.paragraph_id == activity.paragraph_id) | Allocation.paragraph_id.is_(None),
            )
        ).first()
        if not has_allocation:
            raise LedgerError(Problem(
                "pledge", f"pledge {data.pledge} funds neither paragraph {paragraph} nor unearmarked work"
            ))
    minor = to_minor(data.amount, data.currency)
    rate = rate_book(uow).of_month(data.currency, data.disbursed_on, "disbursed_on")
    usd = to_usd_cents(minor, data.currency, rate)
    if usd <= 0:
        raise LedgerError(Problem("amount", f"{data.currency} {data.amount} is worth less than one US cent"))
    check_budget(uow, activity, usd)
    needed = usd
    picked: list[tuple] = []
    totals = uow.lookups.cash_totals
    for allocation_id, allocation_paragraph, reference, psc_bp, donor in _candidates(uow, activity.paragraph_id, pledge_id):
        if needed == 0:
            break
        if totals.get(allocation_id, 1) <= 0:
            continue  # no cash left at all: available cash (at most the final balance) is none
        available = available_cash(cash_movements(uow, allocation_id), data.disbursed_on)
        x = min(fundable(available, psc_bp), needed)
        if x > 0:
            picked.append((allocation_id, allocation_paragraph, reference, psc_bp, donor, x))
            needed -= x
    original = (
        [p[-1] for p in picked] if data.currency == "USD" or not picked
        else largest_remainder(minor, [p[-1] for p in picked])
    )
    splits = [
        FundingSplit(aid, ref, donor, None if para is None else paragraph, x, psc_of(x, bp), bp, amount)
        for (aid, para, ref, bp, donor, x), amount in zip(picked, original, strict=True)
    ]
    return FundingPlan(activity.code, paragraph, data.currency, minor, usd, splits, rate)


def disburse(uow, data: DisbursementIn, corrects: int | None = None) -> Posted:
    claim_reference(uow, "disbursement", Disbursement, data.reference, corrects)
    plan = plan_funding(uow, data)
    if plan.shortfall_cents > 0:
        raise plan.refusal()
    activity = _activity(uow, data.activity)
    disbursement_id = uow.next_id(Disbursement)
    lines: list[journal.Line] = []
    owners = uow.lookups.owners
    if not all(s.allocation_id in owners for s in plan.splits):
        pledges = dict(uow.rows(select(Allocation.id, Allocation.pledge_id).where(
            Allocation.id.in_([s.allocation_id for s in plan.splits]))).all())
        donors = dict(uow.rows(select(Pledge.id, Pledge.donor_id).where(Pledge.id.in_(set(pledges.values())))).all())
        owners = {aid: (pid, donors[pid]) for aid, pid in pledges.items()}
    for split in plan.splits:
        pledge_id, donor_id = owners[split.allocation_id]
        tags = {"donor_id": donor_id, "pledge_id": pledge_id, "allocation_id": split.allocation_id,
                "paragraph_id": activity.paragraph_id, "activity_id": activity.id, "disbursement_id": disbursement_id}
        lines.append(journal.Line(journal.EXPENDITURE, journal.SPEND, data.currency, split.amount_minor, split.usd_cents, **tags))
        lines.append(journal.Line(journal.CASH, journal.SPEND, data.currency, -split.amount_minor, -split.usd_cents, **tags))
        if split.psc_cents:
            lines.append(journal.Line(journal.PSC, journal.PSC_FLOW, "USD", split.psc_cents, split.psc_cents, **tags))
            lines.append(journal.Line(journal.CASH, journal.PSC_FLOW, "USD", -split.psc_cents, -split.psc_cents, **tags))
    # read before posting: a read flushes the buffer, and the lines must not reach the
    # database before the disbursement row they refer to
    pledge_id = uow.rows(select(Pledge.id).where(Pledge.reference == data.pledge, unreversed(Pledge.entry_id))).scalar() if data.pledge else None
    entry_id = uow.post(journal.EntryDraft(
        "disbursement", data.disbursed_on, data.reference, f"disbursement for {activity.code}", lines, corrects_id=corrects
    ))
    uow.add(Disbursement, {
        "id": disbursement_id, "reference": data.reference, "activity_id": activity.id,
        "disbursed_on": data.disbursed_on, "currency": data.currency, "amount_minor": plan.amount_minor,
        "usd_cents": plan.usd_cents, "payee": data.payee, "description": data.description, "pledge_id": pledge_id,
        "rate_micros": plan.rate_micros, "entry_id": entry_id,
    })
    return Posted(entry_id, data.reference, plan.usd_cents, f"PSC USD {format_amount(plan.psc_cents, 'USD')}")


def stored_disbursement(uow, entry_id: int) -> DisbursementIn:
    """The disbursement posted by entry ``entry_id`` as the input that made it."""
    disbursement, activity = uow.rows(
        select(Disbursement, Activity.code).join(Activity, Activity.id == Disbursement.activity_id)
        .where(Disbursement.entry_id == entry_id)
    ).one()
    pledge = uow.session.get(Pledge, disbursement.pledge_id).reference if disbursement.pledge_id else None
    return DisbursementIn(
        reference=disbursement.reference, activity=activity, disbursed_on=disbursement.disbursed_on,
        amount=from_minor(disbursement.amount_minor, disbursement.currency), currency=disbursement.currency,
        pledge=pledge, payee=disbursement.payee, description=disbursement.description,
    )
