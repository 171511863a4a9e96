"""Pledge ageing as of a date (docs/rules.md#pledge-ageing).

For every pledge with something outstanding on the as-of date: the outstanding amount in
the pledge's currency (amount - received - cancelled, lines dated on or before as-of), its
USD value at the rate in force on the as-of date (rounded per allocation, then summed, as
in the funding report, so the ageing total equals the funding report's outstanding), and
its age: days from the due date, or from the pledge date where there is none, to the as-of
date. Buckets: not due (0 days or fewer), 1-90, 91-180, 181-365, over 365. Overdue is
``ledger.figures.is_overdue`` (a due date before the as-of date and something outstanding),
the same set as the dashboard's alert and the pledge list's "overdue" status.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ledger.clock import utcnow
from ledger.instalments import unpaid_instalments
from ledger.money import format_amount
from ledger.rates import RateBook, StaleRate
from ledger.versions import donor_names

from .formats import (
    json_header,
    money,
    money_grouped,
    provenance,
    safe_text,
    stale_rates_caption,
    stale_rates_json,
)
from .moments import read_at
from .sums import allocation_sums, stale_rates_of

BUCKETS = (("not_due", "Not due"), ("1_90", "1-90 days"), ("91_180", "91-180 days"),
           ("181_365", "181-365 days"), ("over_365", "Over 365 days"))
BUCKET_LABELS = dict(BUCKETS)


def bucket_of(days: int) -> str:
    if days <= 0:
        return "not_due"
    if days <= 90:
        return "1_90"
    if days <= 180:
        return "91_180"
    if days <= 365:
        return "181_365"
    return "over_365"


@dataclass
class AgeingRow:
    pledge: str
    donor: str
    donor_name: str
    currency: str
    pledged_on: dt.date
    due_on: dt.date | None  # the instalment's
    days: int  # from the instalment's due date (else the pledge date) to the as-of date
    bucket: str
    outstanding_minor: int  # in the pledge's currency
    outstanding_usd: int  # cents at the as-of rate: each allocation's split over its pledge's unpaid instalments
    overdue: bool  # ledger.instalments.is_overdue as of the report's date
    instalment: str = ""  # "2/3": the second of three instalments ("": a pledge without schedule)

    @property
    def outstanding(self) -> str:
        return format_amount(self.outstanding_minor, self.currency, thousands=False)


@dataclass
class AgeingReport:
    as_of: dt.date
    generated_at: dt.datetime
    chain_head: str
    entries: int
    rows: list[AgeingRow]
    as_recorded_at: dt.datetime | None = None
    closed_through: dt.date | None = None
    command: str = ""
    stale_rates: list[StaleRate] = field(default_factory=list)  # rates that valued outstanding amounts, not of the as-of month

    def bucket_total(self, bucket: str) -> int:
        return sum(r.outstanding_usd for r in self.rows if r.bucket == bucket)

    @property
    def total_usd(self) -> int:
        return sum(r.outstanding_usd for r in self.rows)

    @property
    def overdue_rows(self) -> list[AgeingRow]:
        return [r for r in self.rows if r.overdue]


def ageing_report(session: Session, as_of: dt.date | None = None, book: RateBook | None = None,
                  recorded_at: dt.datetime | None = None) -> AgeingReport:
    """As of ``as_of`` and as recorded at ``recorded_at`` (docs/rules.md#as-recorded-at)."""
    moments = read_at(session, as_of, recorded_at, "report ageing")
    as_of, count, head = moments.as_of, moments.at.entries, moments.at.head_hash
    book = book or RateBook.load(session, moments.at.recorded_at)
    sums = allocation_sums(session, as_of, book)
    rows: list[AgeingRow] = []
    unpaid = unpaid_instalments(session, as_of, book, unscheduled=True)
    if unpaid:
        names = donor_names(session, moments.at.recorded_at)  # the names as recorded at T
        for i in unpaid:
            days = i.days(as_of)
            rows.append(AgeingRow(i.reference, i.donor, names.get(i.donor_id, ""), i.currency, i.pledged_on, i.due_on, days,
                                  bucket_of(days), i.unpaid_minor, i.unpaid_cents, i.overdue(as_of),
                                  f"{i.position}/{i.of}" if i.of else ""))
    rows.sort(key=lambda r: (-r.days, r.pledge, r.instalment))
    return AgeingReport(as_of, utcnow(), head, count, rows, moments.at.recorded_at, moments.closed_through,
                        moments.command, stale_rates_of(sums, book, as_of))


def ageing_report_for(ledger, as_of: dt.date | None = None, recorded_at: dt.datetime | None = None) -> AgeingReport:
    with ledger.reading() as session:
        return ageing_report(session, as_of, recorded_at=recorded_at)


# -- rendering -------------------------------------------------------------------------------

def row_values(row: AgeingRow) -> dict:
    return {
        "pledge": row.pledge, "donor": row.donor, "donor_name": row.donor_name, "currency": row.currency,
        "pledged_on": row.pledged_on.isoformat(), "instalment": row.instalment or None,
        "due_on": row.due_on.isoformat() if row.due_on else None,
        "days": row.days, "bucket": row.bucket, "outstanding": row.outstanding,
        "outstanding_usd": money(row.outstanding_usd), "overdue": row.overdue,
    }


def summary_values(report: AgeingReport) -> dict:
    return {
        "buckets": {key: money(report.bucket_total(key)) for key, _ in BUCKETS},
        "total_usd": money(report.total_usd),
        "pledges": len({r.pledge for r in report.rows}),
        "instalments": len(report.rows),
        "overdue_pledges": len({r.pledge for r in report.overdue_rows}),
        "overdue_instalments": len(report.overdue_rows),
        "overdue_usd": money(sum(r.outstanding_usd for r in report.overdue_rows)),
    }


def ageing_json(report: AgeingReport) -> str:
    document = {
        **json_header(report),
        "rows": [row_values(r) for r in report.rows],
        "totals": summary_values(report),
        "stale_rates": stale_rates_json(report.stale_rates),
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


CSV_COLUMNS = ("pledge", "donor", "donor_name", "currency", "pledged_on", "instalment", "due_on", "days", "bucket",
               "outstanding", "outstanding_usd", "overdue")
TEXT_COLUMNS = ("pledge", "donor", "donor_name")


def ageing_csv(report: AgeingReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        values = row_values(row)
        for key in TEXT_COLUMNS:
            values[key] = safe_text(values[key])
        values["overdue"] = "yes" if row.overdue else "no"
        writer.writerow(["" if values[k] is None else values[k] for k in CSV_COLUMNS])
    for key, _label in BUCKETS:
        writer.writerow([f"total {key}", "", "", "USD", "", "", "", "", key, "", money(report.bucket_total(key)), ""])
    writer.writerow(["total", "", "", "USD", "", "", "", "", "", "", money(report.total_usd), ""])
    return out.getvalue()


def ageing_table(report: AgeingReport, width: int = 200):
    from rich.table import Table
    from rich.text import Text

    overdue = report.overdue_rows
    table = Table(
        title=f"Pledge ageing, as of {report.as_of}",
        caption=(f"{len(overdue)} overdue instalment(s), USD {money_grouped(sum(r.outstanding_usd for r in overdue))}; "
                 f"{provenance(report)}{stale_rates_caption(report.stale_rates)}"),
    )
    for label, justify in (("Pledge", "left"), ("Donor", "left"), ("Pledged on", "left"), ("Inst.", "left"), ("Due on", "left"),
                           ("Days", "right"), ("Bucket", "left"), ("Outstanding", "right"), ("USD", "right"),
                           ("Alert", "left")):
        table.add_column(label, justify=justify, no_wrap=True)
    for i, r in enumerate(report.rows):
        table.add_row(
            Text(r.pledge), Text(r.donor), r.pledged_on.isoformat(), r.instalment or "–",
            r.due_on.isoformat() if r.due_on else "–",
            str(r.days), BUCKET_LABELS[r.bucket], f"{r.currency} {format_amount(r.outstanding_minor, r.currency)}",
            money_grouped(r.outstanding_usd), "OVERDUE" if r.overdue else "",
            style="red" if r.overdue else None, end_section=i == len(report.rows) - 1,
        )
    for key, label in BUCKETS:
        table.add_row("", "", "", "", "", "", label, "", money_grouped(report.bucket_total(key)), "")
    table.add_row("Total", "", "", "", "", "", "", "", money_grouped(report.total_usd), "", style="bold")
    return table
