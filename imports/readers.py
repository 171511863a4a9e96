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
import posixpath
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from python_calamine import CalamineWorkbook

MAX_TEXT = 32_767  # the most characters a spreadsheet cell can hold
MAX_CSV_LINE_BYTES = 8 * 1024 * 1024
MAX_UNCOMPRESSED = 1024**3  # 1 GiB for the whole .xlsx archive
MAX_RATIO = 200  # compression ratio refused for members larger than RATIO_MIN_SIZE
RATIO_MIN_SIZE = 10 * 1024 * 1024
XML_HEAD_BYTES = 64 * 1024  # how much of each XML member is scanned for DTDs
ACCEPTED = (".csv", ".xlsx")

_CHUNK = 1024 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls and password-protected .xlsx
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
_FORMULA_OR_ERROR = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]|\st=[\"']e[\"']")
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

    def rows(self) -> Iterator[tuple[int, dict[str, object]]]:
        """Yield ``(line, {column: value})`` for every non-empty, problem-free row.

        Problems found on the way go to ``self.problems`` (reset at each pass), sorted by
        line, and the row they belong to is not yielded.
        """
        self.problems.clear()
        named = set(self.positions.values())
        for line, cells, problems in self._cells():
            if not problems and all(_is_empty(v) for v in cells):
                continue
            if not problems and any(i not in named and not _is_empty(v) for i, v in enumerate(cells)):
                problems = [self._unnamed_value_problem(line, cells)]
            for name, i in self.positions.items():
                value = cells[i] if i < len(cells) else None
                if isinstance(value, str) and len(value) > MAX_TEXT:
                    problems.append(FileProblem(self.path, line, name, "text longer than 32,767 characters"))
            if problems:
                self.problems.extend(problems)
                continue
            yield line, {name: _cell(cells, i, self._empty) for name, i in self.positions.items()}

    # Format-specific parts, overridden below.
    _empty: object = None

    def _cells(self) -> Iterator[tuple[int, list, list[FileProblem]]]:
        raise NotImplementedError

    def _unnamed_value_problem(self, line: int, cells: list) -> FileProblem:
        raise NotImplementedError


def open_table(path: str | Path, *, required: Sequence[str], optional: Sequence[str]) -> TableFile:
    """Open a .csv or .xlsx import file and check its header against the expected columns."""
    name = str(path)
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        return _open_csv(name, required, optional)
    if suffix == ".xlsx":
        return _open_xlsx(name, required, optional)
    found = f"'{suffix}'" if suffix else "no extension"
    hint = "; save it as .xlsx" if suffix in (".xls", ".xlsm", ".ods") else ""
    raise _error(name, None, f"unsupported file type ({found}); accepted: {', '.join(ACCEPTED)}{hint}")


# ---------------------------------------------------------------------------------------------
# Shared helpers


def _error(path: str, line: int | None, message: str, column: str | None = None) -> ImportFileError:
    return ImportFileError([FileProblem(path, line, column, message)])


def _is_empty(value: object) -> bool:
    return value is None or value == ""


def _cell(cells: list, i: int, empty: object) -> object:
    return cells[i] if i < len(cells) else empty


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


class _CsvTable(TableFile):
    _empty = ""

    def _cells(self) -> Iterator[tuple[int, list, list[FileProblem]]]:
        try:
            with open(self.path, "rb") as f:
                yield from _csv_records(self.path, f, skip_header=True)
        except OSError as e:
            yield 1, [], [FileProblem(self.path, None, None, f"cannot read the file: {e.strerror or e}")]

    def _unnamed_value_problem(self, line: int, cells: list) -> FileProblem:
        width = self.header_width
        last = max(i for i, v in enumerate(cells) if v != "")
        if last >= width:
            return FileProblem(self.path, line, None, f"{len(cells)} values, header has {width} columns")
        return FileProblem(self.path, line, None, f"value in column {last + 1}, which has no header name")

    header_width: int = 0


class _StopReading(Exception):
    """A CSV line that cannot be read; carries the problem."""

    def __init__(self, problem: FileProblem):
        self.problem = problem


def _open_csv(path: str, required: Sequence[str], optional: Sequence[str]) -> TableFile:
    expected = _expected(required, optional)
    try:
        _check_utf8(path, expected)
        with open(path, "rb") as f:
            header = next((cells for _, cells, _ in _csv_records(path, f, skip_header=False)), None)
    except OSError as e:
        raise _error(path, None, f"cannot read the file: {e.strerror or e}") from None
    except _StopReading as e:
        raise ImportFileError([e.problem]) from None
    if header is None or not any(header):
        raise _error(path, 1, f"line 1 is empty; expected a header line with columns: {expected}")
    if len(header) == 1 and ("," not in header[0]) and (";" in header[0] or "\t" in header[0]):
        found = "';'" if ";" in header[0] else "tabs"
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
                    path, line, f"is not UTF-8 text (found byte 0x{bad}, as in Latin-1/Windows-1252); {advice}"
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
        if len(pending) > MAX_CSV_LINE_BYTES:
            problem = FileProblem(path, number + 1, None, "line longer than 8 MiB; not a valid import file")
            raise _StopReading(problem)
        for raw in lines:
            number += 1
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                raise _StopReading(FileProblem(path, number, None, "is not UTF-8 text")) from None
        if not chunk:
            return


def _csv_records(path: str, f, *, skip_header: bool) -> Iterator[tuple[int, list, list[FileProblem]]]:
    """Yield (first line of the record, trimmed cells, problems); stop at the first unreadable line."""
    reader = csv.reader(_physical_lines(path, f), strict=True)
    line = 1
    try:
        for record in reader:
            if skip_header:
                skip_header = False
            else:
                yield line, [cell.strip() for cell in record], []
            line = reader.line_num + 1
    except csv.Error as e:
        if "unexpected end of data" in str(e):
            message = 'a quoted value starting on this line is never closed (missing ")'
        else:
            message = f"malformed CSV ({e})"
        yield line, [], [FileProblem(path, line, None, message + "; reading stopped here")]
    except _StopReading as e:
        if skip_header:  # still on the header: let open_table report it as a file problem
            raise
        yield e.problem.line or line, [], [e.problem]


# ---------------------------------------------------------------------------------------------
# XLSX


class _XlsxTable(TableFile):
    def _cells(self) -> Iterator[tuple[int, list, list[FileProblem]]]:
        seen: set[int] = set()
        rows = iter(self.sheet.iter_rows())
        next(rows, None)  # the header
        for line, row in enumerate(rows, start=2):
            problems = self.pending.get(line)
            if problems:
                seen.add(line)
            yield line, [_xlsx_value(v) for v in row], list(problems or [])
        for line in sorted(self.pending.keys() - seen):  # problems below the last value
            if line > 1:
                yield line, [], list(self.pending[line])

    def _unnamed_value_problem(self, line: int, cells: list) -> FileProblem:
        named = set(self.positions.values())
        i = next(i for i, v in enumerate(cells) if i not in named and not _is_empty(v))
        ref = f"{_column_letters(self.first_column + i)}{line}"
        return FileProblem(self.path, line, None, f"cell {ref} has a value but its column has no header")

    sheet: object = None
    first_column: int = 0
    pending: dict[int, list[FileProblem]] = field(default_factory=dict)


def _open_xlsx(path: str, required: Sequence[str], optional: Sequence[str]) -> TableFile:
    expected = _expected(required, optional)
    try:
        sheet_member, scan_problems = _check_xlsx_archive(path)
    except OSError as e:
        raise _error(path, None, f"cannot read the file: {e.strerror or e}") from None
    sheet = _load_first_sheet(path)
    if sheet.start is None:
        raise _error(path, None, f"the first sheet is empty; expected a header row with columns: {expected}")
    first_row, first_column = sheet.start
    if first_row > 0:
        raise _error(path, 1, f"row 1 of the first sheet is empty; expected the header row: {expected}")
    header = [_xlsx_value(v) for v in next(iter(sheet.iter_rows()))]
    columns, positions, problems = _check_header(path, header, required, optional)
    names = {first_column + i: name for name, i in positions.items()}

    pending: dict[int, list[FileProblem]] = {}
    for line, column, message in (*scan_problems, *_merged_problems(sheet)):
        problem = FileProblem(path, line, names.get(column), message)
        if line == 1:
            problems.insert(0, problem)
        else:
            pending.setdefault(line, []).append(problem)
    if problems:
        raise ImportFileError(problems)
    return _XlsxTable(path, columns, positions=positions, sheet=sheet, first_column=first_column, pending=pending)


def _load_first_sheet(path: str):
    try:
        workbook = CalamineWorkbook.from_path(path)
        if not workbook.sheet_names:
            raise _error(path, None, "the workbook has no sheets")
        return workbook.get_sheet_by_index(0)
    except ImportFileError:
        raise
    except BaseException as e:  # noqa: B036 - calamine reports Rust panics as BaseException
        if not isinstance(e, Exception) and type(e).__name__ != "PanicException":
            raise
        raise _error(path, None, f"is not a readable .xlsx file ({e})") from None


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


def _merged_problems(sheet) -> Iterator[tuple[int, int, str]]:
    for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or []:
        ref = f"{_column_letters(c0)}{r0 + 1}:{_column_letters(c1)}{r1 + 1}"
        yield r0 + 1, c0, f"merged cells {ref} are not allowed in an import file"


def _check_xlsx_archive(path: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Refuse what is not a safe .xlsx; return the first sheet's XML member and its cell problems."""
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic == _OLE_MAGIC:
        raise _error(path, None, "is an old .xls or a password-protected file, not an .xlsx; save it as .xlsx")
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
            return sheet_member, list(_scan_sheet_cells(zf, sheet_member))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError, EOFError) as e:
        raise _error(path, None, f"is not a readable .xlsx file ({e})") from None
    except (etree.XMLSyntaxError, KeyError, ValueError) as e:
        raise _error(path, None, f"is not a readable .xlsx file (damaged XML: {e})") from None


def _declares_dtd(zf: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    with zf.open(member) as f:
        head = f.read(XML_HEAD_BYTES)
    head = head.replace(b"\x00", b"").lower()  # also catches UTF-16 encoded XML
    return b"<!doctype" in head or b"<!entity" in head


def _relationships(zf: zipfile.ZipFile, rels_path: str, base: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, member name) from a .rels part."""
    root = etree.fromstring(zf.read(rels_path), _SAFE_XML)
    result = {}
    for rel in root.iter("{*}Relationship"):
        target = rel.get("Target", "")
        member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
        result[rel.get("Id", "")] = (rel.get("Type", ""), member)
    return result


def _first_sheet_member(zf: zipfile.ZipFile) -> str | None:
    names = set(zf.namelist())
    if "_rels/.rels" not in names:
        return None
    workbook = next((m for t, m in _relationships(zf, "_rels/.rels", "").values() if t.endswith(_OFFICE_DOCUMENT)), None)
    if workbook not in names:
        return None
    base, file = posixpath.split(workbook)
    rels_path = posixpath.join(base, "_rels", file + ".rels")
    if rels_path not in names:
        return None
    root = etree.fromstring(zf.read(workbook), _SAFE_XML)
    first = next(root.iter("{*}sheet"), None)
    if first is None:
        return None
    rel_id = next((v for k, v in first.attrib.items() if etree.QName(k).localname == "id" and k.startswith("{")), None)
    _, member = _relationships(zf, rels_path, base).get(rel_id, ("", None))
    return member if member in names else None


def _scan_sheet_cells(zf: zipfile.ZipFile, member: str) -> Iterator[tuple[int, int, str]]:
    """(line, column index, message) for formula cells without a cached value and error cells.

    calamine shows both as empty cells; a quick byte scan skips the XML parse when the sheet
    has no formula and no error cell at all.
    """
    if not _contains_formula_or_error(zf, member):
        return
    row = 0
    column = -1
    with zf.open(member) as f:
        for event, el in etree.iterparse(
            f, events=("start", "end"), tag=("{*}row", "{*}c"), resolve_entities=False, no_network=True
        ):
            tag = etree.QName(el).localname
            if event == "start":
                if tag == "row":
                    row = int(el.get("r") or row + 1)
                    column = -1
                continue
            if tag == "row":
                el.clear()
                while el.getprevious() is not None:
                    del el.getparent()[0]
                continue
            ref = el.get("r")
            if ref:
                letters = ref.rstrip("0123456789")
                column, row = _column_index(letters), int(ref[len(letters) :])
            else:
                column += 1
                ref = f"{_column_letters(column)}{row}"
            formula = el.find("{*}f")
            value = el.find("{*}v")
            value_text = value.text if value is not None else None
            if el.get("t") == "e":
                yield row, column, f"{ref}: the cell holds the error value {value_text or '#ERROR'}"
            elif formula is not None and (value is None or (not value_text and el.get("t") != "str")):
                yield (
                    row,
                    column,
                    f"{ref}: formula without a calculated value; "
                    "open and save the file in Excel or LibreOffice first",
                )
            el.clear()


def _contains_formula_or_error(zf: zipfile.ZipFile, member: str) -> bool:
    tail = b""
    with zf.open(member) as f:
        while chunk := f.read(_CHUNK):
            if _FORMULA_OR_ERROR.search(tail + chunk):
                return True
            tail = chunk[-32:]
    return False
