"""Receipts: cash received against a pledge, split pro rata over its allocations."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from . import journal, stages
from .balances import allocation_balances
from .closing import check_not_closed
from .errors import LedgerError, Problem
from .events import Posted, check_date, claim_reference, minor_amount
from .inputs import ReceiptIn
from .money import format_amount, from_minor, largest_remainder, to_minor, to_usd_cents
from .pledges import allocations_of, carrying_move, pledge_by_reference, settlement_lines
from .rates import rate_book, rate_text
from .schema import Pledge, Receipt
from .settings import value


def record_receipt(uow, data: ReceiptIn, corrects: int | None = None) -> Posted:
    pledge = pledge_by_reference(uow, data.pledge)
    check_date(uow, "received_on", data.received_on, pledge.pledged_on, f"the pledge date of {pledge.reference}")
    check_not_closed(uow, pledge.id, pledge.reference)
    stages.check_signed(uow, pledge.id, data.received_on, "received_on")
    claim_reference(uow, "receipt", Receipt, data.reference, corrects)
    minor = minor_amount(data.amount, pledge.currency)
    allocations = [a for a, _ in allocations_of(uow, pledge.id)]
    balances = allocation_balances(uow, [a.id for a in allocations])
    outstanding = [balances[a.id].outstanding_minor for a in allocations]
    total = sum(outstanding)
    if minor > total:
        raise LedgerError(Problem(
            "amount",
            f"receipt of {pledge.currency} {format_amount(minor, pledge.currency)} exceeds the "
            f"{pledge.currency} {format_amount(total, pledge.currency)} outstanding on pledge {pledge.reference}",
        ))
    rate = rate_book(uow).of_month(pledge.currency, data.received_on, "received_on")
    shares = largest_remainder(minor, outstanding)
    if data.usd_amount is not None:
        usd = usd_given(uow, pledge, minor, data.usd_amount, rate, data.received_on)
        usd_shares = largest_remainder(usd, shares)
    elif rate == pledge.rate_micros:
        # the pledge's own rate: each share's USD is the carrying value it clears (no exchange difference)
        usd_shares = [carrying_move(pledge, balances[a.id], share) for a, share in zip(allocations, shares, strict=True)]
        usd = sum(usd_shares)
    else:
        usd = to_usd_cents(minor, pledge.currency, rate)
        usd_shares = largest_remainder(usd, shares)
    lines: list[journal.Line] = []
    for allocation, share, usd_share in zip(allocations, shares, usd_shares, strict=True):
        if share == 0 and usd_share == 0:
            continue
        tags = {"donor_id": pledge.donor_id, "pledge_id": pledge.id, "allocation_id": allocation.id,
                "paragraph_id": allocation.paragraph_id}
        lines += settlement_lines(journal.RECEIPT, pledge, allocation, balances[allocation.id], share, usd_share,
                                  journal.CASH, tags)
    entry_id = uow.post(journal.EntryDraft("receipt", data.received_on, data.reference, f"receipt on pledge {pledge.reference}", lines,
                                           corrects_id=corrects))
    uow.add(Receipt, {
        "id": uow.next_id(Receipt), "reference": data.reference, "pledge_id": pledge.id, "received_on": data.received_on,
        "amount_minor": minor, "usd_cents": usd, "usd_given": data.usd_amount is not None,
        "bank_reference": data.bank_reference, "rate_micros": rate, "entry_id": entry_id,
    })
    return Posted(entry_id, data.reference, usd)


def usd_given(uow, pledge, minor: int, given: Decimal, rate: int, day) -> int:
    """The USD given with a receipt or a refund (what the bank credited or paid), in cents: on a USD
    pledge exactly the amount; otherwise within the tolerance (``check_usd_tolerance``)."""
    usd = to_minor(given, "USD")
    if pledge.currency == "USD" and usd != minor:
        raise LedgerError(Problem(
            "usd_amount",
            f"pledge {pledge.reference} is in USD: the USD credited is the amount received "
            f"(USD {format_amount(minor, 'USD')}), not USD {format_amount(usd, 'USD')}; leave usd_amount empty",
        ))
    check_usd_tolerance(uow, usd, minor, pledge.currency, rate, day)
    return usd


def check_usd_tolerance(uow, usd: int, minor: int, currency: str, rate: int, day) -> None:
    """A given usd_amount may be at most usd_tolerance_pct (a ledger setting) away from the amount
    converted at the receipt date's rate."""
    converted = to_usd_cents(minor, currency, rate)
    tolerance = Decimal(value(uow, "usd_tolerance_pct"))
    if abs(usd - converted) * 100 > tolerance * converted:
        raise LedgerError(Problem(
            "usd_amount",
            f"USD {format_amount(usd, 'USD')} credited is more than {tolerance}% away from USD "
            f"{format_amount(converted, 'USD')}, the {currency} {format_amount(minor, currency)} converted at the "
            f"rate of {day.isoformat()} ({rate_text(rate)}); check the USD credited",
        ))


def stored_receipt(uow, entry_id: int) -> ReceiptIn:
    """The receipt posted by entry ``entry_id`` as the input that made it."""
    receipt, pledge, currency = uow.rows(
        select(Receipt, Pledge.reference, Pledge.currency).join(Pledge, Pledge.id == Receipt.pledge_id)
        .where(Receipt.entry_id == entry_id)
    ).one()
    return ReceiptIn(
        reference=receipt.reference, pledge=pledge, received_on=receipt.received_on,
        amount=from_minor(receipt.amount_minor, currency),
        usd_amount=from_minor(receipt.usd_cents, "USD") if receipt.usd_given else None,
        bank_reference=receipt.bank_reference,
    )
