"""Reading import files (.csv and .xlsx) into header-checked rows.

This is the file layer of the importer: it knows about encodings, separators, zip
archives and spreadsheet cells, and nothing about donors, pledges or money.

- ``open_table(path, required=..., optional=...)`` checks the whole file (type, encoding,
  archive safety, header) and raises ``ImportFileError`` listing every whole-file problem.
- ``TableFile.rows()`` then streams ``(line, {column: raw value})`` pairs. It never raises:
  a row with a problem (more values than the header, text too long, a formula without a
  value, a merged cell, ...) is recorded in ``TableFile.problems`` and not yielded.

Line numbers count the header as line 1 (for CSV: the physical line where a record starts);
completely empty rows are skipped but still counted. Raw values: CSV gives trimmed strings
('' when empty); XLSX gives trimmed str, float/int, bool, datetime.date (datetime.datetime when
the time is not midnight), datetime.time/timedelta as stored, or None when empty.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import os
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from lxml import etree
from python_calamine_plus import CalamineWorkbook

MAX_TEXT = 32_767  # the most characters a spreadsheet cell can hold
MAX_CSV_LINE_BYTES = 8 * 1024 * 1024
MAX_UNCOMPRESSED = 1024**3  # 1 GiB for the whole .xlsx archive
MAX_RATIO = 200  # compression ratio refused for members larger than RATIO_MIN_SIZE
RATIO_MIN_SIZE = 10 * 1024 * 1024
XML_HEAD_BYTES = 64 * 1024  # how much of each XML member is scanned for DTDs
ACCEPTED = (".csv", ".xlsx")

_CHUNK = 1024 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls and password-protected .xlsx
_SPREADSHEET_NAMESPACES = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",  # "strict" Office Open XML
)
_RECALCULATE = "open and save the file in Excel or LibreOffice first"
_FORMULA_OR_ERROR = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]|\st=[\"']e[\"']")
_CELL_TAGS = [f"{{{ns}}}c" for ns in _SPREADSHEET_NAMESPACES]
_OFFICE_DOCUMENT = "/officeDocument"  # suffix of the relationship type of xl/workbook.xml


@dataclass(frozen=True)
class FileProblem:
    path: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        if self.column:
            return f"{where}: {self.column}: {self.message}"
        return f"{where}: {self.message}"


class ImportFileError(Exception):
    """The file cannot be imported at all; ``problems`` says why (one or more)."""

    def __init__(self, problems: Sequence[FileProblem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class TableFile:
    """A file whose header has been checked; ``rows()`` streams its data rows."""

    path: str
    columns: list[str]
    problems: list[FileProblem] = field(default_factory=list)
    # column name -> position in the cell lists produced by _cells()
    positions: dict[str, int] = field(default_factory=dict, repr=False)
    # the file as it was checked: rows() refuses to read another one put in its place meanwhile
    identity: tuple | None = field(default=None, repr=False)

    def rows(self) -> Iterator[tuple[int, dict[str, object]]]:
        """Yield ``(line, {column: value})`` for every non-empty, problem-free row.

        Problems found on the way go to ``self.problems`` (reset at each pass), sorted by
        line, and the row they belong to is not yielded.
        """
        self.problems.clear()
        if self.identity is not None and _identity(self.path) != self.identity:
            self.problems.append(FileProblem(self.path, None, None, "the file changed after it was checked (replaced "
                                                                    "or edited meanwhile); nothing read, import it again"))
            return
        named = set(self.positions.values())
        # cells before this position all have a name (a row no longer than it has no unnamed value)
        named_prefix = next(i for i in range(len(named) + 1) if i not in named)
        positions = list(self.positions.items())
        empty, longest = self._empty, self._longest_text
        for line, cells, problems in self._cells():
            if not problems and all(v is None or v == "" for v in cells):
                continue
            if len(cells) > named_prefix:
                unnamed = [i for i, v in enumerate(cells) if i not in named and not _is_empty(v)]
                if unnamed and not problems:
                    problems = [self._unnamed_value_problem(line, cells, unnamed)]
            width = len(cells)
            row = {name: cells[i] if i < width else empty for name, i in positions}
            if self._may_hold_long_text(cells, longest):
                for name, value in row.items():
                    if isinstance(value, str) and len(value) > longest:
                        problems.append(FileProblem(self.path, line, name, self._too_long_text))
            if problems:
                self.problems.extend(problems)
                continue
            yield line, row

    @staticmethod
    def _may_hold_long_text(cells: list, longest: int) -> bool:
        return True

    # Format-specific parts, overridden below.
    _empty: ClassVar[object] = None
    _longest_text: ClassVar[int] = MAX_TEXT
    _too_long_text: ClassVar[str] = "text longer than 32,767 characters"

    def _cells(self) -> Iterator[tuple[int, list, list[FileProblem]]]:
        """Yield (line, cells, problems) for every row after the header."""
        raise NotImplementedError

    def _unnamed_value_problem(self, line: int, cells: list, unnamed: list[int]) -> FileProblem:
        raise NotImplementedError


def open_table(path: str | Path, *, required: Sequence[str], optional: Sequence[str]) -> TableFile:
    """Open a .csv or .xlsx import file and check its header against the expected columns."""
    name = str(path)
    suffix = Path(name).suffix.lower()
    target = Path(name)
    if target.exists() and not target.is_file():
        kind = "a folder" if target.is_dir() else "not a regular file"
        raise _error(name, None, f"is {kind}; give the path of a .csv or .xlsx file")
    if suffix in (".csv", ".xlsx"):
        identity = _identity(name)
        table = (_open_csv if suffix == ".csv" else _open_xlsx)(name, required, optional)
        table.identity = identity
        return table
    found = f"'{suffix}'" if suffix else "no extension"
    hint = "; save it as .xlsx" if suffix in (".xls", ".xlsm", ".ods") else ""
    raise _error(name, None, f"unsupported file type ({found}); accepted: {', '.join(ACCEPTED)}{hint}")


# ---------------------------------------------------------------------------------------------
# Shared helpers


def _identity(path: str) -> tuple | None:
    """Which file ``path`` is, and in which version (None when it cannot be read)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


def _error(path: str, line: int | None, message: str, column: str | None = None) -> ImportFileError:
    return ImportFileError([FileProblem(path, line, column, message)])


def _is_empty(value: object) -> bool:
    return value is None or value == ""


def _expected(required: Sequence[str], optional: Sequence[str]) -> str:
    return ", ".join([*required, *optional])


def _header_name(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def _check_header(
    path: str, header: list, required: Sequence[str], optional: Sequence[str]
) -> tuple[list[str], dict[str, int], list[FileProblem]]:
    """Return (columns, positions, problems) for a header row; empty header cells are ignored."""
    known = {c.lower() for c in (*required, *optional)}
    columns: list[str] = []
    positions: dict[str, int] = {}
    problems: list[FileProblem] = []
    for i, raw in enumerate(header):
        text = _header_name(raw)
        key = text.lower()
        if not key:
            continue
        if key not in known:
            problems.append(
                FileProblem(path, 1, text, f"unknown column; expected: {_expected(required, optional)}")
            )
        elif key in positions:
            problems.append(FileProblem(path, 1, text, "duplicated column"))
        else:
            positions[key] = i
            columns.append(key)
    for name in required:
        if name.lower() not in positions:
            problems.append(FileProblem(path, 1, name.lower(), "required column is missing"))
    return columns, positions, problems


# ---------------------------------------------------------------------------------------------
# CSV


@dataclass
class _CsvTable(TableFile):
    header_width: int = 0
    _empty: ClassVar[object] = ""

    @staticmethod
    def _may_hold_long_text(cells: list, longest: int) -> bool:
        return max(map(len, cells), default=0) > longest  # every cell is text: one pass in C

    def _cells(self) -> Iterator[tuple[int, list, list[FileProblem]]]:
        try:
            with open(self.path, "rb") as f:
                records = _csv_records(self.path, f)
                next(records, None)  # the header
                yield from records
        except OSError as e:
            yield 1, [], [FileProblem(self.path, None, None, f"cannot read the file: {e.strerror or e}")]

    def _unnamed_value_problem(self, line: int, cells: list, unnamed: list[int]) -> FileProblem:
        width = self.header_width
        if unnamed[-1] >= width:
            return FileProblem(self.path, line, None, f"{len(cells)} values, header has {width} columns")
        return FileProblem(
            self.path, line, None, f"value in column {unnamed[0] + 1}, which has no header name"
        )


_TOO_LONG = "line longer than 8 MiB; not a valid import file"


class _StopReading(Exception):
    """A CSV line that cannot be read; carries the problem."""

    def __init__(self, problem: FileProblem):
        self.problem = problem


def _open_csv(path: str, required: Sequence[str], optional: Sequence[str]) -> TableFile:
    expected = _expected(required, optional)
    try:
        _check_utf8(path, expected)
        with open(path, "rb") as f:
            _, header, problems = next(_csv_records(path, f), (1, [], []))
    except OSError as e:
        raise _error(path, None, f"cannot read the file: {e.strerror or e}") from None
    if problems:
        raise ImportFileError(problems)
    if not any(header):
        raise _error(path, 1, f"line 1 is empty; expected a header line with columns: {expected}")
    known = {c.lower() for c in (*required, *optional)}
    for separator, found in ((";", "';'"), ("\t", "tabs"), ("|", "'|'")):
        # a header cell that splits into column names on another separator: the file uses that one
        if any(separator in cell and known & {n.strip().lower() for n in cell.split(separator)} for cell in header):
            raise _error(path, 1, f"expected comma-separated values, found {found}")
    columns, positions, problems = _check_header(path, header, required, optional)
    if problems:
        raise ImportFileError(problems)
    return _CsvTable(path, columns, positions=positions, header_width=len(header))


def _check_utf8(path: str, expected: str) -> None:
    """One streaming pass: refuse empty files, UTF-16 and bytes that are not UTF-8."""
    advice = "save it as CSV UTF-8"
    decoder = codecs.getincrementaldecoder("utf-8")()
    newlines = 0
    blank = True
    with open(path, "rb") as f:
        first = True
        while chunk := f.read(_CHUNK):
            if first:
                if chunk.startswith(b"PK\x03\x04"):
                    raise _error(path, None, "is a spreadsheet workbook (a zip archive), not CSV text; give it the "
                                             f".xlsx extension, or {advice}")
                if chunk.startswith(_OLE_MAGIC):
                    raise _error(path, None, f"is an old .xls (or other Office) file, not CSV text; {advice}")
                if chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                    raise _error(path, None, f"is not UTF-8 text (found a UTF-16 byte order mark); {advice}")
                chunk = chunk.removeprefix(codecs.BOM_UTF8)
                first = False
            if b"\x00" in chunk:
                line = newlines + chunk[: chunk.index(b"\x00")].count(b"\n") + 1
                raise _error(path, line, f"is not UTF-8 text (found NUL bytes, as in UTF-16); {advice}")
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                line = newlines + e.object[: e.start].count(b"\n") + 1
                bad = e.object[e.start : e.start + 1].hex().upper()
                raise _error(
                    path,
                    line,
                    f"is not UTF-8 text (found byte 0x{bad}, as in Latin-1/Windows-1252); {advice}",
                ) from None
            newlines += chunk.count(b"\n")
            blank = blank and not chunk.strip()
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise _error(
                path, newlines + 1, f"is not UTF-8 text (it ends in the middle of a character); {advice}"
            ) from None
    if blank:
        raise _error(path, None, f"the file is empty; expected a header line with columns: {expected}")


def _physical_lines(path: str, f) -> Iterator[str]:
    """Decoded lines (ending in \\n, \\r\\n or \\r), read in chunks so memory stays bounded."""
    pending = b""
    number = 0
    first = True
    while True:
        chunk = f.read(64 * 1024)
        data = pending + chunk
        if first:
            data = data.removeprefix(codecs.BOM_UTF8)
            first = False
        if not data:
            return
        lines = data.splitlines(keepends=True)
        # the last piece may be incomplete (or a \r whose \n is in the next chunk)
        pending = lines.pop() if chunk and not data.endswith(b"\n") else b""
        for raw in lines:
            number += 1
            if len(raw) > MAX_CSV_LINE_BYTES:
                raise _StopReading(FileProblem(path, number, None, _TOO_LONG))
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                raise _StopReading(FileProblem(path, number, None, "is not UTF-8 text")) from None
        if len(pending) > MAX_CSV_LINE_BYTES:
            raise _StopReading(FileProblem(path, number + 1, None, _TOO_LONG))
        if not chunk:
            return


def _csv_records(path: str, f) -> Iterator[tuple[int, list, list[FileProblem]]]:
    """Yield (first line of the record, trimmed cells, problems), header included.

    Reading stops at the first line that cannot be read, which is yielded with its problem.
    """
    reader = csv.reader(_physical_lines(path, f), strict=True)
    line = 1
    try:
        for record in reader:
            yield line, [cell.strip() for cell in record], []
            line = reader.line_num + 1
    except csv.Error as e:
        if "unexpected end of data" in str(e):
            message = 'a quoted value starting on this line is never closed (missing ")'
        else:
            message = f"malformed CSV ({e})"
        yield line, [], [FileProblem(path, line, None, message + "; reading stopped here")]
    except _StopReading as e:
        yield e.problem.line or line, [], [e.problem]


# ---------------------------------------------------------------------------------------------
# XLSX


@dataclass
class _XlsxTable(TableFile):
    pending: dict[int, list[FileProblem]] = field(default_factory=dict, repr=False)
    # calamine cuts longer text to 32,767 characters, so a text of exactly that length may be cut
    _longest_text: ClassVar[int] = MAX_TEXT - 1
    _too_long_text: ClassVar[str] = (
        "text of 32,767 characters or more (the most a cell holds; longer text is cut)"
    )

    def _cells(self) -> Iterator[tuple[int, list, list[FileProblem]]]:
        """Stream the first sheet row by row: memory holds one row, whatever the file's size."""
        seen: set[int] = set()
        line = 1
        try:
            with _workbook(self.path) as workbook:
                rows = workbook.stream_sheet_by_index(0)
                next(rows, None)  # the header
                for line, row in enumerate(rows, start=2):
                    problems = self.pending.get(line)
                    if problems:
                        seen.add(line)
                    yield line, [_xlsx_value(v) for v in row], list(problems or [])
        except _XlsxUnreadable as e:
            message = f"{e}; reading stopped here"
            yield line + 1, [], [FileProblem(self.path, line + 1, None, message)]
            return
        for line in sorted(self.pending.keys() - seen):  # problems below the last value
            if line > 1:
                yield line, [], list(self.pending[line])

    def _unnamed_value_problem(self, line: int, cells: list, unnamed: list[int]) -> FileProblem:
        ref = f"{_column_letters(unnamed[0])}{line}"
        return FileProblem(self.path, line, None, f"cell {ref} has a value but its column has no header")


def _open_xlsx(path: str, required: Sequence[str], optional: Sequence[str]) -> TableFile:
    expected = _expected(required, optional)
    try:
        scan_problems = _check_xlsx_archive(path)
    except OSError as e:
        raise _error(path, None, f"cannot read the file: {e.strerror or e}") from None
    try:
        with _workbook(path) as workbook:
            if not workbook.sheet_names:
                raise _error(path, None, "the workbook has no sheets")
            # the rich stream reads the sheet's merged ranges (stored after the cells) up front
            merged = workbook.stream_sheet_by_index(0, rich=True).merged_cell_ranges or []
            first_rows = workbook.stream_sheet_by_index(0)
            header = [_xlsx_value(v) for v in next(first_rows, [])]
            if all(v is None for v in header):
                if any(any(not _is_empty(v) for v in row) for row in first_rows):
                    raise _error(path, 1, f"row 1 of the first sheet is empty; expected the header row: {expected}")
                raise _error(path, None, f"the first sheet is empty; expected a header row with columns: {expected}")
    except _XlsxUnreadable as e:
        raise _error(path, None, str(e)) from None
    columns, positions, problems = _check_header(path, header, required, optional)
    names = {i: name for name, i in positions.items()}

    header_cells: list[FileProblem] = []
    pending: dict[int, list[FileProblem]] = {}
    for line, column, message in (*scan_problems, *_merged_problems(merged)):
        problem = FileProblem(path, line, names.get(column) if column is not None else None, message)
        if line == 1:
            header_cells.append(problem)
        else:
            pending.setdefault(line, []).append(problem)
    if header_cells or problems:
        raise ImportFileError(header_cells + problems)
    return _XlsxTable(path, columns, positions=positions, pending=pending)


class _XlsxUnreadable(Exception):
    """calamine could not read the workbook; the message says why."""


@contextmanager
def _workbook(path: str) -> Iterator[CalamineWorkbook]:
    """The workbook open for streaming; calamine's errors (and Rust panics) become _XlsxUnreadable."""
    try:
        with CalamineWorkbook.from_path(path) as workbook:
            yield workbook
    except ImportFileError:
        raise
    except Exception as e:
        raise _XlsxUnreadable(f"is not a readable .xlsx file ({e})") from None
    except BaseException as e:  # a Rust panic inside calamine is a BaseException
        if type(e).__name__ != "PanicException":
            raise
        raise _XlsxUnreadable(f"is not a readable .xlsx file ({e})") from None


def _xlsx_value(value: object) -> object:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0):
        return value.date()
    return value


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - ord("A") + 1
    return index - 1


def _merged_problems(ranges) -> Iterator[tuple[int, int | None, str]]:
    for (r0, c0), (r1, c1) in ranges:
        ref = f"{_column_letters(c0)}{r0 + 1}:{_column_letters(c1)}{r1 + 1}"
        yield r0 + 1, None, f"merged cells {ref} are not allowed in an import file"


def _check_xlsx_archive(path: str) -> list[tuple[int, int, str]]:
    """Refuse what is not a safe .xlsx; return the (line, column, message) cell problems of sheet 1."""
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic == _OLE_MAGIC:
        raise _error(
            path, None, "is an old .xls or a password-protected file, not an .xlsx; save it as .xlsx"
        )
    if not zipfile.is_zipfile(path):
        raise _error(path, None, "is not an .xlsx file (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            if sum(m.file_size for m in members) > MAX_UNCOMPRESSED:
                raise _error(path, None, "uncompresses to more than 1 GiB; refused for safety")
            for m in members:
                if m.file_size > RATIO_MIN_SIZE and m.file_size > MAX_RATIO * max(m.compress_size, 1):
                    raise _error(
                        path, None, f"{m.filename} is compressed more than {MAX_RATIO}:1; refused for safety"
                    )
            for m in members:
                if m.filename.lower().endswith((".xml", ".rels", ".vml")) and _declares_dtd(zf, m):
                    raise _error(
                        path, None, f"{m.filename} contains XML entity declarations; refused for safety"
                    )
            sheet_member = _first_sheet_member(zf)
            if sheet_member is None:
                raise _error(path, None, "is not an .xlsx file (no worksheet found)")
            return list(_scan_sheet_cells(zf, sheet_member))
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        RuntimeError,
        NotImplementedError,
        EOFError,
        zlib.error,
    ) as e:
        raise _error(path, None, f"is not a readable .xlsx file ({e})") from None
    except (etree.XMLSyntaxError, KeyError, ValueError) as e:
        raise _error(path, None, f"is not a readable .xlsx file (damaged XML: {e})") from None


def _declares_dtd(zf: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    with zf.open(member) as f:
        head = f.read(XML_HEAD_BYTES)
    head = head.replace(b"\x00", b"").lower()  # also catches UTF-16 encoded XML
    return b"<!doctype" in head or b"<!entity" in head


def _parse_small_xml(zf: zipfile.ZipFile, member: str):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(zf.read(member), parser)


def _relationships(zf: zipfile.ZipFile, rels_path: str, base: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, member name) from a .rels part."""
    root = _parse_small_xml(zf, rels_path)
    result = {}
    for rel in root.iter("{*}Relationship"):
        target = rel.get("Target", "")
        member = (
            target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
        )
        result[rel.get("Id", "")] = (rel.get("Type", ""), member)
    return result


def _first_sheet_member(zf: zipfile.ZipFile) -> str | None:
    names = set(zf.namelist())
    if "_rels/.rels" not in names:
        return None
    workbook = next(
        (m for t, m in _relationships(zf, "_rels/.rels", "").values() if t.endswith(_OFFICE_DOCUMENT)), None
    )
    if workbook not in names:
        return None
    base, file = posixpath.split(workbook)
    rels_path = posixpath.join(base, "_rels", file + ".rels")
    if rels_path not in names:
        return None
    root = _parse_small_xml(zf, workbook)
    first = next(root.iter("{*}sheet"), None)
    if first is None:
        return None
    rel_id = next(
        (v for k, v in first.attrib.items() if etree.QName(k).localname == "id" and k.startswith("{")), None
    )
    _, member = _relationships(zf, rels_path, base).get(rel_id, ("", None))
    return member if member in names else None


def _scan_sheet_cells(zf: zipfile.ZipFile, member: str) -> Iterator[tuple[int, int, str]]:
    """(line, column index, message) for formula cells without a cached value and error cells.

    The row stream shows the first as an empty cell and the second as its error text, so both are
    found here, with their cell reference. A quick byte scan skips the XML parse when the sheet
    has no formula and no error cell at all; the parse keeps only the current row in memory.
    """
    if not _contains_formula_or_error(zf, member):
        return
    row_element = None
    row = 0
    column = -1
    with zf.open(member) as f:
        for _, cell in etree.iterparse(f, tag=_CELL_TAGS, resolve_entities=False, no_network=True):
            parent = cell.getparent()
            if parent is not row_element:  # a new row: drop the rows already scanned
                while parent.getprevious() is not None:
                    del parent.getparent()[0]
                row_element = parent
                row = int(parent.get("r") or row + 1)
                column = -1
            ref = cell.get("r")
            if ref:
                letters = ref.rstrip("0123456789")
                column, row = _column_index(letters), int(ref[len(letters) :])
            else:
                column += 1
                ref = f"{_column_letters(column)}{row}"
            kind = cell.get("t")
            has_formula = len(cell) > 0 and etree.QName(cell[0]).localname == "f"
            if kind == "e" or has_formula:
                v = next((child for child in cell if etree.QName(child).localname == "v"), None)
                value = "" if v is None else (v.text or "")
                if kind == "e":
                    yield row, column, f"{ref}: the cell holds the error value {value or '#ERROR'}"
                elif v is None or (value == "" and kind != "str"):  # t="str": the formula gave ""
                    yield row, column, f"{ref}: formula without a calculated value; " + _RECALCULATE
            cell.clear(keep_tail=True)


def _contains_formula_or_error(zf: zipfile.ZipFile, member: str) -> bool:
    tail = b""
    with zf.open(member) as f:
        while chunk := f.read(_CHUNK):
            if _FORMULA_OR_ERROR.search(tail + chunk):
                return True
            tail = chunk[-32:]
    return False
