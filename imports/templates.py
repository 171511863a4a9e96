"""Import templates: an .xlsx with the header, formats and drop-down lists, or a .csv header.

The data sheet comes first (it is the sheet an import reads) and holds only the header; an
example row sits on the separate "Example" sheet, so a filled template never imports it.
Drop-down values come from the ledger (donor, activity and pledge codes, the mandate's
paragraphs) and from the rules (currencies, donor kinds, activity statuses), listed on a
hidden "Lists" sheet because Excel limits an inline list to 255 characters.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.inputs import ACTIVITY_STATUSES, DONOR_KINDS
from ledger.money import currency_codes
from ledger.paragraphs import paragraphs
from ledger.schema import Activity, Donor, Pledge
from ledger.stages import STAGES

from .kinds import KINDS

MAX_LISTED_PLEDGES = 10_000  # longer lists make a template heavy; the cell then takes any text
LAST_ROW = 1_048_576

DATE_FORMAT = "yyyy-mm-dd"
FORMATS = {
    "amount": "#,##0.00", "budget_usd": "#,##0.00", "usd_amount": "#,##0.00", "units_per_usd": "0.000000",
    "psc_rate": "0.00", "paragraph": "0", "progress_pct": "0",
}

EXAMPLES: dict[str, list] = {
    "donors": ["NOR", "Norway", "member-state", "NOR", "NOK"],
    "rates": ["NOK", dt.date(2011, 1, 1), 5.8],
    "activities": ["A1", 1, "Training of criminal-justice practitioners", 500000, dt.date(2011, 9, 1),
                   dt.date(2013, 12, 31), "ongoing", 40],
    "pledges": ["NOR-2011-01", "NOR", dt.date(2011, 6, 1), "NOK", 1000000, 1, 13, dt.date(2012, 6, 30),
                "one row per allocation; leave paragraph empty for unearmarked money", "signed", None],
    "instalments": ["NOR-2011-01", dt.date(2012, 6, 30), 750000,
                    "one row per instalment; the rows of one pledge are its whole schedule"],
    "receipts": ["NOR-2011-01-R1", "NOR-2011-01", dt.date(2011, 8, 1), 750000, None, "BANK-2011-0815"],
    "disbursements": ["D-2011-001", "A1", dt.date(2011, 9, 1), 50000, "USD", None, "Training centre",
                      "regional workshop"],
}


@dataclass
class Lists:
    """Drop-down values: from the ledger, and from the rules."""

    donors: list[str] = field(default_factory=list)
    activities: list[str] = field(default_factory=list)
    pledges: list[str] = field(default_factory=list)
    paragraphs: list[int] = field(default_factory=list)
    currencies: list[str] = field(default_factory=currency_codes)
    kinds: list[str] = field(default_factory=lambda: list(DONOR_KINDS))
    statuses: list[str] = field(default_factory=lambda: list(ACTIVITY_STATUSES))
    countries: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=lambda: list(STAGES))


def lists_from(session: Session) -> Lists:
    import pycountry

    pledges = session.execute(select(Pledge.reference).order_by(Pledge.reference).limit(MAX_LISTED_PLEDGES + 1))
    pledge_refs = list(pledges.scalars())
    return Lists(
        donors=list(session.execute(select(Donor.code).order_by(Donor.code)).scalars()),
        activities=list(session.execute(select(Activity.code).order_by(Activity.code)).scalars()),
        pledges=pledge_refs if len(pledge_refs) <= MAX_LISTED_PLEDGES else [],
        paragraphs=[p.number for p in paragraphs(session)],
        countries=sorted(c.alpha_3 for c in pycountry.countries),
    )


# column -> (list name, strict): strict lists refuse other values, the ledger's lists only warn
# (a new donor or activity may be imported before the file that names it)
DROP_DOWNS = {
    "donors": {"kind": ("kinds", True), "country": ("countries", True), "currency": ("currencies", True)},
    "rates": {"currency": ("currencies", True)},
    "activities": {"paragraph": ("paragraphs", True), "status": ("statuses", True)},
    "pledges": {"donor": ("donors", False), "currency": ("currencies", True), "paragraph": ("paragraphs", True),
                "stage": ("stages", True)},
    "instalments": {"pledge": ("pledges", False)},
    "receipts": {"pledge": ("pledges", False)},
    "disbursements": {"activity": ("activities", False), "currency": ("currencies", True),
                      "pledge": ("pledges", False)},
}


def write_template(kind: str, path: str | Path, lists: Lists | None = None) -> None:
    spec = KINDS[kind]
    if Path(path).suffix.lower() == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerow(spec.columns)
        return
    _write_xlsx(kind, Path(path), lists or Lists())


def _write_xlsx(kind: str, path: Path, lists: Lists) -> None:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter, quote_sheetname
    from openpyxl.worksheet.datavalidation import DataValidation

    spec = KINDS[kind]
    columns = spec.columns
    wb = Workbook()
    data = wb.active
    data.title = kind
    example = wb.create_sheet("Example")
    hidden = wb.create_sheet("Lists")
    hidden.sheet_state = "hidden"

    bold = Font(bold=True)
    for sheet in (data, example):
        sheet.append(list(columns))
        for cell in sheet[1]:
            cell.font = bold
        sheet.freeze_panes = "A2"
    for i, name in enumerate(columns, start=1):
        letter = get_column_letter(i)
        cell = data.cell(row=1, column=i)
        if name in spec.required:
            cell.comment = Comment("required", "donor-ledger")
        number_format = _format(spec, name)
        data.column_dimensions[letter].width = max(14, len(name) + 4)
        example.column_dimensions[letter].width = max(14, len(name) + 4)
        data.column_dimensions[letter].number_format = number_format

    # the example, with the same formats, on its own sheet
    example.append(EXAMPLES[kind])
    for i, name in enumerate(columns, start=1):
        example.cell(row=2, column=i).number_format = _format(spec, name)
    example.cell(row=4, column=1, value=(
        f"This sheet is not imported. Fill in the first sheet ({kind}), one row per "
        f"{'allocation' if kind == 'pledges' else kind[:-1]}; required columns: {', '.join(spec.required)}."
    ))

    # drop-downs
    list_columns: dict[str, str] = {}
    for j, (list_name, values) in enumerate(
        (n, getattr(lists, n)) for n in ("donors", "activities", "pledges", "paragraphs", "currencies", "kinds",
                                         "statuses", "countries", "stages")
    ):
        letter = get_column_letter(j + 1)
        hidden.cell(row=1, column=j + 1, value=list_name)
        for r, value in enumerate(values, start=2):
            hidden.cell(row=r, column=j + 1, value=value)
        if values:
            list_columns[list_name] = f"{quote_sheetname('Lists')}!${letter}$2:${letter}${len(values) + 1}"
    for column, (list_name, strict) in DROP_DOWNS[kind].items():
        if list_name not in list_columns:
            continue
        rule = DataValidation(type="list", formula1=list_columns[list_name], allow_blank=True,
                              errorStyle="stop" if strict else "warning", showErrorMessage=True,
                              error=f"choose a value from the list ({list_name})", errorTitle=column)
        _apply(data, rule, columns.index(column))
    for column in columns:
        rule = _number_rule(column)
        if rule is not None:
            _apply(data, rule, columns.index(column))
    wb.save(path)


def _apply(sheet, rule, index: int) -> None:
    from openpyxl.utils import get_column_letter

    letter = get_column_letter(index + 1)
    sheet.add_data_validation(rule)
    rule.add(f"{letter}2:{letter}{LAST_ROW}")


def _number_rule(column: str):
    from openpyxl.worksheet.datavalidation import DataValidation

    def rule(kind: str, operator: str, low, high=None, message: str = ""):
        return DataValidation(type=kind, operator=operator, formula1=str(low),
                              formula2=None if high is None else str(high), allow_blank=True,
                              showErrorMessage=True, error=message, errorTitle=column)

    if column in ("amount",):
        return rule("decimal", "between", 0.000001, 10**12, "an amount greater than zero, at most 10^12")
    if column in ("budget_usd",):
        return rule("decimal", "between", 0, 10**12, "zero or more, at most 10^12")
    if column == "units_per_usd":
        return rule("decimal", "greaterThan", 0, message="units per US dollar, greater than zero")
    if column == "psc_rate":
        return rule("decimal", "between", 0, 100, "a percentage between 0 and 100")
    if column == "progress_pct":
        return rule("whole", "between", 0, 100, "whole percent between 0 and 100")
    if column in ("pledged_on", "received_on", "disbursed_on", "effective_from", "due_on", "planned_start",
                  "planned_end", "signed_on"):
        return rule("date", "greaterThan", 1, message="a date (YYYY-MM-DD)")
    return None


def _format(spec, name: str) -> str:
    if name in spec.dates:
        return DATE_FORMAT
    if name in FORMATS:
        return FORMATS[name]
    return "@"  # text: a reference such as 0012 stays as typed
