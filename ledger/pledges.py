"""Pledges with their allocations, and cancellations (write-offs) of what is outstanding."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from . import journal, settings, stages
from .balances import AllocationBalance, allocation_balances
from .closing import check_not_closed
from .errors import LedgerError, NotFound, Problem
from .events import Posted, check_date, claim_reference, minor_amount, reference_holders, unreversed
from .inputs import AllocationIn, CancellationIn, PledgeIn
from .money import format_amount, from_minor, largest_remainder, to_minor, to_usd_cents
from .paragraphs import paragraph_id
from .rates import rate_book
from .reconcile import pledge_memo
from .schema import Allocation, Cancellation, Donor, Paragraph, Pledge

# Pledges and allocations are read as plain rows (attributes named as the columns), not ORM
# objects: they are never changed, and an import of receipts reads tens of thousands of them
# (``rate_micros``: the pledge's rate, its signing's once an announced pledge is signed; ``stage``,
# ``signed_on``, ``withdrawn_on``: ledger/stages.py)
PLEDGE_COLUMNS = (Pledge.id, Pledge.reference, Pledge.donor_id, Pledge.pledged_on, Pledge.currency, Pledge.psc_rate_bp,
                  *stages.columns())
ALLOCATION_COLUMNS = (*Allocation.__table__.c, Paragraph.number)
# allocations in paragraph order, unearmarked last (one added by a reallocation has the next position)
PARAGRAPH_ORDER = (Paragraph.number.is_(None), Paragraph.number)
# statements of every act, built once (docs/architecture.md "Statements built once")
_PLEDGE_BY_REFERENCE = select(*PLEDGE_COLUMNS).where(Pledge.reference == bindparam("reference"), unreversed(Pledge.entry_id))
_ALLOCATION_ROWS = (select(*ALLOCATION_COLUMNS)
                    .outerjoin(Paragraph, Paragraph.id == Allocation.paragraph_id)
                    .where(Allocation.pledge_id.in_(bindparam("pledge_ids", expanding=True)))
                    .order_by(Allocation.pledge_id, *PARAGRAPH_ORDER))


def pledge_by_reference(uow, reference: str, field: str = "pledge"):
    """The row (``.id``, ``.currency``, ``.rate_micros``, ...) of the live (unreversed) pledge
    under ``reference``."""
    pledge = uow.lookups.pledges.get(reference)
    if pledge is not None:  # read by prefetch_pledges, which noted its stage
        return pledge
    pledge = uow.rows(_PLEDGE_BY_REFERENCE, {"reference": reference}).one_or_none()
    if pledge is None:
        raise NotFound(Problem(field, f"no pledge with reference {reference!r}" + _reversed_note(uow, reference)))
    stages.note(uow, pledge)
    return pledge


def _reversed_note(uow, reference: str) -> str:
    holders = reference_holders(uow, Pledge, reference)
    return f" (entry {holders[-1].entry_id} posted it, reversed by entry {holders[-1].reversed_by})" if holders else ""


def _allocation_rows(uow, pledge_ids):
    return uow.rows(_ALLOCATION_ROWS, {"pledge_ids": list(pledge_ids)})


def allocations_of(uow, pledge_id: int) -> list[tuple]:
    """The pledge's allocation rows in paragraph order, unearmarked last, with paragraph numbers."""
    cached = uow.lookups.allocations
    if pledge_id in cached:
        return cached[pledge_id]
    return [(allocation, allocation.number) for allocation in _allocation_rows(uow, [pledge_id])]


def prefetch_pledges(uow, references) -> None:
    """Batch look-up of pledges, their allocations and balances (a few queries for many rows)."""
    wanted = set(references) - set(uow.lookups.pledges)
    if not wanted:
        return
    found = uow.rows(select(*PLEDGE_COLUMNS).where(Pledge.reference.in_(wanted), unreversed(Pledge.entry_id))).all()
    uow.lookups.pledges.update((p.reference, p) for p in found)
    for pledge in found:
        stages.note(uow, pledge)
    if not found:
        return
    by_pledge: dict[int, list] = {p.id: [] for p in found}
    for allocation in _allocation_rows(uow, list(by_pledge)):
        by_pledge[allocation.pledge_id].append((allocation, allocation.number))
    uow.lookups.allocations.update(by_pledge)
    allocation_balances(uow, [a.id for allocations in by_pledge.values() for a, _ in allocations])


def donor_id(uow, code: str) -> int | None:
    ids = uow.lookups.donor_ids
    found = ids.get(code)
    if found is None:
        found = uow.rows(select(Donor.id).where(Donor.code == code)).scalar()
        if found is not None:
            ids[code] = found
    return found


def require_donor(uow, code: str, field: str = "donor") -> int:
    """The donor's id; NotFound when no donor has ``code``."""
    found = donor_id(uow, code)
    if found is None:
        raise NotFound(Problem(field, f"no donor with code {code!r}; add the donor first"))
    return found


def record_pledge(uow, data: PledgeIn, corrects: int | None = None) -> Posted:
    """Post the pledge: its receivable and revenue at the rate of its date, or, for a pledge posted
    as an announcement (ledger/stages.py), memorandum lines at that rate (the signing, if any, is
    ``ledger/signing.py``'s)."""
    check_date(uow, "pledged_on", data.pledged_on)
    announcement = stages.posted_as_announcement(data.stage, data.pledged_on, data.signed_on)
    donor = require_donor(uow, data.donor)
    claim_reference(uow, "pledge", Pledge, data.reference, corrects)
    rate = rate_book(uow).of_month(data.currency, data.pledged_on)
    pledge_id = uow.next_id(Pledge)
    lines: list[journal.Line] = []
    allocations = []
    for position, allocation in enumerate(data.allocations, start=1):
        para = None if allocation.paragraph is None else paragraph_id(uow, allocation.paragraph)
        minor = to_minor(allocation.amount, data.currency)
        usd = to_usd_cents(minor, data.currency, rate)
        allocation_id = uow.next_id(Allocation)
        allocations.append({
            "id": allocation_id, "pledge_id": pledge_id, "position": position, "paragraph_id": para,
            "amount_minor": minor, "pledged_cents": usd,
        })
        tags = {"donor_id": donor, "pledge_id": pledge_id, "allocation_id": allocation_id, "paragraph_id": para}
        lines += (memo_lines if announcement else pledge_lines)(data.currency, minor, usd, tags)
    psc_bp = settings.psc_rate_bp(uow, data)
    memo = pledge_memo(data.donor, psc_bp, data.due_on)
    entry_id = uow.post(journal.EntryDraft("pledge", data.pledged_on, data.reference,
                                           "announcement: " + memo if announcement else memo, lines, corrects_id=corrects))
    uow.add(Pledge, {
        "id": pledge_id, "reference": data.reference, "donor_id": donor, "pledged_on": data.pledged_on,
        "currency": data.currency, "rate_micros": rate, "psc_rate_bp": psc_bp, "due_on": data.due_on,
        "notes": data.notes, "entry_id": entry_id,
        # a pledge signed on its date stores neither (NULL, like those recorded before migration 0011)
        "stage": data.stage if announcement else None, "signed_on": data.signed_on if announcement else None,
    })
    for row in allocations:
        uow.add(Allocation, row)
    return Posted(entry_id, data.reference, sum(a["pledged_cents"] for a in allocations))


def pledge_lines(currency: str, minor: int, usd: int, tags: dict) -> list[journal.Line]:
    """A signed allocation: Dr receivable / Cr revenue."""
    return [journal.Line(journal.RECEIVABLE, journal.PLEDGE, currency, minor, usd, **tags),
            journal.Line(journal.REVENUE, journal.PLEDGE, currency, -minor, -usd, **tags)]


def memo_lines(currency: str, minor: int, usd: int, tags: dict) -> list[journal.Line]:
    """An announced allocation: Dr pledges announced / Cr its contra (memorandum; negated: cleared)."""
    return [journal.Line(journal.MEMO_ANNOUNCED, journal.ANNOUNCE, currency, minor, usd, **tags),
            journal.Line(journal.MEMO_CONTRA, journal.ANNOUNCE, currency, -minor, -usd, **tags)]


def stored_pledge(uow, entry_id: int) -> PledgeIn:
    """The pledge posted by entry ``entry_id`` as the input that made it (as first recorded)."""
    pledge = uow.rows(select(Pledge).where(Pledge.entry_id == entry_id)).scalar_one()
    donor = uow.session.get(Donor, pledge.donor_id).code
    allocations = [
        AllocationIn(paragraph=number, amount=from_minor(a.amount_minor, pledge.currency))
        for a, number in allocations_of(uow, pledge.id) if a.entry_id is None  # not those added by reallocations
    ]
    from decimal import Decimal

    return PledgeIn(
        reference=pledge.reference, donor=donor, pledged_on=pledge.pledged_on, currency=pledge.currency,
        allocations=allocations, psc_rate=Decimal(pledge.psc_rate_bp) / 100, due_on=pledge.due_on, notes=pledge.notes,
        stage=pledge.stage or stages.SIGNED, signed_on=pledge.signed_on,
    )


def carrying_move(pledge, balance: AllocationBalance, minor: int) -> int:
    """The USD by which settling ``minor`` of an allocation moves its carrying value: from what its
    receivable lines hold to round_half_up(outstanding after / the pledge's rate, 2)."""
    return balance.receivable_cents - to_usd_cents(balance.outstanding_minor - minor, pledge.currency, pledge.rate_micros)


def settlement_lines(
    flow: str, pledge, allocation, balance: AllocationBalance, minor: int, usd: int, account: str,
    tags: dict,
) -> list[journal.Line]:
    """Lines that settle ``minor`` of an allocation's receivable: the debit (cash for a receipt,
    revenue for a cancellation) at ``usd``, the receivable at its carrying value, and the
    exchange difference between the two."""
    currency = pledge.currency
    cleared = carrying_move(pledge, balance, minor)
    lines = [
        journal.Line(account, flow, currency, minor, usd, **tags),
        journal.Line(journal.RECEIVABLE, flow, currency, -minor, -cleared, **tags),
    ]
    if cleared != usd:
        lines.append(journal.Line(journal.FX, journal.FX_FLOW, currency, 0, cleared - usd, **tags))
    return lines


def stored_cancellation(uow, entry_id: int) -> CancellationIn:
    """The cancellation posted by entry ``entry_id`` as the input that made it."""
    cancellation, reference, currency = uow.rows(
        select(Cancellation, Pledge.reference, Pledge.currency).join(Pledge, Pledge.id == Cancellation.pledge_id)
        .where(Cancellation.entry_id == entry_id)
    ).one()
    paragraph = None
    if cancellation.allocation_id is not None:
        paragraph = uow.rows(select(Paragraph.number).select_from(Allocation)
                             .outerjoin(Paragraph, Paragraph.id == Allocation.paragraph_id)
                             .where(Allocation.id == cancellation.allocation_id)).scalar()
    return CancellationIn(
        pledge=reference, amount=from_minor(cancellation.amount_minor, currency), cancelled_on=cancellation.cancelled_on,
        reason=cancellation.reason, paragraph=paragraph,
        unearmarked=cancellation.allocation_id is not None and paragraph is None,
    )


def cancel_pledge(uow, data: CancellationIn, corrects: int | None = None) -> Posted:
    pledge = pledge_by_reference(uow, data.pledge)
    check_date(uow, "cancelled_on", data.cancelled_on, pledge.pledged_on, f"the pledge date of {pledge.reference}")
    check_not_closed(uow, pledge.id, pledge.reference)
    stages.check_signed(uow, pledge.id, data.cancelled_on, "cancelled_on")
    minor = minor_amount(data.amount, pledge.currency)
    allocations = allocations_of(uow, pledge.id)
    if data.paragraph is not None or data.unearmarked:
        wanted = None if data.unearmarked else data.paragraph
        allocations = [(a, n) for a, n in allocations if n == wanted]
        if not allocations:
            where = "unearmarked allocation" if wanted is None else f"allocation to paragraph {wanted}"
            raise LedgerError(Problem("paragraph", f"pledge {pledge.reference} has no {where}"))
    balances = allocation_balances(uow, [a.id for a, _ in allocations])
    outstanding = [balances[a.id].outstanding_minor for a, _ in allocations]
    total = sum(outstanding)
    if minor > total:
        where = f"pledge {pledge.reference}"
        if data.paragraph is not None or data.unearmarked:
            where = ("the unearmarked allocation" if data.unearmarked else f"paragraph {data.paragraph}") + f" of {where}"
        raise LedgerError(Problem(
            "amount",
            f"cannot cancel {pledge.currency} {format_amount(minor, pledge.currency)}: only "
            f"{pledge.currency} {format_amount(total, pledge.currency)} is outstanding on {where}",
        ))
    shares = largest_remainder(minor, outstanding)
    lines: list[journal.Line] = []
    usd_total = 0
    for (allocation, _), balance, share in zip(allocations, [balances[a.id] for a, _ in allocations], shares, strict=True):
        if share == 0:
            continue
        usd = carrying_move(pledge, balance, share)  # exactly the move: no exchange difference
        usd_total += usd
        tags = {"donor_id": pledge.donor_id, "pledge_id": pledge.id, "allocation_id": allocation.id,
                "paragraph_id": allocation.paragraph_id}
        lines += settlement_lines(journal.CANCEL, pledge, allocation, balance, share, usd, journal.REVENUE, tags)
    entry_id = uow.post(journal.EntryDraft("cancellation", data.cancelled_on, pledge.reference, f"cancellation: {data.reason}", lines,
                                           corrects_id=corrects))
    uow.add(Cancellation, {
        "id": uow.next_id(Cancellation), "pledge_id": pledge.id,
        "allocation_id": allocations[0][0].id if len(allocations) == 1 and (data.paragraph or data.unearmarked) else None,
        "cancelled_on": data.cancelled_on, "amount_minor": minor, "reason": data.reason, "entry_id": entry_id,
    })
    return Posted(entry_id, pledge.reference, usd_total)
