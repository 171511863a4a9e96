"""The rows posted beside the journal, checked against it.

The hash chain protects journal entries and their lines. The reports also read the rows
posted with them: which paragraph an allocation funds, a pledge's PSC rate and exchange rate,
what a receipt or a disbursement was. Every such fact the journal also records must agree
with it, so that changing one of those rows (possible only around the append-only triggers)
cannot move money between paragraphs, or change what is programmable, without ``verify``
saying so:

- a pledge, receipt, cancellation or disbursement row names its entry, of its kind, with the
  same reference and date; its amounts (and USD) are the sums of that entry's lines;
- every line that names an allocation names that allocation's pledge and donor, and (for the
  pledge's own flows) its paragraph and currency;
- an allocation's amount and pledged USD are its pledge entry's receivable line (an announced
  pledge's: its memorandum line; one created by a reallocation holds 0 and is the target of that
  entry's reallocation);
- a signing, withdrawal, reallocation, refund, closing or instalment row names its entry, of its
  kind, with its pledge's reference and (but an instalment) its date; a signing's rate is the rate
  in force on its date and gives its receivable lines;
- a refund's amount and USD are the sums of its entry's revenue lines, on the allocation it names
  (if it names one); its rate is the rate in force on its date and gives its USD (unless given);
- a reallocation's amount and the carrying value each side moved are what its entry's lines
  moved on its source and target allocations (``figures.REALLOCATED``, ``figures.REALLOCATED_USD``);
- the instalments of a schedule add up to its pledge's amount (``figures.promised``);
- a pledge's exchange rate is the rate in force on its date and gives its allocations' USD;
- a pledge's PSC rate is the one its entry's memo records (entries posted since the memo
  records it) and gives the PSC charged on every funding split it paid;
- a receipt (unless its USD was given) and a disbursement still convert at the rate in force
  on their date to the USD they were posted at (so no rate was added or changed under them);
- a disbursement's currency is its lines'; spending lines carry their activity's paragraph.
Rates that no posted event uses (those valuing outstanding pledges at a later as-of date) are
protected by the append-only triggers only.

``first_disagreement`` returns the first problem found, naming the row, or None.

Most checks sum lines with their own ``func.sum`` on purpose: they compare one posted row with the
lines of its own entry (grouped by entry, and by what the lines concern), where every figure of
``ledger/figures.py`` sums an allocation's lines across entries as of a date. Where a figure's
definition is the very sum per entry and allocation (a reallocation's moves), it is used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace

from sqlalchemy import and_, exists, false, func, null, or_, select, text
from sqlalchemy.orm import Session, aliased

from . import figures, journal, recorded, stages
from .balances import psc_of
from .errors import LedgerError
from .money import to_usd_cents
from .rates import RateBook
from .schema import (
    Activity,
    Allocation,
    Cancellation,
    Disbursement,
    Instalment,
    JournalEntry,
    JournalLine,
    Pledge,
    PledgeClosing,
    Reallocation,
    Receipt,
    Refund,
    Signing,
    Withdrawal,
)

CHANGED = "changed after posting"
PLEDGE_TERMS = re.compile(r"; PSC (?P<psc>\d+\.\d\d)%; (?:due (?P<due>\d{4}-\d\d-\d\d)|no due date)$")


def pledge_memo(donor: str, psc_rate_bp: int, due_on) -> str:
    """The memo of a pledge entry: the donor and the pledge's terms, so that the hash covers them."""
    due = f"due {due_on.isoformat()}" if due_on else "no due date"
    return f"pledge of {donor}; PSC {psc_rate_bp // 100}.{psc_rate_bp % 100:02d}%; {due}"


def verify_ledger(session: Session, checkpoint: str | None = None) -> journal.Verification:
    """The hash chain and the balance of every entry (``journal.verify``), then the rows posted beside it.

    On PostgreSQL the row checks run at the same time, in a second transaction on the very
    snapshot of ``session`` (``pg_export_snapshot``): the server works on their set-based queries
    while this process hashes. That transaction plans without nested loops: every check reads
    whole tables, and statistics left stale by an import (rolled back, vacuumed, then filled
    again before autovacuum analyses it) made PostgreSQL join them row by row, 0.5 s becoming
    64 s at 20,000 receipts. A broken chain is reported first either way."""
    with _beside(session, first_disagreement) as disagreement:
        result = journal.verify(session, checkpoint)
        problem = disagreement() if result.ok else None
    if problem:
        return replace(result, ok=False, problem=problem, stored=journal.head(session))
    return result


def verified_up_to(verification: journal.Verification, at: recorded.Moment | None) -> journal.Verification:
    """A verification of the whole chain as a report recorded at T states it: an intact chain
    verifies its first entries too, so it is the chain up to T's head (what a report made at T
    said); a broken chain is reported as found."""
    if at is not None and verification.ok and at.entries < verification.entries:
        return journal.Verification(True, at.entries, at.head_hash)
    return verification


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


@contextmanager
def _beside(session: Session, check: Callable[[Session], str | None]) -> Iterator[Callable[[], str | None]]:
    """``check`` of the ledger as ``session`` sees it, run in a thread on PostgreSQL (on the same
    snapshot), or when asked elsewhere; yields the function that gives its answer."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        yield lambda: check(session)
        return
    snapshot = session.execute(text("select pg_export_snapshot()")).scalar_one()
    if not _SNAPSHOT_ID.fullmatch(snapshot):
        raise AssertionError(f"unexpected snapshot id {snapshot!r}")

    def run() -> str | None:
        with Session(bind) as other:
            other.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            other.execute(text(f"set transaction snapshot '{snapshot}'"))
            other.execute(text("set local enable_nestloop = off"))  # hash and merge joins (see verify_ledger)
            try:
                return check(other)
            finally:
                other.rollback()

    with ThreadPoolExecutor(1) as pool:  # the snapshot is importable while session's transaction lasts
        answer = pool.submit(run)
        yield answer.result


def first_disagreement(session: Session) -> str | None:
    rates = RateBook.load(session)  # read once, for the checks of exchange rates
    for check in CHECKS:
        problem = check(session, rates)
        if problem:
            return problem
    return None


def _in_force(rates: RateBook, currency: str, day, recorded_at) -> int | None:
    """The rate of ``currency`` in force on ``day`` as recorded at ``recorded_at`` (when the event
    was posted: a rate recorded later does not apply to it), or None when there is none."""
    try:
        return rates.on(currency, day, recorded_at=recorded_at)
    except LedgerError:
        return None


def _event_rows(session: Session, model, kind: str, date_column, amount_lines: tuple[str, str],
                usd_column=None, extra: Callable | None = None) -> str | None:
    """Rows of ``model`` whose entry is missing, of another kind, reference or date, or whose
    amount (and USD) is not the sum of the entry's ``amount_lines`` (account, flow)."""
    entry, line = JournalEntry, JournalLine
    account, flow = amount_lines
    sums = (select(line.entry_id, func.sum(line.amount_minor).label("amount"), func.sum(line.usd_cents).label("usd"),
                   func.min(line.pledge_id).label("pledge_lo"), func.max(line.pledge_id).label("pledge_hi"),
                   func.min(line.allocation_id).label("allocation_lo"), func.max(line.allocation_id).label("allocation_hi"),
                   func.min(line.activity_id).label("activity_lo"), func.max(line.activity_id).label("activity_hi"),
                   func.min(line.currency).label("currency_lo"), func.max(line.currency).label("currency_hi"))
            .where(line.account == account, line.flow == flow).group_by(line.entry_id).subquery())
    reference = model.reference if hasattr(model, "reference") else None
    differs = [entry.id.is_(None), entry.kind != kind, entry.event_date != date_column,
               sums.c.amount.is_(None), sums.c.amount != model.amount_minor,
               sums.c.pledge_lo != model.pledge_id, sums.c.pledge_hi != model.pledge_id]
    if reference is not None:
        differs.append(entry.reference != reference)
    if usd_column is not None:
        differs.append(sums.c.usd != usd_column)
    if extra is not None:
        differs.append(extra(sums))
    name = reference if reference is not None else model.id
    found = session.execute(
        select(name, model.entry_id).select_from(model)
        .outerjoin(entry, entry.id == model.entry_id).outerjoin(sums, sums.c.entry_id == model.entry_id)
        .where(or_(*differs)).order_by(model.id)  # no LIMIT: with one, PostgreSQL joins the sums row by row
    ).first()
    if found is None:
        return None
    what = model.__tablename__[:-1]
    return (f"{what} {found[0]} does not match journal entry {found[1]} (its kind, reference, date, amount or "
            f"what it concerns): {CHANGED}")


def _pledges(session: Session, _rates: RateBook) -> str | None:
    entry = JournalEntry
    found = session.execute(
        select(Pledge.reference, Pledge.entry_id).outerjoin(entry, entry.id == Pledge.entry_id)
        .where(or_(entry.id.is_(None), entry.kind != "pledge", entry.reference != Pledge.reference,
                   entry.event_date != Pledge.pledged_on))
        .order_by(Pledge.id).limit(1)
    ).first()
    if found:
        return f"pledge {found[0]} does not match journal entry {found[1]} (its kind, reference or date): {CHANGED}"
    return None


def _receipts(session: Session, _rates: RateBook) -> str | None:
    return _event_rows(session, Receipt, "receipt", Receipt.received_on, (journal.CASH, journal.RECEIPT),
                       Receipt.usd_cents)


def _cancellations(session: Session, _rates: RateBook) -> str | None:
    return _event_rows(session, Cancellation, "cancellation", Cancellation.cancelled_on,
                       (journal.REVENUE, journal.CANCEL))


def _refunds(session: Session, _rates: RateBook) -> str | None:
    """A refund from one named allocation has lines on it alone."""
    return _event_rows(session, Refund, "refund", Refund.refunded_on, (journal.REVENUE, journal.REFUND), Refund.usd_cents,
                       extra=lambda sums: and_(Refund.allocation_id.is_not(None),
                                               or_(sums.c.allocation_lo != Refund.allocation_id,
                                                   sums.c.allocation_hi != Refund.allocation_id)))


def _disbursements(session: Session, _rates: RateBook) -> str | None:
    return _event_rows(
        session, Disbursement, "disbursement", Disbursement.disbursed_on, (journal.EXPENDITURE, journal.SPEND),
        Disbursement.usd_cents,
        extra=lambda sums: or_(sums.c.activity_lo != Disbursement.activity_id,
                               sums.c.activity_hi != Disbursement.activity_id,
                               sums.c.pledge_lo.is_(None), sums.c.currency_lo != Disbursement.currency,
                               sums.c.currency_hi != Disbursement.currency),
    )


def _lines_of_allocations(session: Session, _rates: RateBook) -> str | None:
    """Every line naming an allocation names its pledge and donor; the pledge's own flows its
    paragraph and currency (a funding split carries the activity's paragraph and the
    disbursement's currency)."""
    line = JournalLine
    own_flows = (journal.PLEDGE, journal.CANCEL, journal.RECEIPT, journal.FX_FLOW, journal.ANNOUNCE, journal.REALLOCATE,
                 journal.REFUND)
    found = session.execute(
        select(line.entry_id, line.line_no, Allocation.id, Pledge.reference)
        .join(Allocation, Allocation.id == line.allocation_id).join(Pledge, Pledge.id == Allocation.pledge_id)
        .where(or_(line.pledge_id.is_distinct_from(Allocation.pledge_id),
                   line.donor_id.is_distinct_from(Pledge.donor_id),
                   and_(line.flow.in_(own_flows),
                        or_(line.paragraph_id.is_distinct_from(Allocation.paragraph_id),
                            line.currency != Pledge.currency))))
        .order_by(line.entry_id, line.line_no).limit(1)
    ).first()
    if found:
        entry_id, line_no, allocation_id, reference = found
        return (f"allocation {allocation_id} of pledge {reference} does not match line {line_no} of journal entry "
                f"{entry_id} (its pledge, donor, paragraph or currency): {CHANGED}")
    return None


def _allocations(session: Session, _rates: RateBook) -> str | None:
    line = JournalLine
    sums = (select(line.allocation_id, line.entry_id, func.sum(line.amount_minor).label("amount"),
                   func.sum(line.usd_cents).label("usd"))
            .where(or_(and_(line.account == journal.RECEIVABLE, line.flow == journal.PLEDGE),
                       and_(line.account == journal.MEMO_ANNOUNCED, line.flow == journal.ANNOUNCE)))
            .group_by(line.allocation_id, line.entry_id).subquery())
    found = session.execute(
        select(Allocation.id, Allocation.pledge_id, Pledge.reference, Pledge.entry_id)
        .outerjoin(Pledge, Pledge.id == Allocation.pledge_id)
        .outerjoin(sums, and_(sums.c.allocation_id == Allocation.id, sums.c.entry_id == Pledge.entry_id))
        .where(or_(
            and_(Allocation.entry_id.is_(None), or_(sums.c.amount.is_(None), sums.c.amount != Allocation.amount_minor,
                                                    sums.c.usd != Allocation.pledged_cents)),
            # one created by a reallocation holds nothing itself: its money is in that entry's lines
            and_(Allocation.entry_id.is_not(None), or_(Allocation.amount_minor != 0, Allocation.pledged_cents != 0,
                                                       ~exists().where(Reallocation.entry_id == Allocation.entry_id,
                                                                       Reallocation.to_allocation_id == Allocation.id))),
        ))
        .order_by(Allocation.id).limit(1)
    ).first()
    if found is None:
        return None
    allocation_id, pledge_id, reference, entry_id = found
    if reference is None:  # it would count in the total pledged of no pledge's entry
        return f"allocation {allocation_id} names pledge id {pledge_id}, which does not exist: {CHANGED}"
    return (f"allocation {allocation_id} of pledge {reference} does not match journal entry {entry_id} (its amount "
            f"or pledged USD): {CHANGED}")


def _pledge_terms(session: Session, rates: RateBook) -> str | None:
    """Exchange rate: the rate in force on the pledge date as recorded when the pledge was posted,
    giving the allocations' pledged USD.
    PSC rate and due date: as the entry's memo records them."""
    rows = session.execute(
        select(Pledge.reference, Pledge.currency, Pledge.pledged_on, Pledge.rate_micros, Pledge.psc_rate_bp,
               Pledge.due_on, JournalEntry.memo, JournalEntry.posted_at, Allocation.amount_minor, Allocation.pledged_cents)
        .join(JournalEntry, JournalEntry.id == Pledge.entry_id).join(Allocation, Allocation.pledge_id == Pledge.id)
        .order_by(Pledge.id, Allocation.id).execution_options(yield_per=5000)
    )
    seen = None
    for reference, currency, pledged_on, rate, psc_bp, due_on, memo, posted_at, amount, pledged_cents in rows:
        if reference != seen:
            seen = reference
            if rate != _in_force(rates, currency, pledged_on, posted_at):
                return (f"pledge {reference}: its exchange rate is not the {currency} rate in force on {pledged_on}: "
                        f"one of them was {CHANGED}")
            terms = PLEDGE_TERMS.search(memo)
            if terms and int(terms["psc"].replace(".", "")) != psc_bp:  # "13.00" is 1300 basis points
                return f"pledge {reference}: its PSC rate is not the one its journal entry records: {CHANGED}"
            if terms and (terms["due"] or None) != (due_on.isoformat() if due_on else None):
                return f"pledge {reference}: its due date is not the one its journal entry records: {CHANGED}"
        if to_usd_cents(amount, currency, rate) != pledged_cents:
            return f"pledge {reference}: its exchange rate does not give its allocations' pledged USD: {CHANGED}"
    return None


def _event_rates(session: Session, rates: RateBook) -> str | None:
    """A receipt, a disbursement and a refund were converted at the rate in force on their date as
    recorded when they were posted, the one they store (rows posted before migration 0007 store
    none): that rate must give their USD, unless the USD was given or a receipt at its pledge's rate
    took the carrying values it cleared (its entry's lines hold those)."""
    receipts = (select(Receipt.reference, Pledge.currency, Receipt.received_on, Receipt.amount_minor,
                       Receipt.usd_cents, Receipt.rate_micros, JournalEntry.posted_at, Receipt.usd_given,
                       stages.rate_micros())
                .join(Pledge, Pledge.id == Receipt.pledge_id).join(JournalEntry, JournalEntry.id == Receipt.entry_id))
    disbursements = (select(Disbursement.reference, Disbursement.currency, Disbursement.disbursed_on,
                            Disbursement.amount_minor, Disbursement.usd_cents, Disbursement.rate_micros,
                            JournalEntry.posted_at, false(), null())
                     .join(JournalEntry, JournalEntry.id == Disbursement.entry_id))
    refunds = (select(Refund.entry_id, Pledge.currency, Refund.refunded_on, Refund.amount_minor, Refund.usd_cents,
                      Refund.rate_micros, JournalEntry.posted_at, Refund.usd_given, null())
               .join(Pledge, Pledge.id == Refund.pledge_id).join(JournalEntry, JournalEntry.id == Refund.entry_id))
    for what, statement in (("receipt", receipts), ("disbursement", disbursements), ("refund in entry", refunds)):
        rows = session.execute(statement.execution_options(yield_per=5000))
        for reference, currency, day, amount, usd, stored, posted_at, usd_given, pledge_rate in rows:
            rate = _in_force(rates, currency, day, posted_at)
            if rate is None or (stored is not None and stored != rate):
                return (f"{what} {reference}: its rate is not the {currency} rate in force on {day} when it was "
                        f"posted: a rate was {CHANGED}")
            if usd_given or (stored is not None and stored == pledge_rate):
                continue
            if to_usd_cents(amount, currency, rate) != usd:
                return (f"{what} {reference}: the {currency} rate in force on {day} does not give the USD it was "
                        f"posted at: a rate was {CHANGED}")
    return None


# the rows of the acts on a pledge: (table, what a user calls it, its entry's kind, its date: None for an
# instalment, whose schedule entry is dated the day it was recorded)
ACTS_ON_PLEDGES = ((Signing, "signing", stages.SIGNING, Signing.signed_on),
                   (Withdrawal, "withdrawal", stages.WITHDRAWAL, Withdrawal.withdrawn_on),
                   (Reallocation, "reallocation", "reallocation", Reallocation.reallocated_on),
                   (Refund, "refund", "refund", Refund.refunded_on),
                   (PledgeClosing, "closing", journal.PLEDGE_CLOSE, PledgeClosing.closed_on),
                   (Instalment, "schedule", journal.SCHEDULE, None))


def _acts_on_pledges(session: Session, _rates: RateBook) -> str | None:
    """The rows of the acts on a pledge name their entry, of their kind, under their pledge's
    reference and on their date."""
    entry = JournalEntry
    for model, what, kind, day in ACTS_ON_PLEDGES:
        found = session.execute(
            select(Pledge.reference, model.entry_id).select_from(model)
            .outerjoin(Pledge, Pledge.id == model.pledge_id).outerjoin(entry, entry.id == model.entry_id)
            .where(or_(entry.id.is_(None), Pledge.id.is_(None), entry.kind != kind,
                       entry.reference != Pledge.reference, *([] if day is None else [entry.event_date != day])))
            .order_by(model.id).limit(1)).first()
        if found:
            return f"{what} of pledge {found[0]} does not match journal entry {found[1]} (its kind, reference or date): {CHANGED}"
    return None


def _reallocation_moves(session: Session, _rates: RateBook) -> str | None:
    """A reallocation's amount and the carrying value each side moved are what its entry's lines
    moved on its source (away: negative) and its target allocation."""
    line = JournalLine
    sums = (select(line.entry_id, line.allocation_id, figures.REALLOCATED.among(), figures.REALLOCATED_USD.among())
            .where(line.flow == journal.REALLOCATE).group_by(line.entry_id, line.allocation_id).subquery())
    source, target = aliased(sums), aliased(sums)
    row = Reallocation
    found = session.execute(
        select(Pledge.reference, row.entry_id).join(Pledge, Pledge.id == row.pledge_id)
        .outerjoin(source, and_(source.c.entry_id == row.entry_id, source.c.allocation_id == row.from_allocation_id))
        .outerjoin(target, and_(target.c.entry_id == row.entry_id, target.c.allocation_id == row.to_allocation_id))
        .where(or_(source.c.entry_id.is_(None), target.c.entry_id.is_(None),
                   source.c.reallocated != -row.amount_minor, source.c.reallocated_usd != -row.from_usd_cents,
                   target.c.reallocated != row.amount_minor, target.c.reallocated_usd != row.to_usd_cents))
        .order_by(row.id).limit(1)).first()
    if found:
        return (f"reallocation of pledge {found[0]} does not match journal entry {found[1]} (its amount, allocations "
                f"or the carrying values they moved): {CHANGED}")
    return None


def _schedules(session: Session, _rates: RateBook) -> str | None:
    """The instalments of each schedule add up to its pledge's amount."""
    promised = select(figures.promised()).where(Allocation.pledge_id == Pledge.id).correlate(Pledge)
    found = session.execute(
        select(Pledge.reference, Instalment.entry_id).join(Pledge, Pledge.id == Instalment.pledge_id)
        .group_by(Instalment.entry_id, Pledge.id, Pledge.reference)
        .having(figures.scheduled() != promised.scalar_subquery())
        .order_by(Instalment.entry_id).limit(1)).first()
    if found:
        return (f"schedule of pledge {found[0]} in journal entry {found[1]}: its instalments do not add up to the "
                f"pledge's amount: {CHANGED}")
    return None


def _signing_rates(session: Session, rates: RateBook) -> str | None:
    """A signing's rate is the one in force on its date when it was posted and gives the USD of its
    receivable lines."""
    entry = JournalEntry
    rows = session.execute(
        select(Pledge.reference, Pledge.currency, Signing.signed_on, Signing.rate_micros, entry.posted_at,
               JournalLine.amount_minor, JournalLine.usd_cents)
        .join(Pledge, Pledge.id == Signing.pledge_id).join(entry, entry.id == Signing.entry_id)
        .join(JournalLine, and_(JournalLine.entry_id == Signing.entry_id, JournalLine.account == journal.RECEIVABLE))
        .order_by(Signing.id, JournalLine.line_no))
    for reference, currency, day, rate, posted_at, amount, usd in rows:
        if rate != _in_force(rates, currency, day, posted_at) or to_usd_cents(amount, currency, rate) != usd:
            return (f"signing of pledge {reference}: its rate is not the {currency} rate in force on {day}, or does "
                    f"not give its receivable: {CHANGED}")
    return None


def _activity_paragraphs(session: Session, _rates: RateBook) -> str | None:
    """Spending lines carry the paragraph of their activity, which may not change once it has any."""
    found = session.execute(
        select(Activity.code, JournalLine.entry_id).join(Activity, Activity.id == JournalLine.activity_id)
        .where(JournalLine.paragraph_id.is_distinct_from(Activity.paragraph_id))
        .order_by(JournalLine.entry_id).limit(1)
    ).first()
    if found:
        return (f"activity {found[0]}: its paragraph is not the one journal entry {found[1]} spent on: "
                f"{CHANGED}")
    return None


def _psc_charged(session: Session, _rates: RateBook) -> str | None:
    """The PSC on every funding split is the paying pledge's PSC rate of the split."""
    spend, psc = aliased(JournalLine), aliased(JournalLine)
    rows = session.execute(
        select(spend.entry_id, Pledge.reference, Pledge.psc_rate_bp, spend.usd_cents, psc.usd_cents)
        .join(JournalEntry, JournalEntry.id == spend.entry_id)
        .join(Allocation, Allocation.id == spend.allocation_id).join(Pledge, Pledge.id == Allocation.pledge_id)
        .outerjoin(psc, and_(psc.entry_id == spend.entry_id, psc.allocation_id == spend.allocation_id,
                             psc.account == journal.PSC, psc.flow == journal.PSC_FLOW))
        .where(JournalEntry.kind == "disbursement", spend.account == journal.EXPENDITURE, spend.flow == journal.SPEND)
        .order_by(spend.entry_id, spend.line_no).execution_options(yield_per=5000)
    )
    for entry_id, reference, psc_bp, split_cents, psc_cents in rows:
        if psc_of(split_cents, psc_bp) != (psc_cents or 0):
            return (f"pledge {reference}: its PSC rate does not give the PSC journal entry {entry_id} charged on it: "
                    f"{CHANGED}")
    return None


CHECKS = (_pledges, _allocations, _lines_of_allocations, _pledge_terms, _psc_charged, _receipts, _cancellations,
          _refunds, _disbursements, _event_rates, _acts_on_pledges, _reallocation_moves, _schedules, _signing_rates,
          _activity_paragraphs)
