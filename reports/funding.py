"""Funding versus implementation, per operative paragraph, as of a date (domain.md "Reports").

Sums are computed by SQL over the journal lines (grouped per allocation, where the
per-allocation roundings of programmable and outstanding must happen), then finished in
integers. Every money figure is in US cents.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ledger import journal
from ledger.balances import programmable_of
from ledger.clock import utcnow
from ledger.money import percent_1dp, to_usd_cents
from ledger.paragraphs import paragraphs
from ledger.rates import RateBook
from ledger.schema import Activity, Allocation, JournalEntry, JournalLine, Pledge

MONEY_KEYS = (
    "requirement", "pledged", "programmable", "received", "outstanding", "fx_difference", "disbursed", "psc",
    "available", "spent_on_activities", "gap",
)
PERCENT_KEYS = ("coverage_pct", "delivery_pct", "progress_pct")
COUNT_KEYS = ("activities_total", "activities_completed")
KEYS = (
    "requirement", "pledged", "programmable", "received", "outstanding", "fx_difference", "disbursed", "psc",
    "available", "spent_on_activities", "coverage_pct", "delivery_pct", "progress_pct", "gap",
    "activities_total", "activities_completed",
)


@dataclass
class FundingRow:
    paragraph: int | None  # None: Unearmarked
    title: str
    requirement: int = 0
    pledged: int = 0
    programmable: int = 0
    received: int = 0
    outstanding: int = 0
    disbursed: int = 0
    psc: int = 0
    spent_on_activities: int = 0
    gap: int = 0
    activities_total: int = 0
    activities_completed: int = 0
    weighted_progress: int = 0  # sum(budget cents * progress %)
    coverage_pct: Decimal | None = None
    delivery_pct: Decimal | None = None
    progress_pct: Decimal | None = None

    @property
    def fx_difference(self) -> int:
        return self.received + self.outstanding - self.pledged

    @property
    def available(self) -> int:
        return self.received - self.disbursed - self.psc

    def finish(self) -> None:
        self.coverage_pct = percent_1dp(self.programmable, self.requirement)
        self.delivery_pct = percent_1dp(self.spent_on_activities, self.requirement)
        self.progress_pct = percent_1dp(self.weighted_progress, self.requirement * 100)

    def value(self, key: str):
        return getattr(self, key)


@dataclass
class FundingReport:
    as_of: dt.date
    generated_at: dt.datetime
    chain_head: str
    entries: int
    rows: list[FundingRow] = field(default_factory=list)
    totals: FundingRow | None = None


def _nothing_dated_after(session: Session, as_of: dt.date) -> bool:
    """True when no entry is dated after ``as_of`` (a report as of today): the date filter can
    be left out, so the sums read the journal lines alone (from the covering index
    ix_journal_lines_allocation) without looking up each line's entry."""
    latest = session.execute(select(func.max(JournalEntry.event_date))).scalar()
    return latest is None or latest <= as_of


def _allocation_sums(session: Session, as_of: dt.date):
    """The five sums the funding report needs per allocation. (reports.sums.allocation_sums has
    more columns for statements and the workbook; reading them all here costs 50% more time at
    1,000,000 lines, measured with bench/bench_report.py, so the report keeps this slim query.)"""
    line = JournalLine
    sums = (
        line.allocation_id,
        func.sum(case((line.account == journal.REVENUE, -line.usd_cents), else_=0)),
        func.sum(case((line.account == journal.RECEIVABLE, line.amount_minor), else_=0)),
        func.sum(case(((line.account == journal.CASH) & (line.flow == journal.RECEIPT), line.usd_cents), else_=0)),
        func.sum(case((line.account == journal.EXPENDITURE, line.usd_cents), else_=0)),
        func.sum(case((line.account == journal.PSC, line.usd_cents), else_=0)),
    )
    if _nothing_dated_after(session, as_of):  # sum the lines per allocation, then join the few allocations
        per_allocation = select(*sums).where(line.allocation_id.is_not(None)).group_by(line.allocation_id).subquery()
        c = list(per_allocation.c)
        return session.execute(
            select(c[0], Allocation.paragraph_id, Pledge.currency, Pledge.psc_rate_bp, *c[1:])
            .join(Allocation, Allocation.id == c[0])
            .join(Pledge, Pledge.id == Allocation.pledge_id)
        )
    return session.execute(
        select(sums[0], Allocation.paragraph_id, Pledge.currency, Pledge.psc_rate_bp, *sums[1:])
        .join(JournalEntry, JournalEntry.id == line.entry_id)
        .join(Allocation, Allocation.id == line.allocation_id)
        .join(Pledge, Pledge.id == Allocation.pledge_id)
        .where(JournalEntry.event_date <= as_of)
        .group_by(line.allocation_id, Allocation.paragraph_id, Pledge.currency, Pledge.psc_rate_bp)
    )


def _spent_by_paragraph(session: Session, as_of: dt.date) -> dict[int, int]:
    statement = (
        select(Activity.paragraph_id, func.sum(JournalLine.usd_cents))
        .join(Activity, Activity.id == JournalLine.activity_id)
        .where(JournalLine.account == journal.EXPENDITURE)
        .group_by(Activity.paragraph_id)
    )
    if not _nothing_dated_after(session, as_of):
        statement = statement.join(JournalEntry, JournalEntry.id == JournalLine.entry_id).where(
            JournalEntry.event_date <= as_of)
    return {pid: int(total) for pid, total in session.execute(statement)}


def _activities_by_paragraph(session: Session):
    return session.execute(
        select(
            Activity.paragraph_id,
            func.sum(Activity.budget_cents),
            func.sum(Activity.budget_cents * Activity.progress_pct),
            func.count(),
            func.sum(case((Activity.status == "completed", 1), else_=0)),
        )
        .where(Activity.status != "cancelled")
        .group_by(Activity.paragraph_id)
    )


def funding_report(session: Session, as_of: dt.date | None = None) -> FundingReport:
    as_of = as_of or dt.date.today()
    count, head = journal.head(session)
    report = FundingReport(as_of=as_of, generated_at=utcnow(), chain_head=head, entries=count)
    by_id: dict[int | None, FundingRow] = {}
    for p in paragraphs(session):
        by_id[p.id] = FundingRow(p.number, p.short_title)
    unearmarked = by_id[None] = FundingRow(None, "Unearmarked")
    book = RateBook.load(session)
    for _aid, para, currency, psc_bp, pledged, outstanding, received, disbursed, psc in _allocation_sums(session, as_of):
        row = by_id[para]
        pledged, outstanding = int(pledged), int(outstanding)
        row.pledged += pledged
        row.programmable += programmable_of(pledged, psc_bp)
        if outstanding:
            row.outstanding += to_usd_cents(outstanding, currency, book.on(currency, as_of))
        row.received += int(received)
        row.disbursed += int(disbursed)
        row.psc += int(psc)
    for pid, spent in _spent_by_paragraph(session, as_of).items():
        by_id[pid].spent_on_activities = spent
    for pid, budget, weighted, total, completed in _activities_by_paragraph(session):
        row = by_id[pid]
        row.requirement, row.weighted_progress = int(budget), int(weighted)
        row.activities_total, row.activities_completed = int(total), int(completed or 0)
    report.rows = [row for key, row in by_id.items() if key is not None] + [unearmarked]
    for row in report.rows:
        if row.paragraph is not None:
            row.gap = max(row.requirement - row.programmable, 0)
        row.finish()
    totals = FundingRow(None, "Totals")
    summed = [f.name for f in fields(FundingRow) if f.type == "int" and f.name not in ("paragraph", "gap")]
    for name in summed:
        setattr(totals, name, sum(getattr(r, name) for r in report.rows))
    totals.gap = max(sum(r.gap for r in report.rows if r.paragraph is not None) - unearmarked.programmable, 0)
    totals.finish()
    report.totals = totals
    return report


def funding_report_for(ledger, as_of: dt.date | None = None) -> FundingReport:
    """The funding report of an open ledger (for callers that hold no session, like the TUI)."""
    with ledger.reading() as session:
        return funding_report(session, as_of)
