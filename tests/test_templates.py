"""``donor-ledger template``: .xlsx with header, formats, drop-downs and a separate example sheet;
filled by the test with openpyxl and imported."""

from __future__ import annotations

import datetime as dt

import openpyxl
from click.testing import CliRunner

import cli.commands  # noqa: F401  (registers the sub-commands)
from cli.main import cli
from tests.builders import worked_example


def run(url: str, *args) -> object:
    return CliRunner().invoke(cli, ["--db", url, "--user", "officer", *[str(a) for a in args]])


def validations(sheet) -> dict[str, tuple]:
    """first column letter of each rule -> (type, formula1, errorStyle)"""
    return {str(v.sqref).split(":")[0].rstrip("0123456789"): (v.type, v.formula1, v.errorStyle)
            for v in sheet.data_validations.dataValidation}


def column_values(sheet, letter: str) -> list:
    return [c.value for c in sheet[letter][1:] if c.value is not None]


def test_pledge_template_has_header_formats_lists_and_a_separate_example(ledger, db_url, tmp_path):
    worked_example(ledger)
    path = tmp_path / "pledges.xlsx"
    result = run(db_url, "template", "pledges", "-o", path)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"template for pledges written to {path}\n"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["pledges", "Example", "Lists"]
    assert [ws.sheet_state for ws in wb] == ["visible", "visible", "hidden"]
    data, example, lists = wb.worksheets
    header = ["reference", "donor", "pledged_on", "currency", "amount", "paragraph", "psc_rate", "due_on", "notes", "stage",
              "signed_on"]
    assert [c.value for c in data[1]] == header
    assert data.max_row == 1  # only the header on the sheet that is imported
    assert [c.value for c in example[1]] == header
    assert example["A2"].value == "NOR-2011-01"
    assert data.column_dimensions["C"].number_format == "yyyy-mm-dd"
    assert data.column_dimensions["E"].number_format == "#,##0.00"
    assert data.column_dimensions["A"].number_format == "@"
    rules = validations(data)
    assert rules["B"] == ("list", "'Lists'!$A$2:$A$3", "warning")  # donor codes of the ledger
    assert rules["D"][0:1] == ("list",) and rules["D"][2] == "stop"
    assert rules["F"] == ("list", "'Lists'!$D$2:$D$8", "stop")  # paragraphs 1-7
    assert rules["G"][0] == "decimal"
    assert rules["J"] == ("list", "'Lists'!$I$2:$I$3", "stop")  # announced or signed
    assert data.column_dimensions["K"].number_format == "yyyy-mm-dd"
    assert column_values(lists, "A") == ["NOR", "USA"]
    assert column_values(lists, "D") == [1, 2, 3, 4, 5, 6, 7]
    assert column_values(lists, "I") == ["announced", "signed"]
    assert {"AUD", "CAD", "EUR", "GBP", "JPY", "NOK", "USD"} <= set(column_values(lists, "E"))
    assert rules["J"][0] == "list" and rules["J"][2] == "stop"  # stage: announced or signed
    assert column_values(lists, "I") == ["announced", "signed"]
    assert data.column_dimensions["K"].number_format == "yyyy-mm-dd"  # signed_on


def test_disbursement_template_lists_activities_and_pledges(ledger, db_url, tmp_path):
    worked_example(ledger)
    path = tmp_path / "d.xlsx"
    assert run(db_url, "template", "disbursements", "-o", path).exit_code == 0
    wb = openpyxl.load_workbook(path)
    data, _, lists = wb.worksheets
    rules = validations(data)
    assert rules["B"] == ("list", "'Lists'!$B$2:$B$3", "warning")
    assert rules["F"] == ("list", "'Lists'!$C$2:$C$3", "warning")
    assert column_values(lists, "B") == ["A1", "A4"]
    assert column_values(lists, "C") == ["P1", "P2"]


def test_unfilled_template_imports_nothing_not_even_the_example(ledger, db_url, tmp_path):
    worked_example(ledger)
    for kind in ("donors", "rates", "activities", "pledges", "instalments", "receipts", "disbursements"):
        path = tmp_path / f"{kind}.xlsx"
        assert run(db_url, "template", kind, "-o", path).exit_code == 0
        result = run(db_url, "import", kind, path)
        assert result.exit_code == 0, result.output
        assert result.stdout == f"{path}: no data rows (only the header); nothing to import\n"


def test_filled_template_round_trip(ledger, db_url, tmp_path):
    worked_example(ledger)
    path = tmp_path / "pledges.xlsx"
    assert run(db_url, "template", "pledges", "-o", path).exit_code == 0
    wb = openpyxl.load_workbook(path)
    sheet = wb["pledges"]
    sheet.append(["P3", "NOR", dt.date(2012, 3, 1), "NOK", 600000, 1, 13, dt.date(2013, 3, 1), "filled in"])
    sheet.append(["P3", "NOR", dt.date(2012, 3, 1), "NOK", 150000.5, None, 13, dt.date(2013, 3, 1), "filled in"])
    wb.save(path)
    result = run(db_url, "import", "pledges", path)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: 2 rows: 1 pledge added (2 allocation rows), 0 pledges skipped (identical)\n"
    report = run(db_url, "report", "funding", "--as-of", "2016-12-31", "--format", "csv").stdout.splitlines()
    # paragraph 1: P1's 172,413.79 + NOK 600,000 at 6.00 = 100,000.00
    assert report[1].split(",")[:3] == ["1", "500000.00", "272413.79"]
    # unearmarked: 86,206.90 + NOK 150,000.50 at 6.00 = 25,000.08
    assert report[8].split(",")[:3] == ["unearmarked", "0.00", "111206.98"]


def test_csv_template_is_the_header(sqlite_url, tmp_path):
    path = tmp_path / "receipts.csv"
    result = run(sqlite_url, "template", "receipts", "-o", path)
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8") == "reference,pledge,received_on,amount,usd_amount,bank_reference\n"


def test_other_template_suffix_is_refused(sqlite_url, tmp_path):
    result = run(sqlite_url, "template", "donors", "-o", tmp_path / "donors.ods")
    assert result.exit_code == 1
    assert result.stderr == f"error: {tmp_path / 'donors.ods'}: a template is an .xlsx or a .csv file\n"
