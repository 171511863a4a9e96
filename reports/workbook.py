"""The audit workbook (sheets and columns in docs/reports.md): ``write_workbook`` /
``export_workbook``.

Written with openpyxl in write-only mode, row by row, so memory stays flat however long the
journal is. Every figure comes from the same computations as the reports
(``reports.funding.funding_report``, ``reports.donors.donor_report``,
``reports.ageing.ageing_report``) or is a stored document or journal line, all read in one
database snapshot and filtered by the same as-of date: money events dated after it appear
on no sheet, the journal included. The sheets are built in ``reports.workbook_sheets``, their
cells (exact money, text that never runs as a formula) by ``reports.spreadsheet``; amounts
written as text are counted on "About".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger import figures, journal
from ledger.alerts import alerts as ledger_alerts
from ledger.alerts import chain_of
from ledger.clock import format_moment, utcnow
from ledger.paragraphs import mandate_title
from ledger.rates import RateBook
from ledger.reconcile import verified_up_to, verify_ledger
from ledger.schema import JournalEntry

from .ageing import ageing_report
from .donors import donor_report
from .files import replaced_on_success
from .formats import stale_rates_text
from .funding import funding_report
from .moments import Moments, read_at
from .spreadsheet import MAX_DIGITS, MAX_TEXT, BookWriter, Progress
from .sums import corrections_as_of, reversed_as_of, use_snapshot
from .workbook_sheets import (
    about_sheet,
    activity_sheet,
    ageing_sheet,
    disbursement_sheet,
    donor_sheets,
    funding_sheet,
    funding_split_sheet,
    journal_sheets,
    pledge_sheet,
    rate_sheet,
    receipt_sheet,
)

SHEETS = (
    "Funding vs implementation", "Donors", "Donor spending", "Pledges", "Receipts", "Disbursements",
    "Funding splits", "Activities", "Rates", "Ageing", "Journal", "About",
)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    as_of: dt.date
    sheets: list[str]
    journal_lines: int
    entries: int
    head_hash: str
    verified: bool
    text_amounts: int
    problem: str | None = None  # why the chain does not verify


def safe_url(url: str) -> str:
    """A ledger URL without its password."""
    if "://" not in url:
        return url
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def write_workbook(session: Session, path: Path, as_of: dt.date | None = None, *, ledger_url: str = "",
                   user: str = "", progress: Progress | None = None, max_rows: int | None = None,
                   recorded_at: dt.datetime | None = None) -> ExportResult:
    """Write the audit workbook to ``path`` (atomically: a temporary file renamed at the end), as of
    ``as_of`` and as recorded at ``recorded_at`` (docs/rules.md#as-recorded-at)."""
    path = Path(path)
    use_snapshot(session)
    generated_at = utcnow()
    moments = read_at(session, as_of, recorded_at, "export -o FILE.xlsx")
    as_of, at = moments.as_of, moments.at
    verification = verified_up_to(verify_ledger(session), at)
    entries, head_hash = (verification.entries, verification.head_hash) if verification.ok else verification.stored
    rates = RateBook.load(session, at.recorded_at)
    funding = funding_report(session, as_of, at.recorded_at)
    alerts = replace(ledger_alerts(session, as_of, limit=None), chain=chain_of(verification))
    donors = donor_report(session, as_of, rates, at.recorded_at)
    ageing = ageing_report(session, as_of, rates, at.recorded_at)
    undone = reversed_as_of(session, as_of), corrections_as_of(session, as_of)
    book = BookWriter(progress, max_rows)
    funding_sheet(book, funding, alerts)
    donor_sheets(book, donors)
    pledge_sheet(book, session, as_of, rates, undone)
    receipt_sheet(book, session, as_of, undone)
    disbursement_sheet(book, session, as_of, undone)
    funding_split_sheet(book, session, as_of)
    activity_sheet(book, session, as_of)
    rate_sheet(book, session, as_of, rates)
    ageing_sheet(book, ageing)
    journal_lines = journal_sheets(book, session, as_of)
    about = about_rows(session, "donor-ledger audit workbook: extrabudgetary funding and implementation", moments,
                       verification, ledger_url, user, generated_at,
                       [("Journal lines on the Journal sheet(s)", journal_lines)])
    about += [
        ("Note", "Requirement (activity budgets), status, progress and activity counts are the values as recorded at "
                 "the moment above; money figures are as of the as-of date."),
        ("Reporting currency", "USD; outstanding pledges are valued at the rate in force on the as-of date, "
                               "rounded per allocation"),
        ("Stale rates used", stale_rates_text(funding.stale_rates)),
        ("Formulas", "Funding sheet: totals are SUM formulas, the total gap is MAX(sum of paragraph gaps - unearmarked "
                     "programmable, 0), coverage and delivery are ROUND(x / requirement * 100, 1), blank where the "
                     "requirement is 0. Progress is a value."),
        ("Accounts", "; ".join(f"{k} {v}" for k, v in sorted(journal.ACCOUNTS.items()))),
    ]
    finish_about(book, about)
    with replaced_on_success(path, ".export-") as temporary:
        book.save(temporary)
    return ExportResult(path, as_of, book.sheets, journal_lines, entries, head_hash,
                        verification.ok, book.text_amounts, None if verification.ok else verification.message)


def about_rows(session: Session, workbook: str, moments: Moments, verification, ledger_url: str, user: str,
               generated_at: dt.datetime, counts: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """The facts every workbook's "About" sheet begins with: what it is, its two moments, the chain
    head, what it counts (``counts``) and its verification, and the command that makes it again."""
    as_of, at = moments.as_of, moments.at
    entries, head_hash = (verification.entries, verification.head_hash) if verification.ok else verification.stored
    entries_as_of = session.execute(select(func.count()).select_from(JournalEntry).where(
        JournalEntry.event_date <= as_of, *figures.recorded(session, JournalEntry.id))).scalar_one()
    code, title = mandate_title(session)
    return [
        ("Workbook", workbook),
        ("Mandate", f"{code}: {title}"),
        ("Ledger", safe_url(ledger_url)),
        ("As of", as_of),
        ("Money events", f"only those dated on or before {as_of.isoformat()}, on every sheet (the journal included)"),
        ("Generated at (UTC)", generated_at),
        ("Generated by", user),
        ("As recorded at (UTC)", format_moment(at.recorded_at)),
        ("Entries recorded then", f"only entries posted at or before that moment, on every sheet: entries 1 to "
                                  f"{at.entries}; rates, settings and closes recorded by then"),
        ("Chain head at that moment", at.head_hash),
        ("Chain entries at that moment", at.entries),
        ("Closed through", moments.closed_through.isoformat() if moments.closed_through else "no period is closed"),
        ("Command that makes this workbook again", moments.command),
        ("Chain head hash", head_hash),
        ("Chain entries", entries),
        ("Entries dated on or before the as-of date", entries_as_of),
        *counts,
        ("Verification", "passed: " + verification.message if verification.ok
         else f"FAILED: {verification.message}; {verification.intact}"),
    ]


def finish_about(book: BookWriter, about: list[tuple[str, object]]) -> None:
    """The About sheet: ``about`` and what the writing found (amounts written as text, texts cut)."""
    about.append(("Amounts written as text", f"{book.text_amounts} (more than {MAX_DIGITS} significant digits; each "
                  f"has a comment)" if book.text_amounts else "none"))
    if book.cut_texts:
        about.append(("Texts cut", f"{book.cut_texts} texts longer than {MAX_TEXT} characters were cut (see the ledger)"))
    about_sheet(book, about)


def export_workbook(ledger, path: Path, as_of: dt.date | None = None, progress: Progress | None = None,
                    max_rows: int | None = None, recorded_at: dt.datetime | None = None) -> ExportResult:
    """The audit workbook of an open ledger."""
    with ledger.reading() as session:
        return write_workbook(session, path, as_of, ledger_url=ledger.url, user=ledger.user_name, progress=progress,
                              max_rows=max_rows, recorded_at=recorded_at)


