"""Refunds of unspent cash to the donor (docs/rules.md#refunds): from one named allocation, or
split over the pledge's allocations pro rata to their available cash on the refund date."""

from __future__ import annotations

from sqlalchemy import select

from . import figures, journal, stages
from .balances import available_cash, cash_movements
from .closing import check_not_closed
from .errors import LedgerError, Problem
from .events import Posted, check_date, minor_amount
from .inputs import RefundIn
from .money import format_amount, from_minor, largest_remainder, to_usd_cents
from .pledges import allocations_of, pledge_by_reference
from .rates import rate_book
from .receipts import usd_given
from .schema import Allocation, JournalLine, Paragraph, Pledge, Refund


def _named(number: int | None, reference: str) -> str:
    where = "the unearmarked allocation" if number is None else f"the ¶{number} allocation"
    return f"{where} of pledge {reference}"


def net_pledged(uow, allocation_ids: list[int]) -> dict[int, int]:
    """Each allocation's net pledged USD counting every posted entry (``figures.PLEDGED_USD``)."""
    rows = uow.rows(select(JournalLine.allocation_id, figures.PLEDGED_USD.alone())
                    .where(JournalLine.allocation_id.in_(allocation_ids), figures.PLEDGED_USD.condition())
                    .group_by(JournalLine.allocation_id))
    found = dict(rows.all())
    return {aid: int(found.get(aid, 0)) for aid in allocation_ids}


def refund(uow, data: RefundIn, corrects: int | None = None) -> Posted:
    """Post the refund; ``corrects``: the reversed entry this one corrects (ledger/corrections.py)."""
    pledge = pledge_by_reference(uow, data.pledge)
    day = data.refunded_on
    check_date(uow, "refunded_on", day, pledge.pledged_on, f"the pledge date of {pledge.reference}")
    check_not_closed(uow, pledge.id, pledge.reference)
    stages.check_signed(uow, pledge.id, day, "refunded_on")
    currency = pledge.currency
    minor = minor_amount(data.amount, currency)
    rate = rate_book(uow).of_month(currency, day, "refunded_on")
    if data.usd_amount is not None:
        usd = usd_given(uow, pledge, minor, data.usd_amount, rate, day)
    else:
        usd = to_usd_cents(minor, currency, rate)
    if usd == 0:  # nothing to split or pay back in USD
        raise LedgerError(Problem("amount", f"a refund of {currency} {format_amount(minor, currency)} is worth less "
                                            "than one US cent"))
    allocations = allocations_of(uow, pledge.id)
    named = data.paragraph is not None or data.unearmarked
    if named:
        wanted = None if data.unearmarked else data.paragraph
        allocations = [(a, n) for a, n in allocations if n == wanted]
        if not allocations:
            where = "unearmarked allocation" if wanted is None else f"allocation to paragraph {wanted}"
            raise LedgerError(Problem("paragraph", f"pledge {pledge.reference} has no {where}"))
    available = [max(available_cash(cash_movements(uow, a.id), day), 0) for a, _ in allocations]
    if not named and usd > sum(available):
        raise LedgerError(Problem("amount", (
            f"refund of USD {format_amount(usd, 'USD')} exceeds the USD {format_amount(sum(available), 'USD')} "
            f"available on pledge {pledge.reference} on {day.isoformat()}")))
    usd_shares = [usd] if named else largest_remainder(usd, available)
    shares = [minor] if named else largest_remainder(minor, usd_shares)  # for the record
    pledged = net_pledged(uow, [a.id for a, _ in allocations])
    lines: list[journal.Line] = []
    for (allocation, number), cash, usd_share, share in zip(allocations, available, usd_shares, shares, strict=True):
        if usd_share > cash:
            raise LedgerError(Problem("amount", (
                f"refund of USD {format_amount(usd_share, 'USD')} from {_named(number, pledge.reference)} exceeds "
                f"the USD {format_amount(cash, 'USD')} of cash it holds from {day.isoformat()} on")))
        if usd_share > pledged[allocation.id]:
            raise LedgerError(Problem("amount", (
                f"refund of USD {format_amount(usd_share, 'USD')} from {_named(number, pledge.reference)} exceeds "
                f"its USD {format_amount(pledged[allocation.id], 'USD')} net pledged (a refund never makes revenue "
                "negative)")))
        if usd_share == 0 and share == 0:
            continue
        tags = {"donor_id": pledge.donor_id, "pledge_id": pledge.id, "allocation_id": allocation.id,
                "paragraph_id": allocation.paragraph_id}
        lines.append(journal.Line(journal.REVENUE, journal.REFUND, currency, share, usd_share, **tags))
        lines.append(journal.Line(journal.CASH, journal.REFUND, currency, -share, -usd_share, **tags))
    entry_id = uow.post(journal.EntryDraft("refund", day, pledge.reference, f"refund: {data.reason}", lines,
                                           corrects_id=corrects))
    uow.add(Refund, {
        "id": uow.next_id(Refund), "pledge_id": pledge.id, "allocation_id": allocations[0][0].id if named else None,
        "refunded_on": day, "amount_minor": minor, "usd_cents": usd, "usd_given": data.usd_amount is not None,
        "rate_micros": rate, "reason": data.reason, "entry_id": entry_id,
    })
    return Posted(entry_id, pledge.reference, usd)


def stored_refund(uow, entry_id: int) -> RefundIn:
    """The refund posted by entry ``entry_id`` as the input that made it (a correction's content)."""
    row, reference, currency, named, number = uow.rows(
        select(Refund, Pledge.reference, Pledge.currency, Allocation.id, Paragraph.number)
        .join(Pledge, Pledge.id == Refund.pledge_id)
        .outerjoin(Allocation, Allocation.id == Refund.allocation_id)
        .outerjoin(Paragraph, Paragraph.id == Allocation.paragraph_id)
        .where(Refund.entry_id == entry_id)
    ).one()
    return RefundIn(pledge=reference, amount=from_minor(row.amount_minor, currency),
                    usd_amount=from_minor(row.usd_cents, "USD") if row.usd_given else None,
                    refunded_on=row.refunded_on, reason=row.reason, paragraph=number,
                    unearmarked=named is not None and number is None)
