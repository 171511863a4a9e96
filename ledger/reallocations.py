"""Reallocation (re-earmarking with the donor's consent, docs/rules.md#reallocations): X of what is
still to be received moves from one allocation of a signed pledge to another of the same pledge."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from . import journal, stages
from .balances import allocation_balances
from .closing import check_not_closed
from .errors import LedgerError, Problem
from .events import Posted, check_date, minor_amount
from .inputs import ReallocationIn, paragraph_label
from .money import format_amount, from_minor, to_usd_cents
from .paragraphs import paragraph_id
from .pledges import allocations_of, carrying_move, pledge_by_reference
from .schema import Allocation, Paragraph, Pledge, Reallocation


def _named(number: int | None) -> str:
    return "the unearmarked allocation" if number is None else f"paragraph {number}"


def reallocate(uow, data: ReallocationIn, corrects: int | None = None) -> Posted:
    """Post the reallocation: the source's receivable and revenue fall by its carrying move, the
    target's rise by its own (an allocation is created for a paragraph the pledge has none for).
    The two moves may differ by a cent: ``Posted.detail`` says so. ``corrects``: the reversed entry
    this one corrects (ledger/corrections.py)."""
    pledge = pledge_by_reference(uow, data.pledge)
    day = data.reallocated_on
    check_date(uow, "reallocated_on", day, pledge.pledged_on, f"the pledge date of {pledge.reference}")
    check_not_closed(uow, pledge.id, pledge.reference)
    stages.check_signed(uow, pledge.id, day, "reallocated_on")
    minor = minor_amount(data.amount, pledge.currency)
    allocations = {number: allocation for allocation, number in allocations_of(uow, pledge.id)}
    source = allocations.get(data.source)
    if source is None:
        raise LedgerError(Problem("source", f"pledge {pledge.reference} has no {paragraph_label(data.source)} allocation"))
    target = allocations.get(data.target)
    target_para = None if data.target is None else paragraph_id(uow, data.target, "target")
    balances = allocation_balances(uow, [source.id] + ([target.id] if target is not None else []))
    before = balances[source.id]
    currency = pledge.currency
    if minor > before.outstanding_minor:
        raise LedgerError(Problem("amount", (
            f"cannot reallocate {currency} {format_amount(minor, currency)}: only {currency} "
            f"{format_amount(before.outstanding_minor, currency)} is outstanding on {_named(data.source)} "
            f"of pledge {pledge.reference}")))
    moved_out = carrying_move(pledge, before, minor)
    if target is None:  # read before posting: a read writes what is buffered, and the lines need the row first
        position = uow.scalar(select(func.max(Allocation.position)).where(Allocation.pledge_id == pledge.id)) + 1
        target_id, target_receivable, target_outstanding = uow.next_id(Allocation), 0, 0
    else:
        target_id = target.id
        target_receivable, target_outstanding = balances[target.id].receivable_cents, balances[target.id].outstanding_minor
    moved_in = to_usd_cents(target_outstanding + minor, currency, pledge.rate_micros) - target_receivable
    tags = {"donor_id": pledge.donor_id, "pledge_id": pledge.id}
    out_tags = {**tags, "allocation_id": source.id, "paragraph_id": source.paragraph_id}
    in_tags = {**tags, "allocation_id": target_id, "paragraph_id": target_para}
    flow = journal.REALLOCATE
    lines = [
        journal.Line(journal.REVENUE, flow, currency, minor, moved_out, **out_tags),
        journal.Line(journal.RECEIVABLE, flow, currency, -minor, -moved_out, **out_tags),
        journal.Line(journal.RECEIVABLE, flow, currency, minor, moved_in, **in_tags),
        journal.Line(journal.REVENUE, flow, currency, -minor, -moved_in, **in_tags),
    ]
    change = moved_in - moved_out
    memo = (f"reallocation of {currency} {format_amount(minor, currency)} from {paragraph_label(data.source)} to "
            f"{paragraph_label(data.target)} with the donor's consent: {data.consent}")
    entry_id = uow.post(journal.EntryDraft("reallocation", day, pledge.reference, memo, lines, corrects_id=corrects))
    if target is None:  # a posted row of this entry (its money is in the lines)
        row = {"id": target_id, "pledge_id": pledge.id, "position": position, "paragraph_id": target_para,
               "amount_minor": 0, "pledged_cents": 0, "entry_id": entry_id}
        uow.add(Allocation, row)
        if pledge.id in uow.lookups.allocations:
            uow.lookups.allocations.pop(pledge.id)  # read again, in paragraph order
    uow.add(Reallocation, {
        "id": uow.next_id(Reallocation), "pledge_id": pledge.id, "from_allocation_id": source.id,
        "to_allocation_id": target_id, "reallocated_on": day, "amount_minor": minor,
        "from_usd_cents": moved_out, "to_usd_cents": moved_in, "consent": data.consent, "entry_id": entry_id,
    })
    return Posted(entry_id, pledge.reference, moved_in, pledged_change_text(change))


def pledged_change_text(change_cents: int) -> str:
    """What a reallocation did to the pledge's pledged USD (the two roundings may move it a cent)."""
    if change_cents == 0:
        return "the pledge's pledged USD is unchanged"
    return (f"the roundings of the two carrying values {'raise' if change_cents > 0 else 'lower'} the pledge's pledged "
            f"USD by {format_amount(abs(change_cents), 'USD')}")


def stored_reallocation(uow, entry_id: int) -> ReallocationIn:
    """The reallocation posted by entry ``entry_id`` as the input that made it (a correction's content)."""
    source, target = aliased(Allocation), aliased(Allocation)
    source_paragraph, target_paragraph = aliased(Paragraph), aliased(Paragraph)
    row, reference, currency, source_number, target_number = uow.rows(
        select(Reallocation, Pledge.reference, Pledge.currency, source_paragraph.number, target_paragraph.number)
        .join(Pledge, Pledge.id == Reallocation.pledge_id)
        .join(source, source.id == Reallocation.from_allocation_id)
        .outerjoin(source_paragraph, source_paragraph.id == source.paragraph_id)
        .join(target, target.id == Reallocation.to_allocation_id)
        .outerjoin(target_paragraph, target_paragraph.id == target.paragraph_id)
        .where(Reallocation.entry_id == entry_id)
    ).one()
    named = ["unearmarked" if number is None else number for number in (source_number, target_number)]
    return ReallocationIn(pledge=reference, source=named[0], target=named[1], amount=from_minor(row.amount_minor, currency),
                          reallocated_on=row.reallocated_on, consent=row.consent)
