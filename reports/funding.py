"""Funding versus implementation, per operative paragraph, as of a date (docs/rules.md#the-funding-report).

The figures of ledger.figures, summed by SQL over the journal lines per allocation (where the
per-allocation roundings of programmable and outstanding must happen), then finished in
integers by the rules defined there. Every money figure is in US cents.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ledger import figures
from ledger.clock import utcnow
from ledger.money import percent_1dp
from ledger.paragraphs import paragraphs
from ledger.rates import RateBook, StaleRate
from ledger.schema import Activity, Allocation, Pledge
from ledger.versions import activities_as_recorded

from .moments import read_at

MONEY_KEYS = (
    "requirement", "pledged", "programmable", "received", "refunded", "outstanding", "fx_difference", "announced",
    "disbursed", "psc", "available", "spent_on_activities", "gap",
)
PERCENT_KEYS = ("coverage_pct", "delivery_pct", "progress_pct")
COUNT_KEYS = ("activities_total", "activities_completed")
KEYS = (
    "requirement", "pledged", "programmable", "received", "refunded", "outstanding", "fx_difference", "announced",
    "disbursed", "psc", "available", "spent_on_activities", "coverage_pct", "delivery_pct", "progress_pct", "gap",
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
    refunded: int = 0
    outstanding: int = 0
    announced: int = 0  # announced pledges not signed (nor withdrawn) as of the date: not part of pledged
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
        return figures.fx_difference(self.received, self.refunded, self.outstanding, self.pledged)

    @property
    def available(self) -> int:
        return figures.available(self.received, self.refunded, self.disbursed, self.psc)

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
    chain_head: str  # the chain head as recorded at as_recorded_at
    entries: int
    as_recorded_at: dt.datetime | None = None
    closed_through: dt.date | None = None
    command: str = ""  # the command that makes this report again, figure for figure
    rows: list[FundingRow] = field(default_factory=list)
    totals: FundingRow | None = None
    stale_rates: list[StaleRate] = field(default_factory=list)  # rates used not of the as-of month

    @property
    def gap_covered_by_unearmarked(self) -> int:
        """How much of the paragraphs' gaps the unearmarked programmable money covers: the sum of
        the paragraph rows' gaps less the total gap (a view that lists the paragraphs' gaps adds
        this, negated, on the unearmarked row to reach the total)."""
        return sum(r.gap for r in self.rows if r.paragraph is not None) - self.totals.gap


FIGURES = (figures.PLEDGED_USD, figures.OUTSTANDING, figures.RECEIVED_USD, figures.REFUNDED_USD, figures.DISBURSED_USD,
           figures.PSC_USD, figures.ANNOUNCED_USD)


def _allocation_sums(session: Session, as_of: dt.date):
    """The six figures the funding report needs per allocation. (reports.sums.allocation_sums
    has more columns for statements and the workbook; reading them all here costs 50% more time
    at 1,000,000 lines, measured with bench/bench_report.py, so the report reads only these.)"""
    return figures.per_allocation(session, as_of, FIGURES, Allocation.paragraph_id, Pledge.currency, Pledge.psc_rate_bp)


def _spent_by_paragraph(session: Session, as_of: dt.date) -> dict[int, int]:
    paragraph_of = dict(session.execute(select(Activity.id, Activity.paragraph_id)).all())
    spent: dict[int, int] = {}
    for activity_id, cents in figures.spent_per_activity(session, as_of).items():
        spent[paragraph_of[activity_id]] = spent.get(paragraph_of[activity_id], 0) + cents
    return spent


def _activities_by_paragraph(session: Session, recorded_at: dt.datetime | None):
    """Requirement, weighted progress and counts from the activities as recorded at ``recorded_at``."""
    activity = activities_as_recorded(recorded_at).c
    return session.execute(
        select(
            activity.paragraph_id,
            func.sum(activity.budget_cents),
            func.sum(activity.budget_cents * activity.progress_pct),
            func.count(),
            func.sum(case((activity.status == "completed", 1), else_=0)),
        )
        .where(activity.status != "cancelled")
        .group_by(activity.paragraph_id)
    )


def funding_report(session: Session, as_of: dt.date | None = None, recorded_at: dt.datetime | None = None) -> FundingReport:
    """The report as of ``as_of`` (default: the date of ``recorded_at``, else today) as recorded at
    ``recorded_at`` (default and latest: the latest stamp; docs/rules.md#as-recorded-at)."""
    moments = read_at(session, as_of, recorded_at, "report funding")
    as_of, at = moments.as_of, moments.at
    report = FundingReport(as_of=as_of, generated_at=utcnow(), chain_head=at.head_hash, entries=at.entries,
                           as_recorded_at=at.recorded_at, closed_through=moments.closed_through,
                           command=moments.command)
    by_id: dict[int | None, FundingRow] = {}
    for p in paragraphs(session):
        by_id[p.id] = FundingRow(p.number, p.short_title)
    unearmarked = by_id[None] = FundingRow(None, "Unearmarked")
    book = RateBook.load(session, at.recorded_at)
    valued: set[str] = set()  # the currencies whose outstanding was valued at the as-of rate
    for _aid, para, currency, psc_bp, pledged, outstanding, received, refunded, disbursed, psc, announced in (
            _allocation_sums(session, as_of)):
        row = by_id[para]
        pledged, outstanding = int(pledged), int(outstanding)
        row.pledged += pledged
        row.programmable += figures.programmable_of(pledged, psc_bp)
        row.outstanding += figures.outstanding_usd(outstanding, currency, book.on(currency, as_of))
        if outstanding:
            valued.add(currency)
        row.received += int(received)
        row.refunded += int(refunded)
        row.disbursed += int(disbursed)
        row.psc += int(psc)
        row.announced += int(announced)
    for pid, spent in _spent_by_paragraph(session, as_of).items():
        by_id[pid].spent_on_activities = spent
    for pid, budget, weighted, total, completed in _activities_by_paragraph(session, at.recorded_at):
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
    report.stale_rates = book.stale(valued, as_of)
    return report


def funding_report_for(ledger, as_of: dt.date | None = None, recorded_at: dt.datetime | None = None) -> FundingReport:
    """The funding report of an open ledger (for callers that hold no session, like the TUI)."""
    with ledger.reading() as session:
        return funding_report(session, as_of, recorded_at)
