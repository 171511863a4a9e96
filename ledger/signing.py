"""The acts that change a pledge's stage (docs/rules.md#pledge-stages): recording a pledge in its
stage, signing an announced pledge and withdrawing one. What a stage is: ``ledger/stages.py``."""

from __future__ import annotations

from sqlalchemy import select

from . import figures, journal, stages
from .errors import LedgerError, Problem
from .events import Posted, check_date
from .inputs import PledgeIn, SigningIn, WithdrawalIn
from .money import to_usd_cents
from .pledges import allocations_of, memo_lines, pledge_by_reference, pledge_lines, record_pledge
from .rates import rate_book
from .schema import JournalLine, Pledge, Signing, Withdrawal


def record_staged_pledge(uow, data: PledgeIn, corrects: int | None = None) -> Posted:
    """Record a pledge in its stage: signed, announced, or signed after its pledge date (two
    entries: the announcement, then the signing)."""
    posted = record_pledge(uow, data, corrects)
    if data.stage == stages.SIGNED and data.signed_on > data.pledged_on:
        signed = sign_pledge(uow, SigningIn(pledge=data.reference, signed_on=data.signed_on), "signed_on")
        return Posted(signed.entry_id, data.reference, signed.usd_cents, f"announcement entry {posted.entry_id}")
    return posted


def _announced(uow, reference: str, doing: str):
    """The live pledge under ``reference`` if it is announced; else a refusal saying why it cannot be ``doing``."""
    pledge = pledge_by_reference(uow, reference)
    if pledge.stage == stages.SIGNED:
        instead = "cancel it instead (donor-ledger pledge cancel)" if doing == "withdrawn" else "it is signed once"
        raise LedgerError(Problem("pledge", f"pledge {reference} is signed (on {pledge.signed_on}): it cannot be "
                                            f"{doing}; {instead}"))
    if pledge.stage == stages.WITHDRAWN:
        raise LedgerError(Problem("pledge", f"pledge {reference} was withdrawn on {pledge.withdrawn_on}: it cannot "
                                            f"be {doing} (reverse the withdrawal first)"))
    return pledge


def _clear_memo(uow, pledge) -> list[journal.Line]:
    """Lines that clear what the pledge's allocations hold on the memorandum accounts."""
    held = dict((aid, (minor, usd)) for aid, minor, usd in uow.rows(
        select(JournalLine.allocation_id, figures.ANNOUNCED.alone(), figures.ANNOUNCED_USD.alone())
        .where(JournalLine.pledge_id == pledge.id, figures.ANNOUNCED.condition())
        .group_by(JournalLine.allocation_id)))
    lines: list[journal.Line] = []
    for allocation, _ in allocations_of(uow, pledge.id):
        minor, usd = (int(v) for v in held.get(allocation.id, (0, 0)))
        if minor or usd:
            tags = {"donor_id": pledge.donor_id, "pledge_id": pledge.id, "allocation_id": allocation.id,
                    "paragraph_id": allocation.paragraph_id}
            lines += [line.negated() for line in memo_lines(pledge.currency, minor, usd, tags)]
    return lines


def sign_pledge(uow, data: SigningIn, date_field: str = "signed_on", corrects: int | None = None) -> Posted:
    """Sign an announced pledge: its memorandum lines cleared, its receivable and revenue posted at
    the rate of the signing date (of that month), which becomes the pledge's rate."""
    pledge = _announced(uow, data.pledge, "signed")
    check_date(uow, date_field, data.signed_on, pledge.pledged_on, f"the announcement of pledge {pledge.reference}")
    rate = rate_book(uow).of_month(pledge.currency, data.signed_on, date_field)
    lines = _clear_memo(uow, pledge)
    usd_total = 0
    for allocation, _ in allocations_of(uow, pledge.id):
        usd = to_usd_cents(allocation.amount_minor, pledge.currency, rate)
        usd_total += usd
        tags = {"donor_id": pledge.donor_id, "pledge_id": pledge.id, "allocation_id": allocation.id,
                "paragraph_id": allocation.paragraph_id}
        lines += pledge_lines(pledge.currency, allocation.amount_minor, usd, tags)
    memo = f"signing of pledge {pledge.reference}" + (f": {data.agreement}" if data.agreement else "")
    entry_id = uow.post(journal.EntryDraft(stages.SIGNING, data.signed_on, pledge.reference, memo, lines,
                                           corrects_id=corrects))
    uow.add(Signing, {"id": uow.next_id(Signing), "pledge_id": pledge.id, "signed_on": data.signed_on,
                      "rate_micros": rate, "agreement": data.agreement, "entry_id": entry_id})
    stages.forget(uow, pledge)
    return Posted(entry_id, pledge.reference, usd_total)


def withdraw_pledge(uow, data: WithdrawalIn, corrects: int | None = None) -> Posted:
    """End an announced pledge: its memorandum lines cleared."""
    pledge = _announced(uow, data.pledge, "withdrawn")
    check_date(uow, "withdrawn_on", data.withdrawn_on, pledge.pledged_on, f"the announcement of pledge {pledge.reference}")
    lines = _clear_memo(uow, pledge)
    entry_id = uow.post(journal.EntryDraft(stages.WITHDRAWAL, data.withdrawn_on, pledge.reference,
                                           f"withdrawal of pledge {pledge.reference}: {data.reason}", lines,
                                           corrects_id=corrects))
    uow.add(Withdrawal, {"id": uow.next_id(Withdrawal), "pledge_id": pledge.id, "withdrawn_on": data.withdrawn_on,
                         "reason": data.reason, "entry_id": entry_id})
    stages.forget(uow, pledge)
    return Posted(entry_id, pledge.reference, sum(line.usd_cents for line in lines if line.usd_cents > 0))


def stored_signing(uow, entry_id: int) -> SigningIn:
    """The signing posted by entry ``entry_id`` as the input that made it (a correction's content)."""
    row, reference = uow.rows(select(Signing, Pledge.reference).join(Pledge, Pledge.id == Signing.pledge_id)
                              .where(Signing.entry_id == entry_id)).one()
    return SigningIn(pledge=reference, signed_on=row.signed_on, agreement=row.agreement)


def stored_withdrawal(uow, entry_id: int) -> WithdrawalIn:
    """The withdrawal posted by entry ``entry_id`` as the input that made it (a correction's content)."""
    row, reference = uow.rows(select(Withdrawal, Pledge.reference).join(Pledge, Pledge.id == Withdrawal.pledge_id)
                              .where(Withdrawal.entry_id == entry_id)).one()
    return WithdrawalIn(pledge=reference, withdrawn_on=row.withdrawn_on, reason=row.reason)
