"""A workbook for one donor (``export --donor CODE``): its statement (reports/statement.py) on
four sheets - Statement, Instalments, Events, Spending - and the audit workbook's About sheet,
with the command that makes it again (docs/reports.md#the-donor-workbook)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.orm import Session

from ledger.clock import utcnow
from ledger.reconcile import verified_up_to, verify_ledger

from .files import replaced_on_success
from .formats import stale_rates_text
from .moments import read_at
from .spreadsheet import BookWriter, Column, Progress
from .statement import Statement, statement, statement_title
from .sums import use_snapshot
from .workbook import ExportResult, about_rows, finish_about

SHEETS = ("Statement", "Instalments", "Events", "Spending", "About")
FIGURES = ("pledged", "cancelled", "received", "refunded", "outstanding", "spent", "psc", "balance")


def statement_sheets(book: BookWriter, s: Statement) -> None:
    title = statement_title(s)
    sheet = book.sheet("Statement", (
        Column("Pledge", 16), Column("Pledged on", 11, "date"), Column("Stage", 10), Column("Currency", 9),
        Column("Amount", 16, "money"), Column("Outstanding", 16, "money"), Column("Reversed on", 11, "date"),
        Column("Pledged USD", 15, "usd"), Column("Cancelled USD", 15, "usd"), Column("Received USD", 15, "usd"),
        Column("Refunded USD", 15, "usd"), Column("Outstanding USD", 15, "usd"), Column("Spent USD", 15, "usd"),
        Column("PSC USD", 13, "usd"), Column("Balance USD", 15, "usd"),
    ), title)
    ws = sheet.ws
    for p in s.pledges:
        sheet.append([book.text(ws, p.reference), book.date(ws, p.pledged_on), p.stage, p.currency,
                      book.amount(ws, p.amount, p.currency), book.amount(ws, p.outstanding_minor, p.currency),
                      book.date(ws, p.reversed_on), *(book.usd(ws, getattr(p, key)) for key in FIGURES)])
    sheet.end_data()
    sheet.append([book.text(ws, "Total", bold=True), None, None, None, None, None, None,
                  *(book.usd(ws, value, bold=True) for value in s.totals().values())])
    sheet.close()

    sheet = book.sheet("Instalments", (
        Column("Pledge", 16), Column("Due on", 11, "date"), Column("Currency", 9), Column("Amount", 16, "money"),
    ), f"{title}: the schedules in force")
    ws = sheet.ws
    for p in s.pledges:
        for due, minor in p.schedule:
            sheet.append([book.text(ws, p.reference), book.date(ws, due), p.currency, book.amount(ws, minor, p.currency)])
    sheet.end_data()
    sheet.close()

    sheet = book.sheet("Events", (
        Column("Pledge", 16), Column("Date", 11, "date"), Column("Entry", 8, "int"), Column("Kind", 14),
        Column("Reference", 16), Column("Memo", 40), Column("Currency", 9), Column("Receivable change", 16, "money"),
        Column("Pledged USD change", 15, "usd"), Column("Cash USD change", 15, "usd"), Column("Received USD", 15, "usd"),
        Column("Refunded USD", 15, "usd"),
    ), f"{title}: every entry on its pledges (receivable in the pledge's currency; pledged, cash = received - "
       "refunded in USD; closings and schedules without money)")
    ws = sheet.ws
    for p in s.pledges:
        for e in p.events:
            sheet.append([book.text(ws, p.reference), book.date(ws, e.day), e.entry_id, e.kind, book.text(ws, e.reference),
                          book.text(ws, e.memo), p.currency, book.amount(ws, e.receivable, p.currency),
                          book.usd(ws, e.pledged), book.usd(ws, e.cash), book.usd(ws, e.received),
                          book.usd(ws, e.refunded)])
    sheet.end_data()
    sheet.close()

    sheet = book.sheet("Spending", (
        Column("Paragraph", 10, "int"), Column("Activity", 12), Column("Activity title", 40),
        Column("Spent USD", 15, "usd"), Column("PSC USD", 13, "usd"),
    ), f"{title}: spending paid with the donor's money")
    ws = sheet.ws
    for x in s.spending:
        sheet.append([x.paragraph, book.text(ws, x.activity), book.text(ws, x.activity_title), book.usd(ws, x.spent),
                      book.usd(ws, x.psc)])
    sheet.end_data()
    sheet.close()


def write_donor_workbook(session: Session, path: Path, donor_code: str, as_of: dt.date | None = None, *,
                         ledger_url: str = "", user: str = "", progress: Progress | None = None,
                         recorded_at: dt.datetime | None = None) -> ExportResult:
    """Write donor ``donor_code``'s workbook to ``path`` (atomically), as of ``as_of`` and as recorded
    at ``recorded_at``; NotFound naming the donor when there is none by that code."""
    path = Path(path)
    use_snapshot(session)
    generated_at = utcnow()
    moments = read_at(session, as_of, recorded_at, f"export -o FILE.xlsx --donor {donor_code}")
    s = statement(session, donor_code, moments.as_of, recorded_at)
    verification = verified_up_to(verify_ledger(session), moments.at)
    book = BookWriter(progress)
    statement_sheets(book, s)
    about = about_rows(session, f"donor-ledger donor workbook: the statement of donor {donor_code}", moments,
                       verification, ledger_url, user, generated_at,
                       [("Events on the Events sheet", sum(len(p.events) for p in s.pledges))])
    about += [
        ("Donor", f"{s.donor.donor} {s.donor.name}" + (f" (IATI {s.iati_ref})" if s.iati_ref else "")),
        ("Reporting currency", "USD; outstanding pledges are valued at the rate in force on the as-of date, "
                               "rounded per allocation"),
        ("Stale rates used", stale_rates_text(s.stale_rates)),
        ("Balance", "received - refunded - spent - PSC; the totals are the donor's row of `report donors`"),
    ]
    finish_about(book, about)
    with replaced_on_success(path, ".export-") as temporary:
        book.save(temporary)
    entries, head_hash = (verification.entries, verification.head_hash) if verification.ok else verification.stored
    return ExportResult(path, moments.as_of, book.sheets, 0, entries, head_hash, verification.ok, book.text_amounts,
                        None if verification.ok else verification.message)


def export_donor_workbook(ledger, path: Path, donor_code: str, as_of: dt.date | None = None,
                          progress: Progress | None = None, recorded_at: dt.datetime | None = None) -> ExportResult:
    with ledger.reading() as session:
        return write_donor_workbook(session, path, donor_code, as_of, ledger_url=ledger.url, user=ledger.user_name,
                                    progress=progress, recorded_at=recorded_at)
