"""The spreadsheet toolkit of the audit workbook: ``BookWriter`` (one write-only openpyxl
workbook and its cell factories), ``SheetWriter`` (one sheet: a frozen, filtered, printable
header row, then data rows), ``Column``, ``Styles`` and the number formats.

Cells:
- money is a number cell whose stored text is the exact decimal (``86206.89``, never a float
  round trip), with the number format of its currency's minor units; an amount of more than
  15 significant digits (beyond what a spreadsheet number holds exactly) is written as text
  with a comment saying so, and counted (``BookWriter.text_amounts``);
- text is always a string cell (``t="inlineStr"``), never a formula; text a spreadsheet
  would run (starting with = + - @, tab, CR, LF) or read as an error code also gets the
  quote prefix, so that editing the cell keeps it text.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import ERROR_CODES, Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

from ledger.money import from_minor, minor_digits

from .formats import FORMULA_STARTS

MAX_DATA_ROWS = 1_048_575  # rows of a sheet (1,048,576) less its header row; tests lower it
MAX_TEXT = 32_767  # characters a cell holds
MAX_DIGITS = 15  # significant digits a spreadsheet number holds exactly
BATCH = 5_000

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_THIN = Side(style="thin", color="808080")

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class Column:
    header: str
    width: float
    kind: str = "text"  # text | int | date | datetime | money | usd | pct | rate | hash


def money_format(currency: str) -> str:
    digits = minor_digits(currency)
    return "#,##0" if digits == 0 else "#,##0." + "0" * digits


class Styles:
    """Cell styles made once per workbook; a cell gets a shared copy of one StyleArray."""

    def __init__(self, wb: Workbook):
        self.wb = wb
        self._cache: dict[tuple, object] = {}

    def get(self, number_format: str | None = None, bold: bool = False, quote: bool = False, header: bool = False,
            wrap: bool = False):
        key = (number_format, bold, quote, header, wrap)
        style = self._cache.get(key)
        if style is None:
            probe = Cell(None)
            probe.parent = _ProbeSheet(self.wb)
            if number_format:
                probe.number_format = number_format
            if bold or header:
                probe.font = Font(name="Calibri", size=11, bold=True)
            if header:
                probe.fill = PatternFill("solid", fgColor="D9E1F2")
                probe.border = Border(bottom=_THIN)
                probe.alignment = Alignment(wrap_text=True, vertical="top")
            elif wrap:
                probe.alignment = Alignment(wrap_text=True, vertical="top", horizontal="left")
            if bold and not header:
                probe.border = Border(top=_THIN)  # totals rows
            if quote:
                probe.quotePrefix = True
            style = self._cache[key] = probe._style
        return style


class _ProbeSheet:
    """Just enough of a worksheet for a cell to register its style with the workbook."""

    def __init__(self, wb: Workbook):
        self.parent = wb


class BookWriter:
    """Cell factories and sheet bookkeeping for one workbook."""

    def __init__(self, progress: Progress | None = None, max_rows: int | None = None):
        self.wb = Workbook(write_only=True)
        self.styles = Styles(self.wb)
        self.progress = progress
        self.max_rows = max_rows or MAX_DATA_ROWS
        self.text_amounts = 0  # amounts written as text (more than 15 significant digits)
        self.cut_texts = 0  # texts cut at a cell's 32,767 characters
        self.literal_texts = 0  # texts that start like a formula, written as literal text
        self.sheets: list[str] = []

    # -- cells ----------------------------------------------------------------------------
    def _cell(self, ws, value, data_type: str, style) -> Cell:
        cell = Cell(ws, row=1, column=1, style_array=style)
        cell._value = value
        cell.data_type = data_type
        return cell

    def text(self, ws, value: str | None, bold: bool = False, wrap: bool = False):
        if value is None or value == "":
            return None
        value = str(value)
        if _ILLEGAL.search(value):
            value = _ILLEGAL.sub("\ufffd", value)
        if len(value) > MAX_TEXT:
            value = value[: MAX_TEXT - 1] + "…"
            self.cut_texts += 1
        if value.startswith(FORMULA_STARTS) or value in ERROR_CODES:
            self.literal_texts += 1
            return self._cell(ws, value, "s", self.styles.get(quote=True, bold=bold, wrap=wrap))
        if bold or wrap:
            return self._cell(ws, value, "s", self.styles.get(bold=bold, wrap=wrap))
        return value

    def amount(self, ws, minor: int | None, currency: str, bold: bool = False):
        """A money cell: the exact decimal, formatted for the currency; text beyond 15 digits."""
        if minor is None:
            return None
        value = from_minor(minor, currency)
        if len(str(abs(minor))) > MAX_DIGITS:
            self.text_amounts += 1
            cell = self._cell(ws, f"{value}", "s", self.styles.get(bold=bold))
            cell.comment = Comment(
                f"{currency} {value}: more than {MAX_DIGITS} significant digits, which a spreadsheet number "
                "cannot hold exactly; written as text so that it is not rounded.", "donor-ledger")
            return cell
        return self._cell(ws, str(value), "n", self.styles.get(money_format(currency), bold=bold))

    def usd(self, ws, cents: int | None, bold: bool = False):
        return self.amount(ws, cents, "USD", bold)

    def decimal(self, ws, value: Decimal | None, number_format: str, bold: bool = False):
        if value is None:
            return None
        if len(value.as_tuple().digits) > MAX_DIGITS:
            self.text_amounts += 1
            return self._cell(ws, f"{value}", "s", self.styles.get(bold=bold))
        return self._cell(ws, str(value), "n", self.styles.get(number_format, bold=bold))

    def date(self, ws, value: dt.date | None):
        if value is None:
            return None
        return self._cell(ws, value, "d", self.styles.get("yyyy-mm-dd"))

    def datetime(self, ws, value: dt.datetime | None):
        if value is None:
            return None
        return self._cell(ws, value.replace(microsecond=0), "d", self.styles.get("yyyy-mm-dd hh:mm:ss"))

    def formula(self, ws, text: str, number_format: str | None = None, bold: bool = False):
        return self._cell(ws, text, "f", self.styles.get(number_format, bold=bold))

    # -- sheets ---------------------------------------------------------------------------
    def sheet(self, title: str, columns: Iterable[Column], print_title: str = "", grid: bool = True,
              print_scale: int | None = None) -> SheetWriter:
        self.sheets.append(title)
        return SheetWriter(self, title, list(columns), print_title, grid, print_scale)

    def save(self, path: Path) -> None:
        self.wb.save(path)


class SheetWriter:
    """One sheet: a frozen, filtered, printable header row, then data rows."""

    def __init__(self, book: BookWriter, title: str, columns: list[Column], print_title: str = "", grid: bool = True,
                 print_scale: int | None = None):
        """Printed landscape, fitted to the page width; or, with ``print_scale``, portrait at that
        percentage (a long sheet of narrow columns)."""
        self.book = book
        self.title = title
        self.columns = columns
        self.ws = ws = book.wb.create_sheet(title)
        ws.freeze_panes = "A2"
        for i, column in enumerate(columns, start=1):
            ws.column_dimensions[get_column_letter(i)].width = column.width
        ws.page_setup.orientation = "portrait" if print_scale else "landscape"
        ws.page_setup.paperSize = "9"  # A4
        if print_scale:
            ws.page_setup.scale = print_scale
        else:
            ws.page_setup.fitToWidth = 1
            ws.page_setup.fitToHeight = 0
        # (written with the first row in a write-only workbook: not changeable later)
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=not print_scale)
        ws.print_options.gridLines = grid
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.print_title_rows = "1:1"
        ws.oddHeader.center.text = print_title or title
        ws.oddFooter.right.text = "Page &P of &N"
        ws.oddFooter.left.text = "&A"
        lines = max(math.ceil(len(c.header) / max(c.width - 2, 1)) for c in columns)
        ws.row_dimensions[1].height = 15 * max(lines, 1) + 2  # wrapped headers: LibreOffice keeps stored heights
        header = book.styles.get(header=True)
        ws.append([book._cell(ws, c.header, "s", header) for c in columns])
        self.rows = 1  # rows written, header included
        self.data_end = 1  # last row inside the auto filter

    def append(self, cells: list, height: float | None = None) -> int:
        if height:
            self.ws.row_dimensions[self.rows + 1].height = height
        self.ws.append(cells)
        self.rows += 1
        if self.book.progress and self.rows % BATCH == 0:
            self.book.progress(self.title, self.rows - 1)
        return self.rows

    def end_data(self) -> None:
        """Rows after this one (totals, notes) stay outside the filter."""
        self.data_end = self.rows

    def close(self) -> None:
        last = get_column_letter(len(self.columns))
        self.ws.auto_filter.ref = f"A1:{last}{max(self.data_end, 1)}"
        if self.book.progress:
            self.book.progress(self.title, self.rows - 1)
