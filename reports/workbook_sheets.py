"""The sheets of the audit workbook (docs/reports.md), each built from the reports'
computations or read from the stored documents and journal lines as of a date, and written
through the spreadsheet toolkit (``reports.spreadsheet``). Formulas only where docs/reports.md
says: the funding sheet's totals and percentages, the donor and ageing totals.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from functools import partial

from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from ledger import figures, recorded, stages
from ledger.alerts import Alerts
from ledger.clock import format_moment
from ledger.money import RATE_DECIMALS, to_minor
from ledger.pledges import PARAGRAPH_ORDER
from ledger.rates import RateBook
from ledger.schema import (
    Activity,
    Allocation,
    Disbursement,
    Donor,
    JournalEntry,
    JournalLine,
    Paragraph,
    Pledge,
    Rate,
    Reallocation,
    Receipt,
    Refund,
)
from ledger.versions import activities_as_recorded, donors_as_recorded

from .ageing import BUCKET_LABELS, BUCKETS, AgeingReport
from .donors import DonorReport
from .funding import FundingReport
from .spreadsheet import BATCH, MAX_DIGITS, BookWriter, Column, SheetWriter, money_format
from .sums import allocation_sums

FUNDING_COLUMNS = (
    Column("Paragraph", 12), Column("Title", 46), Column("Requirement USD", 15, "usd"),
    Column("Pledged USD", 15, "usd"), Column("Programmable USD", 15, "usd"), Column("Received USD", 15, "usd"),
    Column("Refunded USD", 14, "usd"), Column("Outstanding USD", 15, "usd"), Column("FX difference USD", 14, "usd"),
    Column("Announced USD", 15, "usd"), Column("Disbursed USD", 15, "usd"),
    Column("PSC USD", 13, "usd"), Column("Available USD", 15, "usd"), Column("Spent on activities USD", 15, "usd"),
    Column("Coverage %", 10, "pct"), Column("Delivery %", 10, "pct"), Column("Progress %", 10, "pct"),
    Column("Gap USD", 15, "usd"), Column("Activities", 10, "int"), Column("Completed", 10, "int"),
)
# column letters of the funding sheet
F = {key: get_column_letter(i) for i, key in enumerate((
    "paragraph", "title", "requirement", "pledged", "programmable", "received", "refunded", "outstanding", "fx_difference",
    "announced", "disbursed", "psc", "available", "spent_on_activities", "coverage_pct", "delivery_pct", "progress_pct",
    "gap", "activities_total", "activities_completed"), start=1)}
SUMMED = ("requirement", "pledged", "programmable", "received", "refunded", "outstanding", "fx_difference", "announced",
          "disbursed", "psc", "available", "spent_on_activities")


def funding_sheet(book: BookWriter, report: FundingReport, alerts: Alerts) -> None:
    sheet = book.sheet("Funding vs implementation", FUNDING_COLUMNS,
                       f"Funding vs implementation, USD, as of {report.as_of.isoformat()}", grid=False)
    ws = sheet.ws
    pct = "0.0"
    first = 2
    unearmarked_row = first + len(report.rows) - 1
    text_columns: set[str] = set()
    for row in report.rows:
        r = sheet.rows + 1
        cells = [row.paragraph if row.paragraph is not None else book.text(ws, "Unearmarked"),
                 book.text(ws, row.title if row.paragraph is not None else "Not earmarked (resolution-wide)")]
        for key in SUMMED:
            cell = book.usd(ws, row.value(key))
            if isinstance(cell, Cell) and cell.data_type == "s":
                text_columns.add(key)
            cells.append(cell)
        cells.append(book.formula(ws, f'=IF({F["requirement"]}{r}=0,"",ROUND({F["programmable"]}{r}/{F["requirement"]}{r}*100,1))', pct))
        cells.append(book.formula(ws, f'=IF({F["requirement"]}{r}=0,"",ROUND({F["spent_on_activities"]}{r}/{F["requirement"]}{r}*100,1))', pct))
        cells.append(book.decimal(ws, row.progress_pct, pct))
        gap = book.usd(ws, row.gap)
        if isinstance(gap, Cell) and gap.data_type == "s":
            text_columns.add("gap")
        cells += [gap, row.activities_total, row.activities_completed]
        sheet.append(cells)
    sheet.end_data()
    t = report.totals
    r = sheet.rows + 1
    last = unearmarked_row
    cells = [book.text(ws, "Total", bold=True), None]
    for key in SUMMED:
        if key in text_columns or len(str(abs(t.value(key)))) > MAX_DIGITS:
            cells.append(book.usd(ws, t.value(key), bold=True))  # a SUM would skip text cells
        else:
            cells.append(book.formula(ws, f"=SUM({F[key]}{first}:{F[key]}{last})", money_format("USD"), bold=True))
    cells.append(book.formula(ws, f'=IF({F["requirement"]}{r}=0,"",ROUND({F["programmable"]}{r}/{F["requirement"]}{r}*100,1))', pct, bold=True))
    cells.append(book.formula(ws, f'=IF({F["requirement"]}{r}=0,"",ROUND({F["spent_on_activities"]}{r}/{F["requirement"]}{r}*100,1))', pct, bold=True))
    cells.append(book.decimal(ws, t.progress_pct, pct, bold=True))
    if "gap" in text_columns or "programmable" in text_columns or len(str(t.gap)) > MAX_DIGITS:
        cells.append(book.usd(ws, t.gap, bold=True))
    else:
        cells.append(book.formula(
            ws, f'=MAX(SUM({F["gap"]}{first}:{F["gap"]}{last - 1})-{F["programmable"]}{last},0)', money_format("USD"),
            bold=True))
    for key in ("activities_total", "activities_completed"):
        cells.append(book.formula(ws, f"=SUM({F[key]}{first}:{F[key]}{last})", "0", bold=True))
    sheet.append(cells)
    sheet.append([])
    for note in (
        f"Money is as of {report.as_of.isoformat()}; requirement, progress and activity counts are the values as "
        f"recorded at {format_moment(report.as_recorded_at)}.",
        "Coverage = programmable / requirement; delivery = spent on activities / requirement (blank where the "
        "requirement is 0).",
        "Total gap = the paragraphs' gaps less unearmarked programmable money, not below 0.",
        "Announced = pledges announced and not yet signed (nor withdrawn), at the announcement's rate; not part of "
        "pledged, programmable, coverage or gap.",
    ):
        sheet.append([None, book.text(ws, note)])
    sheet.append([])
    _alerts_block(book, sheet, alerts)
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "clustered"
    chart.title = f"Funding vs implementation per paragraph, USD, as of {report.as_of.isoformat()}"
    chart.y_axis.title = "USD"
    chart.x_axis.title = "Operative paragraph"
    chart.y_axis.numFmt = "#,##0"
    chart.y_axis.delete = False
    chart.x_axis.delete = False
    chart.height, chart.width = 10, 30
    categories = Reference(ws, min_col=1, min_row=first, max_row=last - 1)
    for key in ("requirement", "pledged", "received", "spent_on_activities"):
        col = list(F).index(key) + 1
        chart.add_data(Reference(ws, min_col=col, min_row=1, max_row=last - 1), titles_from_data=True)
    chart.set_categories(categories)
    ws.add_chart(chart, f"B{sheet.rows + 2}")
    sheet.close()


def _alerts_block(book: BookWriter, sheet: SheetWriter, alerts: Alerts) -> None:
    """The dashboard's alerts (ledger.alerts) below the funding table: every overdue pledge,
    the paragraphs short of cash, the chain check."""
    ws = sheet.ws
    bold = partial(book.text, ws, bold=True)
    sheet.append([None, bold(f"Alerts, as of {alerts.as_of.isoformat()}")])
    sheet.append([None, bold(f"Overdue instalments: {alerts.overdue_count}"), bold("Due on"), bold("Days late"),
                  bold("Currency"), bold("Outstanding"), bold("USD (as-of rate)")])
    for a in alerts.overdue:
        sheet.append([None, book.text(ws, f"{a.reference} ({a.donor})"), book.date(ws, a.due_on), a.days_late,
                      a.currency, book.amount(ws, to_minor(a.outstanding, a.currency), a.currency),
                      book.usd(ws, to_minor(a.outstanding_usd, "USD"))])
    sheet.append([None, bold(f"Paragraphs whose open activities need more than their cash: {len(alerts.cash_needs)}"),
                  bold("Need USD"), bold("Cash USD"), bold("Shortfall USD")])
    for c in alerts.cash_needs:
        need, cash = to_minor(c.need_usd, "USD"), to_minor(c.cash_usd, "USD")
        sheet.append([c.paragraph, book.text(ws, c.title), book.usd(ws, need), book.usd(ws, cash), book.usd(ws, need - cash)])
    if alerts.chain is not None:
        sheet.append([None, bold("Journal chain"), book.text(ws, "intact" if alerts.chain.ok else "BROKEN", bold=True),
                      book.text(ws, alerts.chain.message)])


DONOR_COLUMNS = (
    Column("Donor", 10), Column("Name", 30), Column("Kind", 16), Column("Country", 8), Column("Currency", 9),
    Column("Pledges", 8, "int"), Column("Pledged USD", 15, "usd"), Column("Cancelled USD", 14, "usd"),
    Column("Received USD", 15, "usd"), Column("Refunded USD", 14, "usd"), Column("Outstanding USD", 15, "usd"),
    Column("FX difference USD", 14, "usd"), Column("Spent USD", 15, "usd"), Column("PSC USD", 13, "usd"), Column("Balance USD", 15, "usd"),
    Column("IATI ref", 14),
)
DONOR_MONEY = ("pledged", "cancelled", "received", "refunded", "outstanding", "fx_difference", "spent", "psc", "balance")


def donor_sheets(book: BookWriter, report: DonorReport) -> None:
    sheet = book.sheet("Donors", DONOR_COLUMNS, f"Donor statements, USD, as of {report.as_of.isoformat()}")
    ws = sheet.ws
    text_columns: set[str] = set()
    for row in report.rows:
        cells = [book.text(ws, row.donor), book.text(ws, row.name), book.text(ws, row.kind), book.text(ws, row.country),
                 book.text(ws, row.currency), row.pledges]
        for key in DONOR_MONEY:
            cell = book.usd(ws, getattr(row, key))
            if isinstance(cell, Cell) and cell.data_type == "s":
                text_columns.add(key)
            cells.append(cell)
        sheet.append([*cells, book.text(ws, row.iati_ref)])
    sheet.end_data()
    last = sheet.rows
    cells = [book.text(ws, "Total", bold=True), None, None, None, None,
             book.formula(ws, f"=SUM(F2:F{last})", "0", bold=True)]
    for i, key in enumerate(DONOR_MONEY, start=7):
        letter = get_column_letter(i)
        value = getattr(report.totals, key)
        if last < 2 or key in text_columns or len(str(abs(value))) > MAX_DIGITS:
            cells.append(book.usd(ws, value, bold=True))
        else:
            cells.append(book.formula(ws, f"=SUM({letter}2:{letter}{last})", money_format("USD"), bold=True))
    sheet.append(cells)
    sheet.close()

    sheet = book.sheet("Donor spending", (
        Column("Donor", 10), Column("Name", 30), Column("Paragraph", 10, "int"), Column("Activity", 12),
        Column("Activity title", 40), Column("Spent USD", 15, "usd"), Column("PSC USD", 13, "usd"),
    ), f"Spending paid with each donor's money, USD, as of {report.as_of.isoformat()}")
    ws = sheet.ws
    for row in report.rows:
        for s in row.spending:
            sheet.append([book.text(ws, row.donor), book.text(ws, row.name), s.paragraph, book.text(ws, s.activity),
                          book.text(ws, s.activity_title), book.usd(ws, s.spent), book.usd(ws, s.psc)])
    sheet.end_data()
    sheet.close()


def _paragraph_label(number: int | None) -> str | int:
    return "unearmarked" if number is None else number


UNDONE_COLUMNS = (Column("Reversed by entry", 9, "int"), Column("Reversed on", 11, "date"),
                  Column("Corrects entry", 9, "int"), Column("Corrected by entry", 9, "int"))


def _reversal_cells(book: BookWriter, ws, undone: tuple, entry_id: int) -> list:
    """The cells of UNDONE_COLUMNS; ``undone``: (``sums.reversed_as_of``, ``sums.corrections_as_of``)."""
    reversed_, (corrects, corrected_by) = undone
    rid, day = reversed_.get(entry_id, (None, None))
    return [rid, book.date(ws, day), corrects.get(entry_id), corrected_by.get(entry_id)]


def pledge_sheet(book: BookWriter, session: Session, as_of: dt.date, book_rates: RateBook, undone: tuple) -> None:
    sums = {s.allocation_id: s for s in allocation_sums(session, as_of, book_rates)}
    sheet = book.sheet("Pledges", (
        Column("Pledge", 14), Column("Donor", 10), Column("Donor name", 24), Column("Pledged on", 11, "date"),
        Column("Due on", 11, "date"), Column("Currency", 9), Column("PSC %", 7, "pct"), Column("Paragraph", 11),
        Column("Allocated", 16, "money"), Column("Units per USD", 12, "rate"), Column("Pledged USD (stage rate)", 15, "usd"),
        Column("Cancelled", 15, "money"), Column("Reallocated (in - away)", 15, "money"), Column("Received", 15, "money"),
        Column("Outstanding", 15, "money"), Column("Net pledged USD", 15, "usd"), Column("Received USD", 15, "usd"),
        Column("Refunded USD", 15, "usd"), Column("Outstanding USD (as-of rate)", 15, "usd"),
        Column("Entry", 8, "int"), *UNDONE_COLUMNS, Column("Stage", 10), Column("Signed on", 11, "date"),
        Column("Notes", 30),
    ), f"Pledges and their allocations, as of {as_of.isoformat()}")
    ws = sheet.ws
    donor = donors_as_recorded(recorded.recorded_at(session))  # the names as recorded at the workbook's moment
    pledged_usd, rate_micros = stages.usd_of_stage(session, as_of, allocation=True)
    statement = (
        select(Allocation.id, Pledge.reference, donor.c.code, donor.c.name, Pledge.pledged_on, Pledge.due_on, Pledge.currency,
               Pledge.psc_rate_bp, Paragraph.number, Allocation.amount_minor, rate_micros,
               pledged_usd, Pledge.entry_id, Pledge.notes, *stages.columns(session)[:3])
        .join(Pledge, Pledge.id == Allocation.pledge_id)
        .join(donor, donor.c.donor_id == Pledge.donor_id)
        .outerjoin(Paragraph, Paragraph.id == Allocation.paragraph_id)
        .where(Pledge.pledged_on <= as_of, *figures.recorded(session, Pledge.entry_id))
        .order_by(Pledge.pledged_on, Pledge.reference, *PARAGRAPH_ORDER)
        .execution_options(yield_per=BATCH)
    )
    pct = "0.00"
    rate_format = "0." + "0" * RATE_DECIMALS
    for (aid, reference, donor, name, pledged_on, due_on, currency, psc_bp, paragraph, amount, rate_micros, pledged_cents,
         entry_id, notes, stage, signed_on, withdrawn_on) in session.execute(statement):
        s = sums.get(aid)
        stage, signed_on = stages.as_of(stage, signed_on, withdrawn_on, as_of)
        sheet.append([
            book.text(ws, reference), book.text(ws, donor), book.text(ws, name), book.date(ws, pledged_on),
            book.date(ws, due_on), currency, book.decimal(ws, Decimal(psc_bp).scaleb(-2), pct),
            _paragraph_label(paragraph), book.amount(ws, amount, currency),
            book.decimal(ws, Decimal(rate_micros).scaleb(-RATE_DECIMALS), rate_format), book.usd(ws, pledged_cents),
            book.amount(ws, s.cancelled_minor if s else 0, currency),
            book.amount(ws, s.reallocated_minor if s else 0, currency), book.amount(ws, s.received_minor if s else 0, currency),
            book.amount(ws, s.outstanding_minor if s else 0, currency),
            book.usd(ws, s.pledged_cents if s else 0), book.usd(ws, s.received_cents if s else 0),
            book.usd(ws, s.refunded_cents if s else 0), book.usd(ws, s.outstanding_cents if s else 0),
            entry_id, *_reversal_cells(book, ws, undone, entry_id), stage, book.date(ws, signed_on), book.text(ws, notes),
        ])
    sheet.end_data()
    sheet.close()


def receipt_sheet(book: BookWriter, session: Session, as_of: dt.date, undone: tuple) -> None:
    sheet = book.sheet("Receipts", (
        Column("Receipt", 14), Column("Pledge", 14), Column("Donor", 10), Column("Received on", 11, "date"),
        Column("Currency", 9), Column("Amount", 16, "money"), Column("USD", 15, "usd"), Column("USD as credited", 9),
        Column("Bank reference", 20), Column("Entry", 8, "int"), *UNDONE_COLUMNS,
    ), f"Receipts, as of {as_of.isoformat()}")
    ws = sheet.ws
    statement = (
        select(Receipt.reference, Pledge.reference, Donor.code, Receipt.received_on, Pledge.currency, Receipt.amount_minor,
               Receipt.usd_cents, Receipt.usd_given, Receipt.bank_reference, Receipt.entry_id)
        .join(Pledge, Pledge.id == Receipt.pledge_id)
        .join(Donor, Donor.id == Pledge.donor_id)
        .where(Receipt.received_on <= as_of, *figures.recorded(session, Receipt.entry_id))
        .order_by(Receipt.received_on, Receipt.reference)
        .execution_options(yield_per=BATCH)
    )
    for reference, pledge, donor, day, currency, amount, usd, given, bank, entry_id in session.execute(statement):
        sheet.append([
            book.text(ws, reference), book.text(ws, pledge), book.text(ws, donor), book.date(ws, day), currency,
            book.amount(ws, amount, currency), book.usd(ws, usd), "given" if given else "converted",
            book.text(ws, bank), entry_id, *_reversal_cells(book, ws, undone, entry_id),
        ])
    sheet.end_data()
    sheet.close()


def acts_sheet(book: BookWriter, session: Session, as_of: dt.date, undone: tuple) -> None:
    """Reallocations and refunds (docs/rules.md#reallocations, #refunds): one line per act, its
    allocations, amount and USD; a reallocation's pledged USD change is the two carrying moves'
    difference (a cent at most), a refund split pro rata names no paragraph."""
    sheet = book.sheet("Reallocations and refunds", (
        Column("Act", 13), Column("Pledge", 14), Column("Donor", 10), Column("On", 11, "date"), Column("From", 11),
        Column("To", 11), Column("Currency", 9), Column("Amount", 16, "money"), Column("USD", 15, "usd"),
        Column("Pledged USD change", 12, "usd"), Column("Consent or reason", 30), Column("Entry", 8, "int"),
        *UNDONE_COLUMNS,
    ), f"Reallocations and refunds, as of {as_of.isoformat()}")
    ws = sheet.ws
    source, target = aliased(Allocation), aliased(Allocation)
    source_para, target_para = aliased(Paragraph), aliased(Paragraph)
    moved = session.execute(
        select(Reallocation.entry_id, Pledge.reference, Donor.code, Reallocation.reallocated_on, source_para.number,
               target_para.number, Pledge.currency, Reallocation.amount_minor, Reallocation.from_usd_cents,
               Reallocation.to_usd_cents, Reallocation.consent)
        .join(Pledge, Pledge.id == Reallocation.pledge_id).join(Donor, Donor.id == Pledge.donor_id)
        .join(source, source.id == Reallocation.from_allocation_id).join(target, target.id == Reallocation.to_allocation_id)
        .outerjoin(source_para, source_para.id == source.paragraph_id)
        .outerjoin(target_para, target_para.id == target.paragraph_id)
        .where(Reallocation.reallocated_on <= as_of, *figures.recorded(session, Reallocation.entry_id))
        .order_by(Reallocation.reallocated_on, Reallocation.entry_id)
    ).all()
    refunds = session.execute(
        select(Refund.entry_id, Pledge.reference, Donor.code, Refund.refunded_on, source_para.number, Refund.allocation_id,
               Pledge.currency, Refund.amount_minor, Refund.usd_cents, Refund.reason)
        .join(Pledge, Pledge.id == Refund.pledge_id).join(Donor, Donor.id == Pledge.donor_id)
        .outerjoin(source, source.id == Refund.allocation_id)
        .outerjoin(source_para, source_para.id == source.paragraph_id)
        .where(Refund.refunded_on <= as_of, *figures.recorded(session, Refund.entry_id))
        .order_by(Refund.refunded_on, Refund.entry_id)
    ).all()
    for entry_id, pledge, donor, day, frm, to, currency, amount, out_usd, in_usd, consent in moved:
        sheet.append([
            "reallocation", book.text(ws, pledge), book.text(ws, donor), book.date(ws, day), _paragraph_label(frm),
            _paragraph_label(to), currency, book.amount(ws, amount, currency), book.usd(ws, in_usd),
            book.usd(ws, in_usd - out_usd), book.text(ws, consent), entry_id, *_reversal_cells(book, ws, undone, entry_id),
        ])
    for entry_id, pledge, donor, day, paragraph, allocation_id, currency, amount, usd, reason in refunds:
        sheet.append([
            "refund", book.text(ws, pledge), book.text(ws, donor), book.date(ws, day),
            "split" if allocation_id is None else _paragraph_label(paragraph), "donor", currency,
            book.amount(ws, amount, currency), book.usd(ws, usd), book.usd(ws, -usd), book.text(ws, reason), entry_id,
            *_reversal_cells(book, ws, undone, entry_id),
        ])
    sheet.end_data()
    sheet.close()


def disbursement_sheet(book: BookWriter, session: Session, as_of: dt.date, undone: tuple) -> None:
    sheet = book.sheet("Disbursements", (
        Column("Disbursement", 14), Column("Activity", 12), Column("Paragraph", 10, "int"),
        Column("Disbursed on", 11, "date"), Column("Currency", 9), Column("Amount", 16, "money"), Column("USD", 15, "usd"),
        Column("PSC USD", 13, "usd"), Column("Funding pledge", 14), Column("Payee", 24), Column("Description", 36),
        Column("Entry", 8, "int"), *UNDONE_COLUMNS,
    ), f"Disbursements, as of {as_of.isoformat()}")
    ws = sheet.ws
    psc = (
        select(JournalLine.entry_id, figures.PSC_USD.alone().label("psc"))
        .where(figures.PSC_USD.condition())
        .group_by(JournalLine.entry_id)
        .subquery()
    )
    funding_pledge = aliased(Pledge)
    statement = (
        select(Disbursement.reference, Activity.code, Paragraph.number, Disbursement.disbursed_on, Disbursement.currency,
               Disbursement.amount_minor, Disbursement.usd_cents, func.coalesce(psc.c.psc, 0), funding_pledge.reference,
               Disbursement.payee, Disbursement.description, Disbursement.entry_id)
        .join(Activity, Activity.id == Disbursement.activity_id)
        .join(Paragraph, Paragraph.id == Activity.paragraph_id)
        .outerjoin(psc, psc.c.entry_id == Disbursement.entry_id)
        .outerjoin(funding_pledge, funding_pledge.id == Disbursement.pledge_id)
        .where(Disbursement.disbursed_on <= as_of, *figures.recorded(session, Disbursement.entry_id))
        .order_by(Disbursement.disbursed_on, Disbursement.reference)
        .execution_options(yield_per=BATCH)
    )
    for reference, activity, paragraph, day, currency, amount, usd, psc_cents, pledge, payee, description, entry_id in (
        session.execute(statement)
    ):
        sheet.append([
            book.text(ws, reference), book.text(ws, activity), paragraph, book.date(ws, day), currency,
            book.amount(ws, amount, currency), book.usd(ws, usd), book.usd(ws, int(psc_cents)), book.text(ws, pledge),
            book.text(ws, payee), book.text(ws, description), entry_id, *_reversal_cells(book, ws, undone, entry_id),
        ])
    sheet.end_data()
    sheet.close()


def funding_split_sheet(book: BookWriter, session: Session, as_of: dt.date) -> None:
    sheet = book.sheet("Funding splits", (
        Column("Entry", 8, "int"), Column("Date", 11, "date"), Column("Kind", 12), Column("Disbursement", 14),
        Column("Activity", 12), Column("Paragraph", 10, "int"), Column("Donor", 10), Column("Pledge", 14),
        Column("Allocation paragraph", 12), Column("PSC %", 7, "pct"), Column("Currency", 9), Column("Amount", 16, "money"),
        Column("USD", 15, "usd"), Column("PSC USD", 13, "usd"),
    ), f"Funding splits: which allocation paid what, with PSC, as of {as_of.isoformat()}")
    ws = sheet.ws
    line = JournalLine
    alloc_paragraph = aliased(Paragraph)
    statement = (
        select(
            line.entry_id, JournalEntry.event_date, JournalEntry.kind, Disbursement.reference, Activity.code,
            Paragraph.number, Donor.code, Pledge.reference, alloc_paragraph.number, Pledge.psc_rate_bp,
            Disbursement.currency,
            figures.DISBURSED.among(), figures.DISBURSED_USD.among(), figures.PSC_USD.among(),
        )
        .join(JournalEntry, JournalEntry.id == line.entry_id)
        .join(Disbursement, Disbursement.id == line.disbursement_id)
        .join(Activity, Activity.id == line.activity_id)
        .join(Paragraph, Paragraph.id == Activity.paragraph_id)
        .join(Allocation, Allocation.id == line.allocation_id)
        .outerjoin(alloc_paragraph, alloc_paragraph.id == Allocation.paragraph_id)
        .join(Pledge, Pledge.id == Allocation.pledge_id)
        .join(Donor, Donor.id == Pledge.donor_id)
        .where(JournalEntry.event_date <= as_of, *figures.recorded(session, JournalEntry.id), line.account.in_(figures.accounts((figures.DISBURSED_USD, figures.PSC_USD))))
        .group_by(line.entry_id, JournalEntry.event_date, JournalEntry.kind, Disbursement.reference, Activity.code,
                  Paragraph.number, Donor.code, Pledge.reference, alloc_paragraph.number, Pledge.psc_rate_bp,
                  Disbursement.currency, line.allocation_id)
        .order_by(line.entry_id, line.allocation_id)
        .execution_options(yield_per=BATCH)
    )
    for (entry_id, day, kind, disbursement, activity, paragraph, donor, pledge, alloc_para, psc_bp, currency, amount, usd,
         psc) in session.execute(statement):
        sheet.append([
            entry_id, book.date(ws, day), kind, book.text(ws, disbursement), book.text(ws, activity), paragraph,
            book.text(ws, donor), book.text(ws, pledge), _paragraph_label(alloc_para),
            book.decimal(ws, Decimal(psc_bp).scaleb(-2), "0.00"), currency, book.amount(ws, int(amount), currency),
            book.usd(ws, int(usd)), book.usd(ws, int(psc)),
        ])
    sheet.end_data()
    sheet.close()


def activity_sheet(book: BookWriter, session: Session, as_of: dt.date) -> None:
    sheet = book.sheet("Activities", (
        Column("Activity", 12), Column("Paragraph", 10, "int"), Column("Title", 40), Column("Budget USD", 15, "usd"),
        Column("Planned start", 11, "date"), Column("Planned end", 11, "date"), Column("Status", 11),
        Column("Progress %", 10, "int"), Column("Spent USD", 15, "usd"), Column("PSC USD", 13, "usd"),
    ), f"Activities (budget, status and progress as recorded at the workbook's moment; spending as of {as_of.isoformat()})")
    ws = sheet.ws
    spent = (
        select(JournalLine.activity_id,
               figures.DISBURSED_USD.among().label("spent"), figures.PSC_USD.among().label("psc"))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalEntry.event_date <= as_of, *figures.recorded(session, JournalEntry.id), JournalLine.account.in_(figures.accounts((figures.DISBURSED_USD, figures.PSC_USD))))
        .group_by(JournalLine.activity_id)
        .subquery()
    )
    then = activities_as_recorded(recorded.recorded_at(session))  # the versions in force at the moment read
    version = then.c
    statement = (
        select(Activity.code, Paragraph.number, version.title, version.budget_cents, version.planned_start,
               version.planned_end, version.status, version.progress_pct, func.coalesce(spent.c.spent, 0),
               func.coalesce(spent.c.psc, 0))
        .join(then, version.activity_id == Activity.id)
        .join(Paragraph, Paragraph.id == version.paragraph_id)
        .outerjoin(spent, spent.c.activity_id == Activity.id)
        .order_by(Paragraph.number, Activity.code)
        .execution_options(yield_per=BATCH)
    )
    for code, paragraph, title, budget, start, end, status, progress, spent_cents, psc in session.execute(statement):
        sheet.append([book.text(ws, code), paragraph, book.text(ws, title), book.usd(ws, budget), book.date(ws, start),
                      book.date(ws, end), status, progress, book.usd(ws, int(spent_cents)), book.usd(ws, int(psc))])
    sheet.end_data()
    sheet.close()


def rate_sheet(book: BookWriter, session: Session, as_of: dt.date, rates: RateBook) -> None:
    """Every value ever recorded for a rate, in the order recorded; a correction gives its reason."""
    sheet = book.sheet("Rates", (
        Column("Currency", 9), Column("Effective from", 12, "date"), Column("Units per USD", 14, "rate"),
        Column("In force on as-of date", 12), Column("Entered by", 14), Column("Entered at", 19, "datetime"),
        Column("Correction reason", 30),
    ), f"UN operational rates of exchange (the one in force on {as_of.isoformat()} is marked)", print_scale=75)
    ws = sheet.ws
    # Printed compactly: a ledger holds hundreds of monthly rates (the demo's 432 took 16 landscape
    # pages). Its narrow columns fit a portrait page; at 75 % with smaller top and bottom
    # margins a page holds about 65 rates (the demo: 7 pages).
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    rate_format = "0." + "0" * RATE_DECIMALS
    statement = select(Rate.currency, Rate.effective_from, Rate.units_per_usd_micros, Rate.entered_by, Rate.entered_at,
                       Rate.reason).order_by(Rate.currency, Rate.effective_from, Rate.entered_at, Rate.id)
    if (moment := recorded.recorded_at(session)) is not None:  # the rates recorded by then
        statement = statement.where(Rate.entered_at <= moment)
    rows = session.execute(statement).all()
    for n, (currency, start, micros, by, at, reason) in enumerate(rows):
        superseded = n + 1 < len(rows) and rows[n + 1][:2] == (currency, start)
        in_force = not superseded and rates.in_force(currency, as_of) == (start, micros)
        sheet.append([currency, book.date(ws, start), book.decimal(ws, Decimal(micros).scaleb(-RATE_DECIMALS), rate_format),
                      "yes" if in_force else None, book.text(ws, by), book.datetime(ws, at),
                      book.text(ws, reason)])
    sheet.end_data()
    sheet.close()


def ageing_sheet(book: BookWriter, report: AgeingReport) -> None:
    sheet = book.sheet("Ageing", (
        Column("Pledge", 14), Column("Donor", 10), Column("Donor name", 24), Column("Currency", 9),
        Column("Pledged on", 11, "date"), Column("Instalment", 10), Column("Due on", 11, "date"), Column("Days", 8, "int"),
        Column("Bucket", 14),
        Column("Outstanding", 16, "money"), Column("Outstanding USD (as-of rate)", 16, "usd"), Column("Overdue alert", 10),
    ), f"Pledge ageing, as of {report.as_of.isoformat()}")
    ws = sheet.ws
    text_usd = False
    for r in report.rows:
        usd = book.usd(ws, r.outstanding_usd)
        text_usd = text_usd or (isinstance(usd, Cell) and usd.data_type == "s")
        sheet.append([book.text(ws, r.pledge), book.text(ws, r.donor), book.text(ws, r.donor_name), r.currency,
                      book.date(ws, r.pledged_on), r.instalment or None, book.date(ws, r.due_on), r.days, BUCKET_LABELS[r.bucket],
                      book.amount(ws, r.outstanding_minor, r.currency), usd, "OVERDUE" if r.overdue else None])
    sheet.end_data()
    last = sheet.rows
    if last >= 2 and not text_usd and len(str(report.total_usd)) <= MAX_DIGITS:
        total = book.formula(ws, f"=SUM(K2:K{last})", money_format("USD"), bold=True)
    else:
        total = book.usd(ws, report.total_usd, bold=True)
    sheet.append([book.text(ws, "Total", bold=True), None, None, "USD", None, None, None, None, None, None, total])
    sheet.append([])
    for key, label in BUCKETS:
        sheet.append([None, None, None, "USD", None, None, None, None, label, None, book.usd(ws, report.bucket_total(key))])
    overdue = report.overdue_rows
    sheet.append([None, None, None, "USD", None, None, None, None, book.text(ws, f"Overdue ({len(overdue)})"), None,
                  book.usd(ws, sum(r.outstanding_usd for r in overdue))])
    sheet.close()


JOURNAL_COLUMNS = (
    Column("Entry", 8, "int"), Column("Date", 11, "date"), Column("Kind", 12), Column("Reference", 14),
    Column("Posted at (UTC)", 19, "datetime"), Column("User", 12), Column("Line", 6, "int"), Column("Account", 8),
    Column("Flow", 8), Column("Currency", 9), Column("Amount", 16, "money"), Column("USD", 15, "usd"),
    Column("Donor", 10), Column("Pledge", 14), Column("Allocation id", 10, "int"), Column("Paragraph", 10, "int"),
    Column("Activity", 12), Column("Disbursement", 14), Column("Reverses entry", 9, "int"), Column("Memo", 36),
    Column("Previous hash", 66, "hash"), Column("Hash", 66, "hash"),
)


def journal_sheets(book: BookWriter, session: Session, as_of: dt.date) -> int:
    """Every line of every entry dated on or before as_of; continues on "Journal (2)", ..."""
    line, entry = JournalLine, JournalEntry
    statement = (
        select(
            entry.id, entry.event_date, entry.kind, entry.reference, entry.posted_at, entry.user_name, line.line_no,
            line.account, line.flow, line.currency, line.amount_minor, line.usd_cents, Donor.code, Pledge.reference,
            line.allocation_id, Paragraph.number, Activity.code, Disbursement.reference, entry.reverses_id, entry.memo,
            entry.prev_hash, entry.hash,
        )
        .join(entry, entry.id == line.entry_id)
        .outerjoin(Donor, Donor.id == line.donor_id)
        .outerjoin(Pledge, Pledge.id == line.pledge_id)
        .outerjoin(Paragraph, Paragraph.id == line.paragraph_id)
        .outerjoin(Activity, Activity.id == line.activity_id)
        .outerjoin(Disbursement, Disbursement.id == line.disbursement_id)
        .where(entry.event_date <= as_of, *figures.recorded(session, entry.id))
        .order_by(line.entry_id, line.line_no)
        .execution_options(yield_per=BATCH)
    )
    part = 1
    title = f"Journal lines dated on or before {as_of.isoformat()}"
    sheet = book.sheet("Journal", JOURNAL_COLUMNS, title)
    ws = sheet.ws
    text, amount, date, datetime_ = book.text, book.amount, book.date, book.datetime
    lines = 0
    cached_entry = None
    entry_cells: list = []
    tail_cells: list = []
    for (eid, day, kind, reference, posted_at, user, line_no, account, flow, currency, amount_minor, usd_cents, donor,
         pledge, allocation, paragraph, activity, disbursement, reverses, memo, prev_hash, hash_) in session.execute(statement):
        if sheet.rows > book.max_rows:
            sheet.end_data()
            sheet.close()
            part += 1
            sheet = book.sheet(f"Journal ({part})", JOURNAL_COLUMNS, f"{title} (part {part})")
            ws = sheet.ws
            cached_entry = None
        if eid != cached_entry:
            cached_entry = eid
            entry_cells = [eid, date(ws, day), kind, text(ws, reference), datetime_(ws, posted_at), text(ws, user)]
            tail_cells = [reverses, text(ws, memo), prev_hash, hash_]
        sheet.append([
            *entry_cells, line_no, account, flow, currency, amount(ws, amount_minor, currency), amount(ws, usd_cents, "USD"),
            text(ws, donor), text(ws, pledge), allocation, paragraph, text(ws, activity), text(ws, disbursement),
            *tail_cells,
        ])
        lines += 1
    sheet.end_data()
    sheet.close()
    return lines


def about_sheet(book: BookWriter, rows: list[tuple[str, object]]) -> None:
    sheet = book.sheet("About", (Column("Item", 40), Column("Value", 110)), "About this workbook", grid=False)
    ws = sheet.ws
    left = book.styles.get(wrap=True)
    for item, value in rows:
        if isinstance(value, dt.datetime):
            value = book._cell(ws, value.replace(microsecond=0), "d", book.styles.get("yyyy-mm-dd hh:mm:ss", wrap=True))
        elif isinstance(value, dt.date):
            value = book._cell(ws, value, "d", book.styles.get("yyyy-mm-dd", wrap=True))
        elif isinstance(value, int):
            value = book._cell(ws, value, "n", left)
        else:
            value = book.text(ws, str(value), wrap=True)
        lines = max(1, math.ceil(len(str(value if not isinstance(value, Cell) else value.value)) / 120))
        sheet.append([book.text(ws, item, bold=True, wrap=True), value], height=15 * lines + 1)
    sheet.end_data()
    sheet.close()
