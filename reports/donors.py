"""Donor statements as of a date (docs/rules.md#the-donors-report).

Per donor, in USD: pledged (net of cancellations and refunds), cancelled, received, refunded, outstanding (valued
at the rate in force on the as-of date, rounded per allocation), the exchange difference,
spending paid with the donor's money by paragraph and activity, the PSC charged on it, and
the balance = received - refunded - spent - PSC. Every figure is a sum of journal lines dated on or
before the as-of date (reports/sums.py); the column totals equal the funding report's.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import figures, recorded
from ledger.clock import utcnow
from ledger.rates import RateBook, StaleRate
from ledger.schema import Activity, JournalEntry, JournalLine, Paragraph, Pledge
from ledger.versions import activities_as_recorded, donors_as_recorded

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
from .sums import add_figures, allocation_sums, reversed_as_of, stale_rates_of

MONEY_KEYS = ("pledged", "cancelled", "received", "refunded", "outstanding", "fx_difference", "spent", "psc", "balance",
              "announced")


@dataclass
class SpendingLine:
    """Spending paid with one donor's money on one activity (funding splits summed)."""

    paragraph: int
    activity: str
    activity_title: str
    spent: int = 0
    psc: int = 0


@dataclass
class DonorStatement:
    donor: str  # code; "" for the totals
    name: str
    kind: str = ""
    country: str | None = None
    currency: str | None = None
    iati_ref: str | None = None
    pledges: int = 0
    pledged: int = 0
    cancelled: int = 0
    received: int = 0
    refunded: int = 0
    outstanding: int = 0
    spent: int = 0
    psc: int = 0
    announced: int = 0  # announced pledges not yet signed (nor withdrawn): not part of pledged
    spending: list[SpendingLine] = field(default_factory=list)

    @property
    def fx_difference(self) -> int:
        return figures.fx_difference(self.received, self.refunded, self.outstanding, self.pledged)

    @property
    def balance(self) -> int:
        return figures.available(self.received, self.refunded, self.spent, self.psc)


@dataclass
class DonorReport:
    as_of: dt.date
    generated_at: dt.datetime
    chain_head: str
    entries: int
    rows: list[DonorStatement]
    totals: DonorStatement
    as_recorded_at: dt.datetime | None = None
    closed_through: dt.date | None = None
    command: str = ""
    stale_rates: list[StaleRate] = field(default_factory=list)  # rates that valued outstanding amounts, not of the as-of month


def _live_pledges(session: Session, as_of: dt.date) -> dict[int, int]:
    """donor id -> pledges dated on or before as_of and not reversed by then."""
    undone = reversed_as_of(session, as_of)
    counts: dict[int, int] = {}
    rows = session.execute(select(Pledge.donor_id, Pledge.entry_id).where(Pledge.pledged_on <= as_of, *figures.recorded(session, Pledge.entry_id)))
    for donor_id, entry_id in rows:
        if entry_id not in undone:
            counts[donor_id] = counts.get(donor_id, 0) + 1
    return counts


def _spending(session: Session, as_of: dt.date):
    line = JournalLine
    then = activities_as_recorded(recorded.recorded_at(session))  # titles and paragraphs as recorded at T
    return session.execute(
        select(
            line.donor_id, Paragraph.number, Activity.code, then.c.title,
            figures.DISBURSED_USD.among(), figures.PSC_USD.among(),
        )
        .join(JournalEntry, JournalEntry.id == line.entry_id)
        .join(Activity, Activity.id == line.activity_id)
        .join(then, then.c.activity_id == Activity.id)
        .join(Paragraph, Paragraph.id == then.c.paragraph_id)
        .where(JournalEntry.event_date <= as_of, *figures.recorded(session, JournalEntry.id), line.account.in_(figures.accounts((figures.DISBURSED_USD, figures.PSC_USD))))
        .group_by(line.donor_id, Paragraph.number, Activity.code, then.c.title)
        .order_by(line.donor_id, Paragraph.number, Activity.code)
    )


def donor_report(session: Session, as_of: dt.date | None = None, book: RateBook | None = None,
                 recorded_at: dt.datetime | None = None) -> DonorReport:
    """As of ``as_of`` and as recorded at ``recorded_at`` (docs/rules.md#as-recorded-at)."""
    moments = read_at(session, as_of, recorded_at, "report donors")
    as_of, count, head = moments.as_of, moments.at.entries, moments.at.head_hash
    statements: dict[int, DonorStatement] = {}
    donor = donors_as_recorded(moments.at.recorded_at).c  # the donors and their names as recorded at T
    for did, code, name, kind, country, currency, iati_ref in session.execute(
        select(donor.donor_id, donor.code, donor.name, donor.kind, donor.country, donor.currency, donor.iati_ref)
        .order_by(donor.code)
    ):
        statements[did] = DonorStatement(code, name, kind, country, currency, iati_ref)
    for did, n in _live_pledges(session, as_of).items():
        statements[did].pledges = n
    book = book or RateBook.load(session, moments.at.recorded_at)
    sums = allocation_sums(session, as_of, book)
    for s in sums:
        add_figures(statements[s.donor_id], s)
    for did, paragraph, code, title, spent, psc in _spending(session, as_of):
        row = statements[did]
        spent, psc = int(spent or 0), int(psc or 0)
        row.spending.append(SpendingLine(paragraph, code, title, spent, psc))
        row.spent += spent
        row.psc += psc
    rows = list(statements.values())
    totals = DonorStatement("", "Total")
    for key in ("pledges", "pledged", "cancelled", "received", "refunded", "outstanding", "spent", "psc", "announced"):
        setattr(totals, key, sum(getattr(r, key) for r in rows))
    return DonorReport(as_of, utcnow(), head, count, rows, totals, moments.at.recorded_at, moments.closed_through,
                       moments.command, stale_rates_of(sums, book, as_of))


def donor_report_for(ledger, as_of: dt.date | None = None, recorded_at: dt.datetime | None = None) -> DonorReport:
    with ledger.reading() as session:
        return donor_report(session, as_of, recorded_at=recorded_at)


# -- rendering -------------------------------------------------------------------------------

def row_values(row: DonorStatement) -> dict:
    values: dict = {}
    for key in MONEY_KEYS:
        values[key] = money(getattr(row, key))
    values["pledges"] = int(row.pledges)
    return values


def donors_json(report: DonorReport) -> str:
    document = {
        **json_header(report),
        "rows": [
            {
                "donor": r.donor, "name": r.name, "kind": r.kind, "country": r.country, "currency": r.currency,
                "iati_ref": r.iati_ref, **row_values(r),
                "spending": [
                    {"paragraph": s.paragraph, "activity": s.activity, "title": s.activity_title,
                     "spent": money(s.spent), "psc": money(s.psc)}
                    for s in r.spending
                ],
            }
            for r in report.rows
        ],
        "totals": row_values(report.totals),
        "stale_rates": stale_rates_json(report.stale_rates),
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


CSV_COLUMNS = ("donor", "name", "kind", "country", "currency", "pledges", *MONEY_KEYS)


def donors_csv(report: DonorReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in [*report.rows, report.totals]:
        values = row_values(row)
        label = "total" if row is report.totals else safe_text(row.donor)
        texts = [label, safe_text(row.name if row is not report.totals else ""), safe_text(row.kind),
                 safe_text(row.country), safe_text(row.currency)]
        writer.writerow([*texts, values["pledges"], *(values[k] for k in MONEY_KEYS)])
    return out.getvalue()


TABLE_COLUMNS = (
    ("pledged", "Pledged"), ("received", "Received"), ("refunded", "Refunded"), ("outstanding", "Outstanding"),
    ("fx_difference", "FX diff"), ("spent", "Spent"), ("psc", "PSC"), ("balance", "Balance"), ("announced", "Announced"),
)


def donors_table(report: DonorReport, width: int = 200):
    """A rich Table: one line per donor, then its spending by paragraph and activity."""
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"Donor statements, USD, as of {report.as_of}",
        caption=provenance(report) + stale_rates_caption(report.stale_rates),
    )
    table.add_column("Donor", no_wrap=width >= 120, max_width=40)
    for _key, label in TABLE_COLUMNS:
        table.add_column(label, justify="right", no_wrap=True)
    for row in report.rows:
        table.add_row(Text(f"{row.donor} {row.name}"), *(money_grouped(getattr(row, k)) for k, _ in TABLE_COLUMNS),
                      style="bold")
        for s in row.spending:
            cells = {"spent": money_grouped(s.spent), "psc": money_grouped(s.psc)}
            table.add_row(Text(f"  ¶{s.paragraph} {s.activity}"), *(cells.get(k, "") for k, _ in TABLE_COLUMNS))
    table.add_row("Total", *(money_grouped(getattr(report.totals, k)) for k, _ in TABLE_COLUMNS),
                  style="bold", end_section=True)
    return table
