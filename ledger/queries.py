"""Read models for lists and details (what the CLI and the TUI show). Plain frozen dataclasses.

Every amount is read from the journal lines (the one record) or from the stored documents,
with SQL doing the sums; money leaves this module as ``Decimal`` in its own currency (or
USD), never as a float. Lists that may be long (pledges, disbursements, journal) are read a
page at a time: ``*_page(ledger, ..., offset, limit)`` with a matching ``*_count``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import aliased

from . import figures, instalments, journal, settings, stages, versions
from .database import Ledger
from .inputs import paragraph_label
from .money import currency_codes, from_minor, rate_decimal
from .paragraphs import paragraphs as _paragraphs
from .pledges import PARAGRAPH_ORDER
from .schema import (
    Activity,
    Allocation,
    Cancellation,
    Disbursement,
    Donor,
    JournalEntry,
    JournalLine,
    Paragraph,
    Pledge,
    PledgeClosing,
    Rate,
    Reallocation,
    Receipt,
    Refund,
    User,
)
from .unit_of_work import Reader
from .versions import VersionView  # the read models of an item's history (see history)

PLEDGE_STATUSES = ("announced", "withdrawn", "open", "partly received", "overdue", "received", "closed (part cancelled)",
                   "cancelled", "closed", "reversed")


def usd(cents: int | None) -> Decimal:
    return from_minor(int(cents or 0), "USD")


def money(minor: int | None, currency: str) -> Decimal:
    return from_minor(int(minor or 0), currency)


# -- users ------------------------------------------------------------------------------
@dataclass(frozen=True)
class UserView:
    name: str
    role: str
    created_at: dt.datetime
    created_by: str


def users(ledger: Ledger) -> list[UserView]:
    with ledger.reading() as session:
        rows = session.execute(select(User.name, User.role, User.created_at, User.created_by).order_by(User.name))
        return [UserView(*row) for row in rows]


# -- reference data ---------------------------------------------------------------------
@dataclass(frozen=True)
class ParagraphView:
    number: int
    short_title: str
    text: str


def paragraphs(ledger: Ledger) -> list[ParagraphView]:
    with ledger.reading() as session:
        return [ParagraphView(p.number, p.short_title, p.text) for p in _paragraphs(session)]


def currencies() -> list[str]:
    """ISO 4217 codes with minor units (for pickers)."""
    return currency_codes()


@dataclass(frozen=True)
class DonorView:
    code: str
    name: str
    kind: str
    country: str | None
    currency: str | None
    iati_ref: str | None = None
    pledges: int = 0
    pledged_usd: Decimal = Decimal("0.00")
    received_usd: Decimal = Decimal("0.00")


def donors(ledger: Ledger) -> list[DonorView]:
    line = JournalLine
    with ledger.reading() as session:
        counts = dict(session.execute(select(Pledge.donor_id, func.count()).group_by(Pledge.donor_id)).all())
        sums = {
            donor_id: (pledged, received)
            for donor_id, pledged, received in session.execute(
                select(line.donor_id, figures.PLEDGED_USD.among(), figures.RECEIVED_USD.among())
                .where(line.account.in_(figures.accounts((figures.PLEDGED_USD, figures.RECEIVED_USD))))
                .group_by(line.donor_id)
            )
        }
        rows = session.execute(
            select(Donor.id, Donor.code, Donor.name, Donor.kind, Donor.country, Donor.currency, Donor.iati_ref)
            .order_by(Donor.code)
        )
        return [
            DonorView(code, name, kind, country, currency, iati_ref, counts.get(did, 0),
                      usd(sums.get(did, (0, 0))[0]), usd(sums.get(did, (0, 0))[1]))
            for did, code, name, kind, country, currency, iati_ref in rows
        ]


def history(ledger: Ledger, table: str, key: str) -> list[VersionView]:
    """The versions of one record of reference data ('donors', 'activities', 'users'), oldest
    first: who, when, why and the fields each changed (the audit trail)."""
    with ledger.reading() as session:
        return versions.history(session, table, key)


@dataclass(frozen=True)
class SettingVersionView:
    """One version of a ledger setting: the value recorded, who, when (UTC) and why."""

    name: str
    value: str
    user: str
    at: dt.datetime
    reason: str


def settings_history(ledger: Ledger) -> list[SettingVersionView]:
    """Every version of every ledger setting, oldest first (ledger/settings.py::history)."""
    with ledger.reading() as session:
        return [SettingVersionView(v.name, v.value, v.user_name, v.recorded_at, v.reason or "")
                for v in settings.history(Reader(session, ledger.actor))]


@dataclass(frozen=True)
class RateView:
    """The value in force of a rate (currency, effective_from): its latest version."""

    currency: str
    effective_from: dt.date
    units_per_usd: Decimal
    entered_by: str
    entered_at: dt.datetime
    reason: str | None = None  # why it was last corrected (None: never corrected)
    versions: int = 1  # how many values were recorded (every one is kept)


def rates(ledger: Ledger) -> list[RateView]:
    with ledger.reading() as session:
        rows = session.execute(
            select(Rate.currency, Rate.effective_from, Rate.units_per_usd_micros, Rate.entered_by, Rate.entered_at,
                   Rate.reason)
            .order_by(Rate.currency, Rate.effective_from, Rate.entered_at, Rate.id)
        )
        latest: dict[tuple, RateView] = {}
        for c, d, m, by, at, reason in rows:
            earlier = latest.get((c, d))
            latest[(c, d)] = RateView(c, d, rate_decimal(m), by, at, reason, earlier.versions + 1 if earlier else 1)
        return list(latest.values())


@dataclass(frozen=True)
class ActivityView:
    code: str
    paragraph: int
    title: str
    budget_usd: Decimal
    planned_start: dt.date | None
    planned_end: dt.date | None
    status: str
    progress_pct: int
    spent_usd: Decimal = Decimal("0.00")
    has_disbursements: bool = False


def activities(ledger: Ledger, paragraph: int | None = None) -> list[ActivityView]:
    with ledger.reading() as session:
        spent = figures.spent_per_activity(session)
        paid = set(session.execute(select(Disbursement.activity_id).distinct()).scalars())
        statement = (
            select(Activity.id, Activity.code, Paragraph.number, Activity.title, Activity.budget_cents,
                   Activity.planned_start, Activity.planned_end, Activity.status, Activity.progress_pct)
            .join(Paragraph, Paragraph.id == Activity.paragraph_id)
            .order_by(Paragraph.number, Activity.code)
        )
        if paragraph is not None:
            statement = statement.where(Paragraph.number == paragraph)
        return [
            ActivityView(code, number, title, usd(budget), start, end, status, progress, usd(spent.get(aid)), aid in paid)
            for aid, code, number, title, budget, start, end, status, progress in session.execute(statement)
        ]


@dataclass(frozen=True)
class FundingAllocationView:
    """An allocation that funds a paragraph (or unearmarked work)."""

    pledge: str
    donor: str
    pledged_on: dt.date
    currency: str
    amount: Decimal
    pledged_usd: Decimal
    received_usd: Decimal
    spent_usd: Decimal
    psc_usd: Decimal
    refunded_usd: Decimal = Decimal(0)

    @property
    def cash_usd(self) -> Decimal:
        return figures.available(self.received_usd, self.refunded_usd, self.spent_usd, self.psc_usd)


def paragraph_funding(ledger: Ledger, paragraph: int | None) -> list[FundingAllocationView]:
    """The allocations earmarked to a paragraph (None: the unearmarked ones), oldest pledge first."""
    line = JournalLine
    wanted = (figures.PLEDGED_USD, figures.RECEIVED_USD, figures.DISBURSED_USD, figures.PSC_USD, figures.REFUNDED_USD)
    with ledger.reading() as session:
        sums = (
            select(line.allocation_id.label("aid"), *(f.among() for f in wanted))
            .where(line.account.in_(figures.accounts(wanted)))
            .group_by(line.allocation_id)
            .subquery()
        )
        statement = (
            select(Pledge.reference, Donor.code, Pledge.pledged_on, Pledge.currency, Allocation.amount_minor,
                   *(sums.c[f.name] for f in wanted))
            .join(Pledge, Pledge.id == Allocation.pledge_id)
            .join(Donor, Donor.id == Pledge.donor_id)
            .outerjoin(sums, sums.c.aid == Allocation.id)
            .outerjoin(Paragraph, Paragraph.id == Allocation.paragraph_id)
            .order_by(Pledge.pledged_on, Pledge.reference)
        )
        statement = statement.where(
            Allocation.paragraph_id.is_(None) if paragraph is None else Paragraph.number == paragraph
        )
        return [
            FundingAllocationView(ref, donor, on, cur, money(amount, cur), usd(pledged), usd(rec), usd(spent), usd(psc),
                                  usd(refunded))
            for ref, donor, on, cur, amount, pledged, rec, spent, psc, refunded in session.execute(statement)
        ]


@dataclass(frozen=True)
class PledgeSpendingView:
    """What one allocation's money paid for a paragraph's activities (its funding splits there)."""

    pledge: str
    donor: str
    earmarked: int | None  # the paragraph the allocation is earmarked to; None: unearmarked
    currency: str  # the pledge's
    spent_usd: Decimal  # disbursed on the paragraph's activities
    psc_usd: Decimal  # PSC charged on those disbursements


def paragraph_spending(ledger: Ledger, paragraph: int) -> list[PledgeSpendingView]:
    """Every allocation whose money paid for the paragraph's activities, earmarked to it, to
    another paragraph or unearmarked, with how much (funding splits less their reversals): the
    paragraph's spent on activities of ``report funding`` is the sum of ``spent_usd``. Most spent first."""
    line = JournalLine
    wanted = (figures.DISBURSED_USD, figures.PSC_USD)
    with ledger.reading() as session:
        sums = (
            select(line.allocation_id.label("aid"), *(f.among() for f in wanted))
            .join(Activity, Activity.id == line.activity_id)
            .join(Paragraph, Paragraph.id == Activity.paragraph_id)
            .where(line.account.in_(figures.accounts(wanted)), Paragraph.number == paragraph)
            .group_by(line.allocation_id)
            .subquery()
        )
        earmarked = Paragraph.__table__.alias("earmarked")
        statement = (
            select(Pledge.reference, Donor.code, earmarked.c.number, Pledge.currency,
                   *(sums.c[f.name] for f in wanted))
            .select_from(sums)
            .join(Allocation, Allocation.id == sums.c.aid)
            .join(Pledge, Pledge.id == Allocation.pledge_id)
            .join(Donor, Donor.id == Pledge.donor_id)
            .outerjoin(earmarked, earmarked.c.id == Allocation.paragraph_id)
        )
        views = [
            PledgeSpendingView(ref, donor, number, currency, usd(spent), usd(psc))
            for ref, donor, number, currency, spent, psc in session.execute(statement)
            if spent or psc
        ]
    return sorted(views, key=lambda v: (-v.spent_usd, v.pledge))


# -- pledges ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PledgeFilter:
    donor: str | None = None  # donor code
    paragraph: int | None = None  # 0: has an unearmarked allocation
    status: str | None = None  # one of PLEDGE_STATUSES
    text: str | None = None  # in the reference, the donor's code or name, or the notes
    as_of: dt.date | None = None  # amounts and status as of this date (default today)


PLEDGE_SORTS = ("reference", "donor", "pledged_on", "currency", "amount", "usd", "received", "outstanding", "status", "due_on")


@dataclass(frozen=True)
class PledgeRow:
    reference: str
    donor: str
    donor_name: str
    pledged_on: dt.date
    currency: str
    amount: Decimal
    usd: Decimal  # at the rate of its stage as of the list's date: the signing's once signed, else the announcement's
    received: Decimal  # original currency
    outstanding: Decimal  # original currency
    status: str
    due_on: dt.date | None
    paragraphs: str  # "1, 4, U"
    stage: str = "signed"  # announced, signed or withdrawn as of the list's date (ledger/stages.py)


def _pledge_sum(figure: figures.LineSum, dated: dt.date | None):
    """A figure summed over the journal lines of the pledge's allocations (a correlated sum that
    uses the allocation index), counting only lines dated on or before ``dated`` when given."""
    statement = (
        select(figure.alone())
        .select_from(JournalLine)
        .join(Allocation, Allocation.id == JournalLine.allocation_id)
        .where(figure.condition(), Allocation.pledge_id == Pledge.id)
    )
    if dated is not None:
        statement = statement.join(JournalEntry, JournalEntry.id == JournalLine.entry_id).where(
            JournalEntry.event_date <= dated)
    return statement.correlate(Pledge).scalar_subquery()


def _pledge_columns(session, as_of: dt.date) -> dict:
    """The computed columns of the pledge list, as of a date: amounts from the lines dated on or
    before it, and the status those amounts give (overdue: ``instalments.overdue_clause``)."""
    dated = as_of if figures.dated_after(session, as_of) else None  # as of today: every line
    amount = (
        select(figures.promised()).where(Allocation.pledge_id == Pledge.id)
        .correlate(Pledge).scalar_subquery()
    )
    pledged_usd, _rate = stages.usd_of_stage(session, as_of)  # at the signing's rate once signed
    received = _pledge_sum(figures.RECEIVED, dated)
    outstanding = _pledge_sum(figures.OUTSTANDING, dated)
    cancelled = _pledge_sum(figures.CANCELLED, dated)
    reversal = [JournalEntry.reverses_id == Pledge.entry_id] + ([JournalEntry.event_date <= dated] if dated else [])
    reversed_ = exists().where(*reversal).correlate(Pledge)
    stage_now, signed_on, withdrawn_on, _rate = stages.columns(session)
    stage = case(  # as of the date: signed or withdrawn after it, still announced then
        (and_(stage_now == stages.SIGNED, signed_on > as_of), literal(stages.ANNOUNCED)),
        (and_(stage_now == stages.WITHDRAWN, withdrawn_on > as_of), literal(stages.ANNOUNCED)),
        else_=stage_now)
    reopening = aliased(JournalEntry)
    closed = exists().where(
        PledgeClosing.pledge_id == Pledge.id, PledgeClosing.closed_on <= as_of,
        ~exists().where(reopening.reverses_id == PledgeClosing.entry_id, reopening.event_date <= as_of),
    ).correlate(Pledge)
    status = case(
        (reversed_, literal("reversed")),
        (stage != stages.SIGNED, stage),
        (closed, literal("closed")),
        (and_(outstanding == 0, received == 0), literal("cancelled")),
        (and_(outstanding == 0, cancelled > 0), literal("closed (part cancelled)")),
        (outstanding == 0, literal("received")),
        (instalments.overdue_clause(session, outstanding, received, as_of), literal("overdue")),
        (received > 0, literal("partly received")),
        else_=literal("open"),
    )
    return {"as_of": as_of, "amount": amount, "usd": pledged_usd, "received": received, "outstanding": outstanding,
            "status": status, "stage": stage}


def _pledge_filtered(statement, filters: PledgeFilter, computed: dict):
    """The pledges signed on or before the as-of date that the filters keep."""
    statement = statement.where(Pledge.pledged_on <= computed["as_of"])
    if filters.donor:
        statement = statement.where(Donor.code == filters.donor)
    if filters.paragraph is not None:
        allocation = select(Allocation.id).where(Allocation.pledge_id == Pledge.id)
        if filters.paragraph == 0:
            allocation = allocation.where(Allocation.paragraph_id.is_(None))
        else:
            allocation = allocation.join(Paragraph, Paragraph.id == Allocation.paragraph_id).where(
                Paragraph.number == filters.paragraph
            )
        statement = statement.where(allocation.correlate(Pledge).exists())
    if filters.text:
        like = f"%{filters.text.strip().lower()}%"
        statement = statement.where(or_(
            func.lower(Pledge.reference).like(like), func.lower(Donor.code).like(like),
            func.lower(Donor.name).like(like), func.lower(Pledge.notes).like(like),
        ))
    if filters.status:
        statement = statement.where(computed["status"] == filters.status)
    return statement


def pledge_count(ledger: Ledger, filters: PledgeFilter | None = None) -> int:
    filters = filters or PledgeFilter()
    with ledger.reading() as session:
        computed = _pledge_columns(session, filters.as_of or dt.date.today())
        statement = _pledge_filtered(
            select(func.count()).select_from(Pledge).join(Donor, Donor.id == Pledge.donor_id), filters, computed)
        return int(session.execute(statement).scalar() or 0)


def _pledge_order(session, filters: PledgeFilter, sort: str, descending: bool) -> tuple[dict, list]:
    if sort not in PLEDGE_SORTS:
        raise ValueError(f"cannot sort pledges by {sort!r}")
    computed = _pledge_columns(session, filters.as_of or dt.date.today())
    plain = {"reference": Pledge.reference, "donor": Donor.code, "pledged_on": Pledge.pledged_on,
             "currency": Pledge.currency, "due_on": Pledge.due_on}
    key = plain.get(sort) if sort in plain else computed[sort]
    order = [key.desc() if descending else key.asc()]
    if sort != "reference":
        order.append(Pledge.reference.desc() if descending else Pledge.reference.asc())
    return computed, order


def pledge_position(
    ledger: Ledger, reference: str, filters: PledgeFilter | None = None, sort: str = "reference",
    descending: bool = False,
) -> int | None:
    """Where a pledge is (0-based) among the filtered, sorted pledges of :func:`pledges_page`,
    or None if the filters leave it out (the table selects a pledge just entered)."""
    filters = filters or PledgeFilter()
    with ledger.reading() as session:
        computed, order = _pledge_order(session, filters, sort, descending)
        ranked = _pledge_filtered(
            select(Pledge.reference, func.row_number().over(order_by=order).label("n"))
            .join(Donor, Donor.id == Pledge.donor_id), filters, computed
        ).subquery()
        n = session.execute(select(ranked.c.n).where(ranked.c.reference == reference)).scalar()
    return None if n is None else int(n) - 1


def pledges_page(
    ledger: Ledger, filters: PledgeFilter | None = None, sort: str = "reference", descending: bool = False,
    offset: int = 0, limit: int = 100,
) -> list[PledgeRow]:
    """One page of pledges. Plain columns sort through indexes; computed ones (received,
    outstanding, status) sort by correlated sums, which SQL evaluates for every pledge."""
    filters = filters or PledgeFilter()
    with ledger.reading() as session:
        computed, order = _pledge_order(session, filters, sort, descending)
        ids_statement = _pledge_filtered(
            select(Pledge.id).join(Donor, Donor.id == Pledge.donor_id), filters, computed
        ).order_by(*order).offset(max(offset, 0)).limit(limit)
        ids = list(session.execute(ids_statement).scalars())
        if not ids:
            return []
        rows = session.execute(
            select(Pledge.id, Pledge.reference, Donor.code, Donor.name, Pledge.pledged_on, Pledge.currency,
                   computed["amount"], computed["usd"], computed["received"], computed["outstanding"],
                   computed["status"], Pledge.due_on, computed["stage"])
            .join(Donor, Donor.id == Pledge.donor_id)
            .where(Pledge.id.in_(ids))
        ).all()
        para = defaultdict(list)
        for pledge_id, number in session.execute(
            select(Allocation.pledge_id, Paragraph.number).outerjoin(Paragraph, Paragraph.id == Allocation.paragraph_id)
            .where(Allocation.pledge_id.in_(ids)).order_by(Allocation.pledge_id, *PARAGRAPH_ORDER)
        ):
            para[pledge_id].append("U" if number is None else str(number))
    by_id = {
        r[0]: PledgeRow(r[1], r[2], r[3], r[4], r[5], money(r[6], r[5]), usd(r[7]), money(r[8], r[5]),
                        money(r[9], r[5]), r[10], r[11], ", ".join(para[r[0]]), r[12])
        for r in rows
    }
    return [by_id[i] for i in ids]


@dataclass(frozen=True)
class PipelineRow:
    """An announced pledge, not signed (nor withdrawn) as of the date: the dashboard's pipeline."""

    reference: str
    donor: str
    pledged_on: dt.date
    currency: str
    amount: Decimal
    usd: Decimal  # at the announcement's rate (figures.ANNOUNCED_USD as posted)


def pipeline(ledger: Ledger, as_of: dt.date | None = None,
             limit: int | None = 3) -> tuple[list[PipelineRow], int, Decimal]:
    """The announced pledges as of ``as_of`` (default today), latest first: the first ``limit`` (None:
    all), how many there are and their USD in all."""
    as_of = as_of or dt.date.today()
    with ledger.reading() as session:
        computed = _pledge_columns(session, as_of)
        rows = session.execute(
            _pledge_filtered(select(Pledge.reference, Donor.code, Pledge.pledged_on, Pledge.currency, computed["amount"],
                                    computed["usd"]).join(Donor, Donor.id == Pledge.donor_id),
                             PledgeFilter(status=stages.ANNOUNCED), computed)
            .order_by(Pledge.pledged_on.desc(), Pledge.reference)
        ).all()
    listed = [PipelineRow(r[0], r[1], r[2], r[3], money(r[4], r[3]), usd(r[5])) for r in rows]
    return listed[:limit], len(listed), sum((r.usd for r in listed), Decimal("0.00"))


@dataclass(frozen=True)
class AllocationView:
    paragraph: int | None  # None: unearmarked
    amount: Decimal
    pledged_usd: Decimal
    programmable_usd: Decimal
    received: Decimal
    received_usd: Decimal
    cancelled: Decimal
    outstanding: Decimal
    spent_usd: Decimal
    psc_usd: Decimal
    reallocated: Decimal = Decimal(0)  # pledge currency: reallocated in less reallocated away
    refunded_usd: Decimal = Decimal(0)

    @property
    def cash_usd(self) -> Decimal:
        return figures.available(self.received_usd, self.refunded_usd, self.spent_usd, self.psc_usd)


class Linked:
    """An event's links to other entries: the reversal of it, the reversed entry it corrects and
    the entry that corrects it (docs/rules.md#corrections), in words for every list."""

    reversed_by: int | None
    corrects: int | None
    corrected_by: int | None

    @property
    def links(self) -> str:
        """"reversed by entry 6 · corrected by entry 7", "corrects entry 3", or ""."""
        parts = [f"corrects entry {self.corrects}" if self.corrects else "",
                 f"reversed by entry {self.reversed_by}" if self.reversed_by else "",
                 f"corrected by entry {self.corrected_by}" if self.corrected_by else ""]
        return " · ".join(p for p in parts if p)


def _corrections(session, entry_ids) -> tuple[dict[int, int], dict[int, int]]:
    """For these entries: {entry: the reversed entry it corrects}, {entry: the entry correcting it}."""
    ids = set(entry_ids)
    if not ids:
        return {}, {}
    rows = session.execute(select(JournalEntry.id, JournalEntry.corrects_id).where(
        JournalEntry.corrects_id.is_not(None), or_(JournalEntry.id.in_(ids), JournalEntry.corrects_id.in_(ids)))).all()
    return {e: c for e, c in rows if e in ids}, {c: e for e, c in rows if c in ids}


@dataclass(frozen=True)
class ReceiptView(Linked):
    reference: str
    received_on: dt.date
    amount: Decimal
    usd: Decimal
    bank_reference: str
    entry_id: int
    reversed_by: int | None
    corrects: int | None = None
    corrected_by: int | None = None


@dataclass(frozen=True)
class CancellationView(Linked):
    cancelled_on: dt.date
    amount: Decimal
    usd: Decimal
    reason: str
    entry_id: int
    reversed_by: int | None
    corrects: int | None = None
    corrected_by: int | None = None


@dataclass(frozen=True)
class ReallocationView(Linked):
    """Money still to be received moved between two allocations of the pledge (never a cancellation)."""

    reallocated_on: dt.date
    source: int | None  # paragraph; None: unearmarked
    target: int | None
    amount: Decimal
    from_usd: Decimal  # the source's pledged USD fell by this
    to_usd: Decimal  # the target's rose by this
    consent: str
    entry_id: int
    reversed_by: int | None
    corrects: int | None = None
    corrected_by: int | None = None

    @property
    def pledged_change(self) -> Decimal:
        """What the two roundings did to the pledge's pledged USD (a cent at most)."""
        return self.to_usd - self.from_usd


@dataclass(frozen=True)
class RefundView(Linked):
    refunded_on: dt.date
    amount: Decimal
    usd: Decimal
    paragraph: str  # "¶1", "unearmarked" or "split" (pro rata to available cash)
    reason: str
    entry_id: int
    reversed_by: int | None
    corrects: int | None = None
    corrected_by: int | None = None


@dataclass(frozen=True)
class SpendingView:
    """What a disbursement took from this pledge (its funding splits), with PSC."""

    disbursement: str
    disbursed_on: dt.date
    activity: str
    paragraph: int | None
    usd: Decimal
    psc_usd: Decimal


@dataclass(frozen=True)
class EntryView(Linked):
    id: int
    kind: str
    event_date: dt.date
    reference: str
    memo: str
    user: str
    posted_at: dt.datetime
    hash: str
    prev_hash: str
    reverses_id: int | None
    reversed_by: int | None = None
    debits_usd: Decimal = Decimal("0.00")
    corrects: int | None = None
    corrected_by: int | None = None


@dataclass(frozen=True)
class PledgeDetail(Linked):
    reference: str
    donor: str
    donor_name: str
    pledged_on: dt.date
    currency: str
    psc_rate: Decimal
    due_on: dt.date | None
    notes: str
    entry_id: int
    reversed_by: int | None
    status: str
    allocations: list[AllocationView] = field(default_factory=list)
    receipts: list[ReceiptView] = field(default_factory=list)
    cancellations: list[CancellationView] = field(default_factory=list)
    spending: list[SpendingView] = field(default_factory=list)
    entries: list[EntryView] = field(default_factory=list)
    corrects: int | None = None
    corrected_by: int | None = None
    stage: str = "signed"  # now (ledger/stages.py): announced, signed or withdrawn
    signed_on: dt.date | None = None
    withdrawn_on: dt.date | None = None
    reallocations: list[ReallocationView] = field(default_factory=list)
    refunds: list[RefundView] = field(default_factory=list)
    closed: tuple[int, dt.date] | None = None  # (closing entry, date) while the closing is not reversed
    schedule: list[instalments.InstalmentLine] = field(default_factory=list)  # in force, paid and unpaid as of the date
    schedule_versions: list[instalments.ScheduleVersion] = field(default_factory=list)  # every re-plan, oldest first

    @property
    def amount(self) -> Decimal:
        return sum((a.amount for a in self.allocations), Decimal(0))

    @property
    def outstanding(self) -> Decimal:
        return sum((a.outstanding for a in self.allocations), Decimal(0))


def _reversed_by(session, entry_ids) -> dict[int, int]:
    if not entry_ids:
        return {}
    return dict(session.execute(
        select(JournalEntry.reverses_id, JournalEntry.id).where(JournalEntry.reverses_id.in_(list(entry_ids)))
    ).all())


def _entry_views(session, statement) -> list[EntryView]:
    rows = session.execute(statement).all()
    ids = [r.id for r in rows]
    by = _reversed_by(session, ids)
    corrects, corrected_by = _corrections(session, ids)
    debits = dict(session.execute(
        select(JournalLine.entry_id, figures.DEBITS_USD)
        .where(JournalLine.entry_id.in_(ids)).group_by(JournalLine.entry_id)
    ).all()) if ids else {}
    return [
        EntryView(r.id, r.kind, r.event_date, r.reference, r.memo, r.user_name, r.posted_at, r.hash, r.prev_hash,
                  r.reverses_id, by.get(r.id), usd(debits.get(r.id)), corrects.get(r.id), corrected_by.get(r.id))
        for r in rows
    ]


_ENTRY_COLUMNS = (JournalEntry.id, JournalEntry.kind, JournalEntry.event_date, JournalEntry.reference, JournalEntry.memo,
                  JournalEntry.user_name, JournalEntry.posted_at, JournalEntry.hash, JournalEntry.prev_hash,
                  JournalEntry.reverses_id)


def pledge_detail(ledger: Ledger, reference: str, as_of: dt.date | None = None) -> PledgeDetail | None:
    """A pledge with its allocations' amounts and its status as of ``as_of`` (default today), and
    every event on it."""
    line = JournalLine
    as_of = as_of or dt.date.today()
    with ledger.reading() as session:
        computed = _pledge_columns(session, as_of)
        head = session.execute(
            select(Pledge.id, Pledge.reference, Donor.code, Donor.name, Pledge.pledged_on, Pledge.currency,
                   Pledge.psc_rate_bp, Pledge.due_on, Pledge.notes, Pledge.entry_id, *stages.columns(session)[:3],
                   computed["status"])
            .join(Donor, Donor.id == Pledge.donor_id).where(Pledge.reference == reference)
            .order_by(Pledge.entry_id.desc())  # the live one, else the last reversed (docs/rules.md#corrections)
        ).first()
        if head is None:
            return None
        pid, cur = head.id, head.currency
        wanted = (figures.PLEDGED_USD, figures.RECEIVED, figures.RECEIVED_USD, figures.CANCELLED, figures.OUTSTANDING,
                  figures.DISBURSED_USD, figures.PSC_USD, figures.REALLOCATED, figures.REFUNDED_USD)
        sums = {
            aid: rest for aid, *rest in session.execute(
                select(line.allocation_id, *(f.among() for f in wanted))
                .join(Allocation, Allocation.id == line.allocation_id)
                .join(JournalEntry, JournalEntry.id == line.entry_id)
                .where(Allocation.pledge_id == pid, JournalEntry.event_date <= as_of)
                .group_by(line.allocation_id)
            )
        }
        allocations = []
        for aid, number, amount in session.execute(
            select(Allocation.id, Paragraph.number, Allocation.amount_minor)
            .outerjoin(Paragraph, Paragraph.id == Allocation.paragraph_id)
            .where(Allocation.pledge_id == pid).order_by(*PARAGRAPH_ORDER)
        ):
            pledged, rec, rec_usd, cancelled, outstanding, spent, psc, moved, refunded = (
                int(v or 0) for v in sums.get(aid, [0] * len(wanted)))
            programmable = figures.programmable_of(pledged, head.psc_rate_bp)
            allocations.append(AllocationView(
                number, money(amount, cur), usd(pledged), usd(programmable), money(rec, cur), usd(rec_usd),
                money(cancelled, cur), money(outstanding, cur), usd(spent), usd(psc), money(moved, cur), usd(refunded),
            ))
        source, target = aliased(Allocation), aliased(Allocation)
        source_para, target_para = aliased(Paragraph), aliased(Paragraph)
        reallocation_rows = session.execute(
            select(Reallocation.reallocated_on, source_para.number, target_para.number, Reallocation.amount_minor,
                   Reallocation.from_usd_cents, Reallocation.to_usd_cents, Reallocation.consent, Reallocation.entry_id)
            .join(source, source.id == Reallocation.from_allocation_id)
            .join(target, target.id == Reallocation.to_allocation_id)
            .outerjoin(source_para, source_para.id == source.paragraph_id)
            .outerjoin(target_para, target_para.id == target.paragraph_id)
            .where(Reallocation.pledge_id == pid).order_by(Reallocation.reallocated_on, Reallocation.id)
        ).all()
        refund_para = aliased(Paragraph)
        refund_rows = session.execute(
            select(Refund.refunded_on, Refund.amount_minor, Refund.usd_cents, Refund.allocation_id, refund_para.number,
                   Refund.reason, Refund.entry_id)
            .outerjoin(source, source.id == Refund.allocation_id)
            .outerjoin(refund_para, refund_para.id == source.paragraph_id)
            .where(Refund.pledge_id == pid).order_by(Refund.refunded_on, Refund.id)
        ).all()
        closings = session.execute(
            select(PledgeClosing.entry_id, PledgeClosing.closed_on).where(PledgeClosing.pledge_id == pid)
            .order_by(PledgeClosing.entry_id)).all()
        receipt_rows = session.execute(
            select(Receipt.reference, Receipt.received_on, Receipt.amount_minor, Receipt.usd_cents,
                   Receipt.bank_reference, Receipt.entry_id).where(Receipt.pledge_id == pid).order_by(Receipt.received_on, Receipt.id)
        ).all()
        cancelled_usd = (  # the revenue given up, at the pledge-date rate
            select(figures.CANCELLED_USD.alone())
            .where(JournalLine.entry_id == Cancellation.entry_id, figures.CANCELLED_USD.condition())
            .scalar_subquery()
        )
        cancellation_rows = session.execute(
            select(Cancellation.cancelled_on, Cancellation.amount_minor, cancelled_usd, Cancellation.reason,
                   Cancellation.entry_id)
            .where(Cancellation.pledge_id == pid).order_by(Cancellation.cancelled_on, Cancellation.id)
        ).all()
        spending_rows = session.execute(
            select(
                Disbursement.reference, Disbursement.disbursed_on, Activity.code, Paragraph.number,
                figures.DISBURSED_USD.among(), figures.PSC_USD.among(),
            )
            .select_from(line)
            .join(Allocation, Allocation.id == line.allocation_id)
            .join(Disbursement, Disbursement.id == line.disbursement_id)
            .join(Activity, Activity.id == Disbursement.activity_id)
            .outerjoin(Paragraph, Paragraph.id == Activity.paragraph_id)
            .where(Allocation.pledge_id == pid, line.account.in_(figures.accounts((figures.DISBURSED_USD, figures.PSC_USD))))
            .group_by(Disbursement.reference, Disbursement.disbursed_on, Activity.code, Paragraph.number)
            .order_by(Disbursement.disbursed_on, Disbursement.reference)
        ).all()
        touching = (
            select(line.entry_id).join(Allocation, Allocation.id == line.allocation_id).where(Allocation.pledge_id == pid)
        )
        closing_ids = [entry_id for entry_id, _ in closings]
        entries = _entry_views(session, select(*_ENTRY_COLUMNS).where(
            or_(JournalEntry.id.in_(touching), JournalEntry.id.in_(closing_ids), JournalEntry.reverses_id.in_(closing_ids))
        ).order_by(JournalEntry.id))
        by = {e.id: e.reversed_by for e in entries}
        corrects, corrected_by = _corrections(session, [head.entry_id, *(e.id for e in entries)])
        links = lambda e: (by.get(e), corrects.get(e), corrected_by.get(e))  # noqa: E731
        return PledgeDetail(
            head.reference, head.code, head.name, head.pledged_on, cur, Decimal(head.psc_rate_bp).scaleb(-2).normalize(),
            head.due_on, head.notes, head.entry_id, by.get(head.entry_id), head[-1], allocations,
            [ReceiptView(r, on, money(a, cur), usd(u), b, e, *links(e)) for r, on, a, u, b, e in receipt_rows],
            [CancellationView(on, money(a, cur), usd(u), why, e, *links(e)) for on, a, u, why, e in cancellation_rows],
            [SpendingView(r, on, act, para, usd(s), usd(p)) for r, on, act, para, s, p in spending_rows if s or p],
            entries, corrects.get(head.entry_id), corrected_by.get(head.entry_id), head.stage, head.signed_on,
            head.withdrawn_on,
            [ReallocationView(on, a, b, money(m, cur), usd(f), usd(t), why, e, *links(e))
             for on, a, b, m, f, t, why, e in reallocation_rows],
            [RefundView(on, money(m, cur), usd(u), "split" if aid is None else paragraph_label(n), why, e, *links(e))
             for on, m, u, aid, n, why, e in refund_rows],
            next(((e, on) for e, on in closings if by.get(e) is None and on <= as_of), None),
            schedule=instalments.schedule_lines(session, pid, cur, as_of),
            schedule_versions=instalments.schedule_history(session, pid),
        )


# -- disbursements ----------------------------------------------------------------------
@dataclass(frozen=True)
class DisbursementRow(Linked):
    reference: str
    disbursed_on: dt.date
    activity: str
    paragraph: int
    currency: str
    amount: Decimal
    usd: Decimal
    psc_usd: Decimal
    payee: str
    funded_by: str  # pledge references
    entry_id: int
    reversed_by: int | None
    corrects: int | None = None
    corrected_by: int | None = None


def disbursement_entry(ledger: Ledger, reference: str) -> int | None:
    """The journal entry that posted the disbursement with exactly this reference (the live one,
    else the last reversed)."""
    with ledger.reading() as session:
        return session.execute(select(Disbursement.entry_id).where(Disbursement.reference == reference)
                               .order_by(Disbursement.entry_id.desc())).scalar()


def disbursement_count(ledger: Ledger, text: str | None = None) -> int:
    statement = select(func.count()).select_from(Disbursement).join(Activity, Activity.id == Disbursement.activity_id)
    with ledger.reading() as session:
        return int(session.execute(_disbursement_filtered(statement, text)).scalar() or 0)


def _disbursement_filtered(statement, text: str | None):
    if text:
        like = f"%{text.strip().lower()}%"
        statement = statement.where(or_(
            func.lower(Disbursement.reference).like(like), func.lower(Activity.code).like(like),
            func.lower(Disbursement.payee).like(like), func.lower(Disbursement.description).like(like),
        ))
    return statement


def disbursements_page(ledger: Ledger, text: str | None = None, offset: int = 0, limit: int = 100) -> list[DisbursementRow]:
    """Newest first."""
    with ledger.reading() as session:
        rows = session.execute(_disbursement_filtered(
            select(Disbursement.id, Disbursement.reference, Disbursement.disbursed_on, Activity.code, Paragraph.number,
                   Disbursement.currency, Disbursement.amount_minor, Disbursement.usd_cents, Disbursement.payee,
                   Disbursement.entry_id)
            .join(Activity, Activity.id == Disbursement.activity_id)
            .join(Paragraph, Paragraph.id == Activity.paragraph_id),
            text,
        ).order_by(Disbursement.disbursed_on.desc(), Disbursement.id.desc()).offset(max(offset, 0)).limit(limit)).all()
        ids = [r.id for r in rows]
        psc: dict[int, int] = {}
        funders: dict[int, list[str]] = defaultdict(list)
        if ids:
            psc = dict(session.execute(  # charged by the disbursement's own entry (a reversal shows apart)
                select(JournalLine.disbursement_id, figures.PSC_USD.alone())
                .join(Disbursement, Disbursement.id == JournalLine.disbursement_id)
                .where(JournalLine.disbursement_id.in_(ids), figures.PSC_USD.condition(),
                       JournalLine.entry_id == Disbursement.entry_id)
                .group_by(JournalLine.disbursement_id)
            ).all())
            for did, ref in session.execute(
                select(JournalLine.disbursement_id, Pledge.reference).distinct()
                .join(Pledge, Pledge.id == JournalLine.pledge_id)
                .where(JournalLine.disbursement_id.in_(ids), JournalLine.account == journal.EXPENDITURE)
                .order_by(JournalLine.disbursement_id, Pledge.reference)
            ):
                funders[did].append(ref)
        by = _reversed_by(session, [r.entry_id for r in rows])
        corrects, corrected_by = _corrections(session, [r.entry_id for r in rows])
        return [
            DisbursementRow(r.reference, r.disbursed_on, r.code, r.number, r.currency, money(r.amount_minor, r.currency),
                            usd(r.usd_cents), usd(psc.get(r.id)), r.payee, ", ".join(funders[r.id]), r.entry_id,
                            by.get(r.entry_id), corrects.get(r.entry_id), corrected_by.get(r.entry_id))
            for r in rows
        ]


# -- journal ----------------------------------------------------------------------------
@dataclass(frozen=True)
class LineView:
    line_no: int
    account: str
    account_name: str
    flow: str
    currency: str
    amount: Decimal
    usd: Decimal


def journal_count(ledger: Ledger) -> int:
    """Entries are numbered 1..n without gaps (the chain), so the count is the head's id."""
    with ledger.reading() as session:
        return int(session.execute(select(func.max(JournalEntry.id))).scalar() or 0)


def journal_page(ledger: Ledger, offset: int = 0, limit: int = 100) -> list[EntryView]:
    """Entries in chain order, read by primary key range."""
    with ledger.reading() as session:
        return _entry_views(session, select(*_ENTRY_COLUMNS).where(
            JournalEntry.id > offset, JournalEntry.id <= offset + limit).order_by(JournalEntry.id))


def entry_lines(ledger: Ledger, entry_id: int) -> list[LineView]:
    with ledger.reading() as session:
        rows = session.execute(
            select(JournalLine.line_no, JournalLine.account, JournalLine.flow, JournalLine.currency,
                   JournalLine.amount_minor, JournalLine.usd_cents)
            .where(JournalLine.entry_id == entry_id).order_by(JournalLine.line_no)
        )
        return [LineView(n, a, journal.ACCOUNTS.get(a, a), f, c, money(m, c), usd(u)) for n, a, f, c, m, u in rows]


@dataclass(frozen=True)
class ChainHead:
    entries: int
    hash: str


def chain_head(ledger: Ledger) -> ChainHead:
    with ledger.reading() as session:
        return ChainHead(*journal.head(session))
