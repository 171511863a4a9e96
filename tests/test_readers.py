"""Tests for imports.readers: every hostile or messy file is built here, in tmp_path."""

from __future__ import annotations

import datetime
import inspect
import re
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import openpyxl.utils.datetime
import pytest

from imports import readers
from imports.readers import FileProblem, ImportFileError, open_table

DONOR_REQUIRED = ["code", "name"]
DONOR_OPTIONAL = ["kind", "country", "currency"]


def donors(path: Path):
    return open_table(path, required=DONOR_REQUIRED, optional=DONOR_OPTIONAL)


def messages(error: ImportFileError) -> list[str]:
    return [str(p) for p in error.problems]


def refused(path: Path, required=DONOR_REQUIRED, optional=DONOR_OPTIONAL) -> list[str]:
    with pytest.raises(ImportFileError) as info:
        open_table(path, required=required, optional=optional)
    assert str(info.value) == "\n".join(messages(info.value))
    return messages(info.value)


def read_all(table) -> tuple[list, list[str]]:
    rows = list(table.rows())
    return rows, [str(p) for p in table.problems]


def write_csv(tmp_path: Path, text: str | bytes, name: str = "donors.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def write_xlsx(tmp_path: Path, rows: list[list], name: str = "donors.xlsx", setup=None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    if setup:
        setup(wb, ws)
    path = tmp_path / name
    wb.save(path)
    return path


def without_declaration(xml: bytes) -> bytes:
    return xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml


def rewrite_member(path: Path, member: str, transform) -> None:
    """Replace (or add) one member of a zip archive; transform gets the old bytes or None."""
    with zipfile.ZipFile(path) as zf:
        contents = {info.filename: zf.read(info) for info in zf.infolist()}
    contents[member] = transform(contents.get(member))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in contents.items():
            zf.writestr(name, data)


# --- FileProblem and ImportFileError ---------------------------------------------------------


def test_file_problem_formats():
    assert str(FileProblem("f.csv", 3, "amount", "bad")) == "f.csv:3: amount: bad"
    assert str(FileProblem("f.csv", 3, None, "bad")) == "f.csv:3: bad"
    assert str(FileProblem("f.csv", None, None, "bad")) == "f.csv: bad"
    error = ImportFileError([FileProblem("f.csv", 1, None, "a"), FileProblem("f.csv", 2, None, "b")])
    assert str(error) == "f.csv:1: a\nf.csv:2: b"


def test_unsupported_extension_and_missing_file(tmp_path):
    path = write_csv(tmp_path, "code,name\n", name="donors.xls")
    assert refused(path) == [
        f"{path}: unsupported file type ('.xls'); accepted: .csv, .xlsx; save it as .xlsx"
    ]
    path = write_csv(tmp_path, "code,name\n", name="donors.txt")
    assert refused(path) == [f"{path}: unsupported file type ('.txt'); accepted: .csv, .xlsx"]
    path = write_csv(tmp_path, "code,name\n", name="donors")
    assert refused(path) == [f"{path}: unsupported file type (no extension); accepted: .csv, .xlsx"]
    missing = tmp_path / "missing.csv"
    assert refused(missing) == [f"{missing}: cannot read the file: No such file or directory"]
    missing = tmp_path / "missing.xlsx"
    assert refused(missing) == [f"{missing}: cannot read the file: No such file or directory"]


# --- CSV: header -----------------------------------------------------------------------------


def test_csv_bom_header_case_order_and_trimming(tmp_path):
    path = write_csv(tmp_path, "\ufeff Name ,CODE,Kind\r\n  Ministry  ,D1,\r\nAgency,D2,gov\r\n")
    table = donors(path)
    assert table.columns == ["name", "code", "kind"]
    rows, problems = read_all(table)
    assert rows == [
        (2, {"name": "Ministry", "code": "D1", "kind": ""}),
        (3, {"name": "Agency", "code": "D2", "kind": "gov"}),
    ]
    assert problems == []


def test_csv_header_problems_reported_together(tmp_path):
    path = write_csv(tmp_path, "code,Colour,code,kind,kind\nD1,red,D1,gov,gov\n")
    assert refused(path) == [
        f"{path}:1: Colour: unknown column; expected: code, name, kind, country, currency",
        f"{path}:1: code: duplicated column",
        f"{path}:1: kind: duplicated column",
        f"{path}:1: name: required column is missing",
    ]


def test_csv_header_only_has_no_rows(tmp_path):
    table = donors(write_csv(tmp_path, "code,name\n"))
    assert read_all(table) == ([], [])


def test_csv_short_rows_are_padded_with_empty_strings(tmp_path):
    table = donors(write_csv(tmp_path, "code,name,kind\nD1,Donor\n"))
    assert read_all(table) == ([(2, {"code": "D1", "name": "Donor", "kind": ""})], [])


@pytest.mark.parametrize(
    "content",
    [b"", b"   \n\r\n\t \n", b"\xef\xbb\xbf", b"\xef\xbb\xbf  \n"],
    ids=["zero-bytes", "whitespace", "bom-only", "bom-whitespace"],
)
def test_csv_empty_file(tmp_path, content):
    path = write_csv(tmp_path, content)
    assert refused(path) == [
        f"{path}: the file is empty; expected a header line with columns: code, name, kind, country, currency"
    ]


def test_csv_header_must_be_on_line_1(tmp_path):
    path = write_csv(tmp_path, "\ncode,name\nD1,Donor\n")
    assert refused(path) == [
        f"{path}:1: line 1 is empty; expected a header line with columns: code, name, kind, country, currency"
    ]


@pytest.mark.parametrize(("separator", "found"), [(";", "';'"), ("\t", "tabs"), ("|", "'|'")])
def test_csv_other_separators_refused(tmp_path, separator, found):
    path = write_csv(tmp_path, f"code{separator}name\nD1{separator}Donor\n")
    assert refused(path) == [f"{path}:1: expected comma-separated values, found {found}"]
    # a comma inside a column name does not hide the separator the file uses
    path = write_csv(tmp_path, f"code{separator}name{separator}kind, remarks\n", name="other.csv")
    assert refused(path) == [f"{path}:1: expected comma-separated values, found {found}"]


def test_a_workbook_named_csv_is_named_for_what_it_is(tmp_path):
    workbook = write_xlsx(tmp_path, [["code", "name"], ["D1", "A"]])
    path = tmp_path / "donors.csv"
    path.write_bytes(workbook.read_bytes())
    assert refused(path) == [f"{path}: is a spreadsheet workbook (a zip archive), not CSV text; give it the .xlsx "
                             "extension, or save it as CSV UTF-8"]
    path.write_bytes(readers._OLE_MAGIC + bytes(100))
    assert refused(path) == [f"{path}: is an old .xls (or other Office) file, not CSV text; save it as CSV UTF-8"]


# --- CSV: encodings --------------------------------------------------------------------------


def test_csv_latin1_is_refused_with_the_line(tmp_path):
    content = "code,name\nD1,Donor\nD2,Minist\u00e8re\n".encode("latin-1")
    path = write_csv(tmp_path, content)
    assert refused(path) == [
        f"{path}:3: is not UTF-8 text (found byte 0xE8, as in Latin-1/Windows-1252); save it as CSV UTF-8"
    ]


def test_csv_cp1252_far_into_the_file_reports_its_line(tmp_path):
    # the bad byte sits past the first read chunk, so line counting must carry across chunks
    lines = ["code,name"] + [f"D{i},Donor {i}" for i in range(100_000)]
    content = ("\n".join(lines) + "\n").encode() + "D,\u201cquoted\u201d\n".encode("cp1252")
    path = write_csv(tmp_path, content)
    assert refused(path) == [
        f"{path}:100002: is not UTF-8 text (found byte 0x93, as in Latin-1/Windows-1252); save it as CSV UTF-8"
    ]


def test_csv_truncated_utf8_at_end(tmp_path):
    path = write_csv(tmp_path, "code,name\nD1,Caf\u00e9".encode()[:-1])
    assert refused(path) == [
        f"{path}:2: is not UTF-8 text (it ends in the middle of a character); save it as CSV UTF-8"
    ]


def test_csv_utf16_refused(tmp_path):
    text = "code,name\nD1,Donor\n"
    path = write_csv(tmp_path, text.encode("utf-16"))  # with a byte order mark
    assert refused(path) == [
        f"{path}: is not UTF-8 text (found a UTF-16 byte order mark); save it as CSV UTF-8"
    ]
    path = write_csv(tmp_path, text.encode("utf-16-le"))  # no byte order mark: NUL bytes
    assert refused(path) == [
        f"{path}:1: is not UTF-8 text (found NUL bytes, as in UTF-16); save it as CSV UTF-8"
    ]


def test_csv_utf8_non_ascii_is_fine(tmp_path):
    table = donors(write_csv(tmp_path, "code,name\nD1,Minist\u00e8re des Affaires \u00e9trang\u00e8res\n"))
    assert read_all(table) == (
        [(2, {"code": "D1", "name": "Minist\u00e8re des Affaires \u00e9trang\u00e8res"})],
        [],
    )


# --- CSV: rows -------------------------------------------------------------------------------


def test_csv_empty_rows_skipped_but_counted(tmp_path):
    table = donors(write_csv(tmp_path, "code,name\n\nD1,A\n , \n,,,\nD2,B\n"))
    rows, problems = read_all(table)
    assert [line for line, _ in rows] == [3, 6]
    assert problems == []


def test_csv_more_values_than_header(tmp_path):
    path = write_csv(tmp_path, "code,name\nD1,A,extra\nD2,B,,\nD3,C\n")
    table = donors(path)
    rows, problems = read_all(table)
    assert rows == [(3, {"code": "D2", "name": "B"}), (4, {"code": "D3", "name": "C"})]
    assert problems == [f"{path}:2: 3 values, header has 2 columns"]


def test_csv_value_under_an_empty_header_cell(tmp_path):
    path = write_csv(tmp_path, "code,,name\nD1,,A\nD2,oops,B\n")
    table = donors(path)
    assert table.columns == ["code", "name"]
    rows, problems = read_all(table)
    assert rows == [(2, {"code": "D1", "name": "A"})]
    assert problems == [f"{path}:3: value in column 2, which has no header name"]


def test_csv_multiline_value_and_line_endings(tmp_path):
    path = write_csv(tmp_path, 'code,name\r\nD1,"two\r\nlines"\r\nD2,"a, b"\r\n')
    rows, problems = read_all(donors(path))
    assert rows == [(2, {"code": "D1", "name": "two\r\nlines"}), (4, {"code": "D2", "name": "a, b"})]
    assert problems == []
    path = write_csv(tmp_path, "code,name\rD1,A\rD2,B\r", name="mac.csv")  # old Mac line endings
    assert read_all(donors(path)) == (
        [(2, {"code": "D1", "name": "A"}), (3, {"code": "D2", "name": "B"})],
        [],
    )


def test_csv_unclosed_quote_stops_with_a_problem(tmp_path):
    path = write_csv(tmp_path, 'code,name\nD1,A\nD2,"unclosed\nD3,C\n')
    rows, problems = read_all(donors(path))
    assert rows == [(2, {"code": "D1", "name": "A"})]
    assert problems == [
        f'{path}:3: a quoted value starting on this line is never closed (missing "); reading stopped here'
    ]


def test_csv_stray_quote_is_a_problem(tmp_path):
    path = write_csv(tmp_path, 'code,name\nD1,"A"B\n')
    rows, problems = read_all(donors(path))
    assert rows == []
    assert problems == [f"{path}:2: malformed CSV (',' expected after '\"'); reading stopped here"]


def test_csv_text_too_long(tmp_path):
    path = write_csv(tmp_path, f"code,name\nD1,{'x' * 32_768}\nD2,{'y' * 32_767}\n")
    rows, problems = read_all(donors(path))
    assert [line for line, _ in rows] == [3]
    assert problems == [f"{path}:2: name: text longer than 32,767 characters"]


def test_csv_giant_line_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "donors.csv"
    with open(path, "wb") as f:
        f.write(b"code,name\nD1,A\nD2,")
        f.write(b"x" * (readers.MAX_CSV_LINE_BYTES + 1024))
        f.write(b"\n")
    rows, problems = read_all(donors(path))
    assert rows == [(2, {"code": "D1", "name": "A"})]
    assert problems == [f"{path}:3: line longer than 8 MiB; not a valid import file"]


@pytest.mark.slow
def test_csv_rows_stream_in_constant_memory(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("code,name,kind,country,currency\n")
        for i in range(200_000):
            f.write(f"D{i:06d},Donor number {i} with a longish name,government,AT,EUR\n")
    tracemalloc.start()
    try:
        table = donors(path)
        rows = table.rows()
        assert inspect.isgenerator(rows)
        count = 0
        last = None
        for line, row in rows:
            count += 1
            last = (line, row["code"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert last == (200_001, "D199999")
    assert table.problems == []
    assert peak < 20 * 1024 * 1024


def test_rows_can_be_read_twice(tmp_path):
    path = write_csv(tmp_path, "code,name\nD1,A,x\nD2,B\n")
    table = donors(path)
    assert read_all(table) == read_all(table)
    assert len(table.problems) == 1


# --- XLSX: values ----------------------------------------------------------------------------


def test_xlsx_header_and_cell_types(tmp_path):
    when = datetime.datetime(2024, 3, 1, 14, 30)
    path = write_xlsx(
        tmp_path,
        [
            [" Name ", "CODE", "kind", "country"],
            ["  Ministry  ", "D1", 1234567.89, datetime.date(2024, 3, 1)],
            ["Agency", 42, True, when],
            ["Other", "D3", "   ", datetime.datetime(2024, 3, 2)],
        ],
    )
    table = donors(path)
    assert table.columns == ["name", "code", "kind", "country"]
    rows, problems = read_all(table)
    assert problems == []
    assert rows == [
        (2, {"name": "Ministry", "code": "D1", "kind": 1234567.89, "country": datetime.date(2024, 3, 1)}),
        (3, {"name": "Agency", "code": 42, "kind": True, "country": when}),
        (4, {"name": "Other", "code": "D3", "kind": None, "country": datetime.date(2024, 3, 2)}),
    ]
    assert type(rows[0][1]["country"]) is datetime.date
    assert type(rows[2][1]["country"]) is datetime.date


def test_xlsx_numeric_cells_are_floats_as_stored(tmp_path):
    path = write_xlsx(tmp_path, [["code", "name"], ["D1", 0.1], ["D2", 1e12], ["D3", 7], ["D4", -2.5]])
    rows, _ = read_all(donors(path))
    assert rows == [
        (2, {"code": "D1", "name": 0.1}),
        (3, {"code": "D2", "name": 1e12}),
        (4, {"code": "D3", "name": 7}),
        (5, {"code": "D4", "name": -2.5}),
    ]
    assert all(type(row["name"]) in (int, float) for _, row in rows)


def test_xlsx_1904_date_system(tmp_path):
    def mac(wb, ws):
        wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904

    path = write_xlsx(
        tmp_path,
        [["code", "name"], ["D1", datetime.date(2024, 2, 29)], ["D2", datetime.datetime(2024, 2, 29, 6, 0)]],
        setup=mac,
    )
    assert b'date1904="1"' in zipfile.ZipFile(path).read("xl/workbook.xml")
    rows, problems = read_all(donors(path))
    assert rows == [
        (2, {"code": "D1", "name": datetime.date(2024, 2, 29)}),
        (3, {"code": "D2", "name": datetime.datetime(2024, 2, 29, 6, 0)}),
    ]
    assert problems == []


def test_xlsx_empty_rows_skipped_but_counted(tmp_path):
    path = write_xlsx(tmp_path, [["code", "name"], [], ["D1", "A"], [None, "  "], [], ["D2", "B"]])
    rows, problems = read_all(donors(path))
    assert rows == [(3, {"code": "D1", "name": "A"}), (6, {"code": "D2", "name": "B"})]
    assert problems == []


def test_xlsx_header_may_start_in_a_later_column(tmp_path):
    path = write_xlsx(tmp_path, [[None, "code", "name"], [None, "D1", "A"]])
    assert read_all(donors(path)) == ([(2, {"code": "D1", "name": "A"})], [])


def test_xlsx_first_sheet_is_used(tmp_path):
    def second_sheet(wb, ws):
        other = wb.create_sheet("Example", 1)
        other.append(["unknown"])
        ws.sheet_state = "hidden"

    path = write_xlsx(tmp_path, [["code", "name"], ["D1", "A"]], setup=second_sheet)
    assert read_all(donors(path)) == ([(2, {"code": "D1", "name": "A"})], [])


def test_xlsx_header_problems_reported_together(tmp_path):
    path = write_xlsx(tmp_path, [["Code", "colour", "CODE", 2024]])
    assert refused(path) == [
        f"{path}:1: colour: unknown column; expected: code, name, kind, country, currency",
        f"{path}:1: CODE: duplicated column",
        f"{path}:1: 2024: unknown column; expected: code, name, kind, country, currency",
        f"{path}:1: name: required column is missing",
    ]


def test_xlsx_empty_sheet_and_header_not_in_row_1(tmp_path):
    path = write_xlsx(tmp_path, [])
    assert refused(path) == [
        f"{path}: the first sheet is empty; expected a header row with columns: code, name, kind, country, currency"
    ]
    path = write_xlsx(tmp_path, [[], ["code", "name"]], name="late.xlsx")
    assert refused(path) == [
        f"{path}:1: row 1 of the first sheet is empty; "
        "expected the header row: code, name, kind, country, currency"
    ]


def test_xlsx_value_in_a_column_without_header(tmp_path):
    def stray(wb, ws):
        ws["E3"] = "note"

    path = write_xlsx(tmp_path, [["code", "name"], ["D1", "A"], ["D2", "B"]], setup=stray)
    rows, problems = read_all(donors(path))
    assert rows == [(2, {"code": "D1", "name": "A"})]
    assert problems == [f"{path}:3: cell E3 has a value but its column has no header"]


def test_xlsx_text_too_long(tmp_path):
    # calamine cuts text at 32,767 characters, so that length itself is refused as possibly cut
    rows = [["code", "name"], ["D1", "x" * 40_000], ["D2", "y" * 32_767], ["D3", "z" * 32_766]]
    path = write_xlsx(tmp_path, rows)
    rows, problems = read_all(donors(path))
    assert [line for line, _ in rows] == [4]
    message = "name: text of 32,767 characters or more (the most a cell holds; longer text is cut)"
    assert problems == [f"{path}:2: {message}", f"{path}:3: {message}"]


# --- XLSX: formulas, errors, merged cells ---------------------------------------------------


def test_xlsx_formula_without_cached_value(tmp_path):
    path = write_xlsx(tmp_path, [["code", "name", "kind"], ["D1", "=UPPER(A2)", "gov"], ["D2", "B", "gov"]])
    rows, problems = read_all(donors(path))
    assert rows == [(3, {"code": "D2", "name": "B", "kind": "gov"})]
    assert problems == [
        f"{path}:2: name: B2: formula without a calculated value; "
        "open and save the file in Excel or LibreOffice first"
    ]


def test_xlsx_formula_only_row_is_not_skipped_as_empty(tmp_path):
    path = write_xlsx(tmp_path, [["code", "name"], ["=1", "=2"]])
    rows, problems = read_all(donors(path))
    assert rows == []
    assert [p.split(": ", 1)[1] for p in problems] == [
        "code: A2: formula without a calculated value; open and save the file in Excel or LibreOffice first",
        "name: B2: formula without a calculated value; open and save the file in Excel or LibreOffice first",
    ]


def test_xlsx_formula_with_cached_value_is_read(tmp_path):
    path = write_xlsx(tmp_path, [["code", "name"], ["D1", '=CONCAT("Don","or")']])
    rewrite_member(
        path,
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b'<c r="B2"><f>', b'<c r="B2" t="str"><f>').replace(
            b"<v></v>", b"<v>Donor</v>"
        ),
    )
    assert read_all(donors(path)) == ([(2, {"code": "D1", "name": "Donor"})], [])


def test_xlsx_formula_with_an_empty_text_result_is_read(tmp_path):
    path = write_xlsx(tmp_path, [["code", "name", "kind"], ["D1", "A", '=IF(1,"","x")']])
    rewrite_member(
        path, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b'<c r="C2"><f>', b'<c r="C2" t="str"><f>')
    )
    assert read_all(donors(path)) == ([(2, {"code": "D1", "name": "A", "kind": None})], [])


def test_xlsx_formula_in_header_without_value(tmp_path):
    path = write_xlsx(tmp_path, [["code", '="na"&"me"']])
    assert refused(path) == [
        f"{path}:1: B1: formula without a calculated value; open and save the file in Excel or LibreOffice first",
        f"{path}:1: name: required column is missing",
    ]


def test_xlsx_error_cells(tmp_path):
    path = write_xlsx(tmp_path, [["code", "name"], ["D1", "#N/A"], ["D2", "B"]])
    rows, problems = read_all(donors(path))
    assert rows == [(3, {"code": "D2", "name": "B"})]
    assert problems == [f"{path}:2: name: B2: the cell holds the error value #N/A"]


def test_xlsx_merged_cells(tmp_path):
    def merge(wb, ws):
        ws.merge_cells("A3:B4")

    path = write_xlsx(
        tmp_path, [["code", "name"], ["D1", "A"], ["D2", None], [None, None], ["D5", "E"]], setup=merge
    )
    rows, problems = read_all(donors(path))
    assert rows == [(2, {"code": "D1", "name": "A"}), (5, {"code": "D5", "name": "E"})]
    assert problems == [f"{path}:3: merged cells A3:B4 are not allowed in an import file"]


def test_xlsx_merged_header_cells(tmp_path):
    def merge(wb, ws):
        ws.merge_cells("A1:B1")

    path = write_xlsx(tmp_path, [["code", "name"]], setup=merge)
    assert refused(path) == [
        f"{path}:1: merged cells A1:B1 are not allowed in an import file",
        f"{path}:1: name: required column is missing",
    ]


# --- XLSX: hostile archives -----------------------------------------------------------------


def test_xlsx_that_is_not_a_zip(tmp_path):
    path = write_csv(tmp_path, "code,name\nD1,A\n", name="donors.xlsx")
    assert refused(path) == [f"{path}: is not an .xlsx file (not a zip archive)"]
    path = write_csv(tmp_path, readers._OLE_MAGIC + b"\0" * 600, name="old.xlsx")
    assert refused(path) == [
        f"{path}: is an old .xls or a password-protected file, not an .xlsx; save it as .xlsx"
    ]


def test_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "donors.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hello")
    assert refused(path) == [f"{path}: is not an .xlsx file (no worksheet found)"]


def test_truncated_xlsx(tmp_path):
    path = write_xlsx(tmp_path, [["code", "name"], ["D1", "A"]])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert refused(path) == [f"{path}: is not an .xlsx file (not a zip archive)"]


def test_zip_bomb_member_refused(tmp_path):
    path = write_xlsx(tmp_path, [["code", "name"], ["D1", "A"]])
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/media/padding.bin", b"\0" * (64 * 1024 * 1024))
    assert refused(path) == [
        f"{path}: xl/media/padding.bin is compressed more than 200:1; refused for safety"
    ]


def test_total_uncompressed_size_limit(tmp_path, monkeypatch):
    path = write_xlsx(tmp_path, [["code", "name"], ["D1", "A"]])
    monkeypatch.setattr(readers, "MAX_UNCOMPRESSED", 1000)
    assert refused(path) == [f"{path}: uncompresses to more than 1 GiB; refused for safety"]


BILLION_LAUGHS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + b"".join(
        b'<!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>\n"
)


def test_entity_bomb_in_sheet_refused(tmp_path):
    path = write_xlsx(tmp_path, [["code", "name"], ["D1", "A"]])
    rewrite_member(
        path,
        "xl/worksheets/sheet1.xml",
        lambda xml: BILLION_LAUGHS + without_declaration(xml).replace(b"<t>A</t>", b"<t>&lol9;</t>"),
    )
    assert refused(path) == [
        f"{path}: xl/worksheets/sheet1.xml contains XML entity declarations; refused for safety"
    ]


def test_entity_bomb_in_shared_strings_refused(tmp_path):
    path = write_xlsx(tmp_path, [["code", "name"], ["D1", "A"]])
    shared = BILLION_LAUGHS + (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        b"<si><t>&lol9;</t></si></sst>"
    )
    rewrite_member(path, "xl/sharedStrings.xml", lambda _: shared)
    assert refused(path) == [
        f"{path}: xl/sharedStrings.xml contains XML entity declarations; refused for safety"
    ]


def test_entity_declaration_in_utf16_xml_refused(tmp_path):
    path = write_xlsx(tmp_path, [["code", "name"], ["D1", "A"]])
    rewrite_member(
        path,
        "xl/styles.xml",
        lambda xml: (
            ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]>').encode("utf-16")
            + without_declaration(xml).decode().encode("utf-16-le")
        ),
    )
    assert refused(path) == [f"{path}: xl/styles.xml contains XML entity declarations; refused for safety"]


def test_xlsx_cells_without_references(tmp_path):
    # the r="B2" attribute of a cell is optional in the file format
    path = write_xlsx(tmp_path, [["code", "name"], ["D1", "=1+1"], ["D2", "B"]])
    rewrite_member(path, "xl/worksheets/sheet1.xml", lambda xml: re.sub(rb' r="[A-Z]+[0-9]+"', b"", xml))
    rows, problems = read_all(donors(path))
    assert rows == [(3, {"code": "D2", "name": "B"})]
    assert problems == [f"{path}:2: name: B2: formula without a calculated value; {readers._RECALCULATE}"]


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_a_file_replaced_after_it_was_checked_is_not_read(tmp_path, suffix):
    """Rows are streamed from the file after its checks (archive safety, header, formula cells):
    another file put in its place meanwhile, even a valid one, is refused, not read unchecked."""
    if suffix == ".xlsx":
        path = write_xlsx(tmp_path, [["code", "name"], ["D1", "A"]])
        other = write_xlsx(tmp_path, [["name", "code"], ["B", "D2"], ["=1/0", "D3"]], name="other.xlsx")
    else:
        path = write_csv(tmp_path, "code,name\nD1,A\n", name="donors.csv")
        other = write_csv(tmp_path, "name,code\nB,D2\n\n", name="other.csv")  # another size too
    table = donors(path)
    path.write_bytes(other.read_bytes())
    rows, problems = read_all(table)
    assert rows == []
    assert problems == [f"{path}: the file changed after it was checked (replaced or edited meanwhile); nothing "
                        "read, import it again"]
    assert read_all(donors(path))[0][0][1]["code"] == "D2"  # opened again, it is checked and read as it is now


def test_xlsx_with_a_damaged_member(tmp_path):
    path = tmp_path / "donors.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["code", "name"])
    wb.active.append(["D1", "=1+1"])
    wb.save(path)
    rewrite_member(path, "xl/worksheets/sheet1.xml", lambda xml: xml)  # now deflated by zipfile
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + 20 : start + 40] = bytes(20)  # scramble the compressed sheet
    path.write_bytes(bytes(data))
    [message] = refused(path)
    assert message.startswith(f"{path}: is not a readable .xlsx file (")
