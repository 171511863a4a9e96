"""``report reminders``: per donor, the instalments overdue or falling due within N days of the as-of
date (docs/rules.md#reminders), as a table, JSON, CSV or a workbook a finance officer can send.

The instalments and their unpaid parts are ``ledger.instalments.unpaid_instalments`` (the ageing
report's and the alerts'); N is ``--within``, else the ``reminder_days`` setting in force.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from ledger import settings
from ledger.clock import utcnow
from ledger.instalments import UnpaidInstalment, unpaid_instalments
from ledger.money import format_amount
from ledger.rates import RateBook, StaleRate
from ledger.roles import Actor
from ledger.unit_of_work import Reader
from ledger.versions import donor_names

from .files import replaced_on_success
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
from .spreadsheet import BookWriter, Column


@dataclass(frozen=True)
class Reminder:
    instalment: UnpaidInstalment
    overdue: bool  # else due within the window
    days_late: int  # as-of date - due date (negative: days until it is due)


@dataclass
class DonorReminders:
    code: str
    name: str
    reminders: list[Reminder]

    @property
    def usd(self) -> int:
        return sum(r.instalment.unpaid_cents for r in self.reminders)


@dataclass
class RemindersReport:
    as_of: dt.date
    within: int  # days after the as-of date
    generated_at: dt.datetime
    chain_head: str
    entries: int
    donors: list[DonorReminders]
    as_recorded_at: dt.datetime | None = None
    closed_through: dt.date | None = None
    command: str = ""
    stale_rates: list[StaleRate] = field(default_factory=list)

    @property
    def until(self) -> dt.date:
        return self.as_of + dt.timedelta(days=self.within)

    @property
    def total_usd(self) -> int:
        return sum(d.usd for d in self.donors)


def reminders_report(session: Session, as_of: dt.date | None = None, within: int | None = None,
                     recorded_at: dt.datetime | None = None) -> RemindersReport:
    """As of ``as_of`` and as recorded at ``recorded_at``: the instalments overdue, or due from the
    as-of date to ``within`` days after it (default: the ``reminder_days`` setting), by donor code,
    then due date."""
    moments = read_at(session, as_of, recorded_at, "report reminders")
    as_of, at = moments.as_of, moments.at
    if within is None:
        reader = Reader(session, Actor("", None))
        reader.recorded_at = at.recorded_at
        within = int(settings.value(reader, "reminder_days"))
    until = as_of + dt.timedelta(days=within)
    book = RateBook.load(session, at.recorded_at)
    chosen = [i for i in unpaid_instalments(session, as_of, book) if i.due_on <= until]
    names = donor_names(session, at.recorded_at) if chosen else {}  # as recorded at T
    by_donor: dict[str, DonorReminders] = {}
    for i in sorted(chosen, key=lambda i: (i.donor, i.due_on, i.reference)):
        group = by_donor.setdefault(i.donor, DonorReminders(i.donor, names.get(i.donor_id, ""), []))
        group.reminders.append(Reminder(i, i.overdue(as_of), (as_of - i.due_on).days))
    return RemindersReport(as_of, within, utcnow(), at.head_hash, at.entries, list(by_donor.values()),
                           at.recorded_at, moments.closed_through, moments.command,
                           book.stale({i.currency for i in chosen}, as_of))


def reminders_report_for(ledger, as_of: dt.date | None = None, within: int | None = None,
                         recorded_at: dt.datetime | None = None) -> RemindersReport:
    with ledger.reading() as session:
        return reminders_report(session, as_of, within, recorded_at)


# -- rendering -----------------------------------------------------------------------------------
def _amount(i: UnpaidInstalment) -> str:
    return format_amount(i.unpaid_minor, i.currency, thousands=False)


def reminder_values(donor: DonorReminders, r: Reminder) -> dict:
    i = r.instalment
    return {"donor": donor.code, "donor_name": donor.name, "pledge": i.reference, "instalment": f"{i.position}/{i.of}",
            "due_on": i.due_on.isoformat(), "status": "overdue" if r.overdue else "due", "days_late": r.days_late,
            "currency": i.currency, "unpaid": _amount(i), "unpaid_usd": money(i.unpaid_cents)}


def reminders_json(report: RemindersReport) -> str:
    document = {
        **json_header(report),
        "within_days": report.within,
        "until": report.until.isoformat(),
        "donors": [{"donor": d.code, "donor_name": d.name, "unpaid_usd": money(d.usd),
                    "instalments": [reminder_values(d, r) for r in d.reminders]} for d in report.donors],
        "total_usd": money(report.total_usd),
        "stale_rates": stale_rates_json(report.stale_rates),
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


CSV_COLUMNS = ("donor", "donor_name", "pledge", "instalment", "due_on", "status", "days_late", "currency", "unpaid",
               "unpaid_usd")


def reminders_csv(report: RemindersReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for d in report.donors:
        for r in d.reminders:
            values = reminder_values(d, r)
            for key in ("donor", "donor_name", "pledge"):
                values[key] = safe_text(values[key])
            writer.writerow([values[k] for k in CSV_COLUMNS])
    writer.writerow(["total", "", "", "", "", "", "", "USD", "", money(report.total_usd)])
    return out.getvalue()


def reminders_table(report: RemindersReport, width: int = 200):
    """The table of ``report reminders`` and of the Reminders screen. Where the whole table does not
    fit in ``width`` columns it keeps every amount whole: the donor by its code, the instalment after
    the pledge, "due" in the days-late column instead of a status column, and no rules between the
    cells or at the edges."""
    from rich.console import Console

    table = _reminders_table(report, wide=True)
    needs = Console(width=10_000, file=io.StringIO()).measure(table).maximum
    return table if needs <= width else _reminders_table(report, wide=False)


def _reminders_table(report: RemindersReport, wide: bool):
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"Reminders: instalments overdue or due by {report.until} (as of {report.as_of}, "
                        f"within {report.within} days)",
                  caption=f"{provenance(report)}{stale_rates_caption(report.stale_rates)}",
                  box=box.HEAVY_HEAD if wide else box.SIMPLE_HEAD, padding=(0, 1) if wide else (0, 0, 0, 1),
                  show_edge=wide)
    labels = (("Donor", "left"), ("Pledge", "left"), ("Inst.", "left"), ("Due on", "left"), ("Status", "left"),
              ("Days late", "right"), ("Unpaid", "right"), ("USD (as-of rate)", "right"))
    keep = range(8) if wide else (0, 1, 3, 5, 6, 7)
    short = {"Days late": "Late", "USD (as-of rate)": "USD"}
    for n in keep:
        label, justify = labels[n]
        table.add_column(label if wide else short.get(label, label), justify=justify, no_wrap=True)

    def row(*cells, **style):
        table.add_row(*(cells[n] for n in keep), **style)

    for d in report.donors:
        for n, r in enumerate(d.reminders):
            i = r.instalment
            late = (f"{r.days_late:,}" if wide else f"{r.days_late:,} d") if r.overdue else ("" if wide else "due")
            row(Text("" if n else f"{d.code} {d.name}" if wide else d.code),
                Text(i.reference if wide else f"{i.reference} {i.position}/{i.of}"), f"{i.position}/{i.of}",
                i.due_on.isoformat(), "OVERDUE" if r.overdue else "due", late,
                f"{i.currency} {format_amount(i.unpaid_minor, i.currency)}", money_grouped(i.unpaid_cents),
                style="red" if r.overdue else None)
        row("", "", "", "", "", "", Text(f"{d.code} total", style="bold"), money_grouped(d.usd), end_section=True)
    row(Text("Total", style="bold"), "", "", "", "", "", "", money_grouped(report.total_usd), style="bold")
    return table


def write_reminders_workbook(report: RemindersReport, path: Path) -> int:
    """One sheet grouped by donor (a subtotal row after each donor's instalments), and an About
    sheet with the moments; written whole or not at all. Returns how many instalments it lists."""
    book = BookWriter()
    sheet = book.sheet("Reminders", (
        Column("Donor", 10), Column("Donor name", 26), Column("Pledge", 16), Column("Instalment", 10),
        Column("Due on", 11, "date"), Column("Status", 9), Column("Days late", 9, "int"), Column("Currency", 9),
        Column("Unpaid", 16, "money"), Column("Unpaid USD (as-of rate)", 16, "usd"),
    ), f"Instalments overdue or due by {report.until.isoformat()}, as of {report.as_of.isoformat()}")
    ws = sheet.ws
    count = 0
    for d in report.donors:
        for r in d.reminders:
            i = r.instalment
            count += 1
            sheet.append([book.text(ws, d.code), book.text(ws, d.name), book.text(ws, i.reference), f"{i.position}/{i.of}",
                          book.date(ws, i.due_on), "OVERDUE" if r.overdue else "due", r.days_late if r.overdue else None,
                          i.currency, book.amount(ws, i.unpaid_minor, i.currency), book.usd(ws, i.unpaid_cents)])
        sheet.append([book.text(ws, d.code, bold=True), book.text(ws, f"Total {d.name}", bold=True), None, None, None,
                      None, None, "USD", None, book.usd(ws, d.usd, bold=True)])
    sheet.end_data()
    sheet.append([book.text(ws, "Total", bold=True), None, None, None, None, None, None, "USD", None,
                  book.usd(ws, report.total_usd, bold=True)])
    sheet.close()
    about = book.sheet("About", (Column("", 28), Column("", 90)))
    for label, value in (("As of", report.as_of.isoformat()), ("Within (days)", str(report.within)),
                         ("Due by", report.until.isoformat()), ("Made", provenance(report)),
                         ("Unpaid", "what is left of each instalment once the pledge's receipts are applied earliest "
                                    "due first and its cancellations latest due first; USD at the as-of date's rate")):
        about.append([book.text(about.ws, label, bold=True), book.text(about.ws, value, wrap=True)])
    about.close()
    with replaced_on_success(Path(path), ".reminders-") as temporary:
        book.save(temporary)
    return count
