"""Fuzzing the CSV and XLSX importers: success or a documented validation error, nothing else.

Hypothesis writes import files of every kind: headers right, shuffled, mis-cased, with a
column missing, unknown or twice; rows whose cells are valid values, near misses (an
impossible date, ``1.234,56``, a negative, too many decimals, an amount over 10^12, an
unknown code, a formula, control characters, very long text) and, in .xlsx files, numbers,
dates, booleans and empty cells; plus files in the wrong encoding or separator, random
bytes, and truncated .xlsx archives. Each file is imported into a fresh copy of a small
ledger, first with ``--dry-run`` and then for real. The only outcomes allowed:
- success, after which the chain verifies and importing the same file again changes
  nothing (everything identical is skipped);
- ``ImportFileError`` whose every problem is one ``FILE[:LINE]: [COLUMN: ]message`` line,
  and after which every table holds exactly the rows it held before (no partial write).
Any other exception is a traceback a user would have seen. The dry run must reach the same
verdict, with the same problems, and write nothing.

Bounded for CI: ``DONOR_LEDGER_FUZZ_EXAMPLES`` examples (default 2,000: about a minute on two cores).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from imports.importer import import_file
from imports.kinds import KINDS
from imports.readers import ImportFileError
from ledger.database import Ledger
from tests import builders as b
from tests import reliability_tools as tools

EXAMPLES = int(os.environ.get("DONOR_LEDGER_FUZZ_EXAMPLES", "2000"))
PROBLEM = re.compile(r"^(?P<path>[^\n]+?\.(csv|xlsx|CSV|XLSX))(:\d+)?: \S.*$")

# -- the cells -----------------------------------------------------------------------------------
dates = st.one_of(
    st.dates(dt.date(2010, 1, 1), dt.date(2030, 12, 31)).map(dt.date.isoformat),
    st.sampled_from(["2011-02-30", "2011-13-01", "01/02/2011", "2011-1-5", "20110105", " 2012-03-04 ", "", "today"]),
)
amounts = st.one_of(
    st.decimals(min_value=0, max_value=10**13, places=2, allow_nan=False).map(str),
    st.integers(-10, 10**6).map(str),
    st.sampled_from(["1,234.56", "1.234,56", "1 234.56", "-5", "0", "0.001", "1e5", "NaN", "Infinity", "1000000000000",
                     "1000000000000.01", "10000000000000", "12.345", "$100", "100 USD", "", " 7 ", "٣", "1_000"]),
)
texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["=1+1", "+SUM(A1)", "@x", "-2", "\t=cmd", "a\nb", "x" * 300, "\x00", "\u202e", "Côte d'Ivoire"]),
)
CODES = {
    "code": ["D1", "D2", "NEW1", "A1", "A9"], "donor": ["D1", "D2", "NOPE"], "pledge": ["P1", "P2", "NOPE", ""],
    "activity": ["A1", "A4", "NOPE"], "reference": ["P1", "P2", "R1", "D1", "NEW-1", "NEW-2", "NEW-1", ""],
    "currency": ["USD", "NOK", "JPY", "KWD", "EUR", "usd", "XYZ", "US", ""], "country": ["NOR", "USA", "XXX", "no", ""],
    "kind": ["member-state", "foundation", "Other", "robot", ""], "status": ["planned", "ongoing", "done", "Completed", ""],
}
WHOLE = {"paragraph": ["1", "4", "7", "0", "8", "1.0", "1.5", "seven", ""],
         "progress_pct": ["0", "50", "100", "101", "-1", "40.0", ""]}


def cell(column: str) -> st.SearchStrategy:
    if column in CODES:
        return st.one_of(st.sampled_from(CODES[column]), texts)
    if column in WHOLE:
        return st.one_of(st.sampled_from(WHOLE[column]), st.integers(-3, 1000).map(str))
    if column in ("pledged_on", "received_on", "disbursed_on", "effective_from", "due_on", "planned_start", "planned_end"):
        return dates
    if column in ("amount", "usd_amount", "budget_usd", "units_per_usd", "psc_rate"):
        return amounts
    return texts


def spreadsheet_cell(column: str) -> st.SearchStrategy:
    """What an .xlsx cell may hold: the text above, or a number, a date, a boolean, nothing."""
    return st.one_of(
        cell(column),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-(10**15), 10**15),
        st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(2100, 1, 1)),
        st.dates(dt.date(2010, 1, 1), dt.date(2030, 1, 1)),
        st.booleans(),
        st.none(),
    )


def decimal_text(low: int, high: int, places: int) -> st.SearchStrategy:
    return st.integers(low * 10**places, high * 10**places).map(
        lambda n: str(n) if places == 0 else f"{n // 10**places}.{n % 10**places:0{places}d}")


VALID = {  # per kind (every kind) and column: values the small ledger below accepts (mostly)
    "donors": {"code": st.integers(1, 30).map(lambda n: f"NEW{n}"), "name": st.sampled_from(["Japan", "A fund", "Ø"]),
               "kind": st.sampled_from(["member-state", "foundation", "other", ""]),
               "country": st.sampled_from(["JPN", "NOR", ""]), "currency": st.sampled_from(["JPY", "USD", ""]),
               "iati_ref": st.sampled_from(["", "XM-DAC-41114", "NO-BRC-971277882", "GB-COH-01234567"])},
    "rates": {"currency": st.sampled_from(["EUR", "GBP", "CHF"]),
              "effective_from": st.dates(dt.date(2011, 1, 1), dt.date(2020, 1, 1)).map(dt.date.isoformat),
              "units_per_usd": decimal_text(0, 200, 4)},
    "activities": {"code": st.sampled_from(["A1", "A4", "A7", "NEWA1", "NEWA2"]), "paragraph": st.integers(1, 7).map(str),
                   "title": st.sampled_from(["Training", "Study", "=2+2"]), "budget_usd": decimal_text(0, 10**6, 2),
                   "status": st.sampled_from(["planned", "ongoing", "completed", ""]),
                   "progress_pct": st.integers(0, 100).map(str),
                   "planned_start": st.sampled_from(["2012-01-01", ""]), "planned_end": st.sampled_from(["2013-12-31", ""])},
    "pledges": {"reference": st.integers(1, 40).map(lambda n: f"NEW-{n}"), "donor": st.sampled_from(["D1", "D2"]),
                "pledged_on": st.dates(dt.date(2012, 1, 1), dt.date(2020, 1, 1)).map(dt.date.isoformat),
                "currency": st.sampled_from(["USD", "NOK"]), "amount": decimal_text(1, 10**6, 2),
                "paragraph": st.sampled_from(["1", "2", "7", ""]), "psc_rate": st.sampled_from(["13", "7.5", ""]),
                "due_on": st.sampled_from(["2015-01-01", ""]), "notes": st.sampled_from(["", "first tranche"]),
                "stage": st.sampled_from(["signed", "announced", "Signed", ""]),
                "signed_on": st.sampled_from(["", "2020-06-30"])},
    "instalments": {"pledge": st.sampled_from(["P1", "P2"]),
                    "due_on": st.dates(dt.date(2011, 7, 1), dt.date(2016, 12, 31)).map(dt.date.isoformat),
                    "amount": decimal_text(1, 250000, 2), "reason": st.sampled_from(["", "re-planned with the donor"])},
    "receipts": {"reference": st.integers(1, 40).map(lambda n: f"NEWR-{n}"), "pledge": st.sampled_from(["P1", "P2"]),
                 "received_on": st.dates(dt.date(2012, 1, 1), dt.date(2020, 1, 1)).map(dt.date.isoformat),
                 "amount": decimal_text(1, 5000, 2), "usd_amount": st.sampled_from(["", "100.00"]),
                 "bank_reference": st.sampled_from(["", "BANK 1"])},
    "disbursements": {"reference": st.integers(1, 40).map(lambda n: f"NEWD-{n}"),
                      "activity": st.sampled_from(["A1", "A4"]),
                      "disbursed_on": st.dates(dt.date(2012, 1, 1), dt.date(2020, 1, 1)).map(dt.date.isoformat),
                      "amount": decimal_text(1, 2000, 2), "currency": st.sampled_from(["USD", ""]),
                      "pledge": st.sampled_from(["", "P1"]), "payee": st.sampled_from(["", "Vendor"]),
                      "description": st.sampled_from(["", "workshop"])},
}


@st.composite
def rows(draw, kind: str, columns: list[str], spreadsheet: bool):
    """A row that is mostly valid, with now and then one cell (or all of them) fuzzed."""
    fuzzed = spreadsheet_cell if spreadsheet else cell
    names = [c.strip().lower() for c in columns]
    if draw(st.integers(0, 4)) == 0:
        return [draw(fuzzed(n)) for n in names]
    valid = VALID[kind]
    row = [draw(valid[n]) if n in valid else draw(fuzzed(n)) for n in names]
    if row and draw(st.integers(0, 3)) == 0:
        i = draw(st.integers(0, len(row) - 1))
        row[i] = draw(fuzzed(names[i]))
    return row


PROMISED = {"P1": 150_000_000, "P2": 25_000_000}  # the small ledger's signed pledges, in cents and øre


@st.composite
def schedule_rows(draw, columns: list[str]):
    """The rows of one pledge's whole new schedule: 1-3 instalments on distinct dates adding up to it."""
    pledge = draw(st.sampled_from(sorted(PROMISED)))
    days = draw(st.lists(st.dates(dt.date(2011, 7, 1), dt.date(2016, 12, 31)), min_size=1, max_size=3, unique=True))
    cuts = sorted(draw(st.lists(st.integers(1, PROMISED[pledge] - 1), min_size=len(days) - 1, max_size=len(days) - 1,
                                unique=True)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, PROMISED[pledge]], strict=True)]
    reason = draw(st.sampled_from(["", "agreement annex 2"]))
    values = [{"pledge": pledge, "due_on": day.isoformat(), "amount": f"{part // 100}.{part % 100:02d}", "reason": reason}
              for day, part in zip(days, parts, strict=True)]
    return [[row.get(c.strip().lower(), "") for c in columns] for row in values]


@st.composite
def tables(draw):
    """(kind, header, rows): the header mostly right, sometimes not."""
    kind = draw(st.sampled_from(sorted(KINDS)))  # a kind without VALID values fails in rows()
    spec = KINDS[kind]
    columns = list(spec.required) + draw(st.lists(st.sampled_from(spec.optional), unique=True)) if spec.optional else list(
        spec.required)
    columns = draw(st.permutations(columns))
    mishap = draw(st.sampled_from(["none"] * 6 + ["drop", "unknown", "twice", "case", "blank"]))
    if mishap == "drop" and columns:
        columns.pop(draw(st.integers(0, len(columns) - 1)))
    elif mishap == "unknown":
        columns.append(draw(st.sampled_from(["comment", "Amount USD", "", "reference2"])))
    elif mishap == "twice" and columns:
        columns.append(draw(st.sampled_from(columns)))
    header = [c.upper() if mishap == "case" else (f" {c} " if mishap == "blank" else c) for c in columns]
    return kind, header, columns


@st.composite
def import_files(draw, tmp: Path):
    kind, header, columns = draw(tables())
    form = draw(st.sampled_from(["csv"] * 5 + ["xlsx"] * 3 + ["bytes", "encoding", "separator", "broken-xlsx"]))
    count = draw(st.integers(0, 8))
    n = len(list(tmp.iterdir()))
    whole_schedule = kind == "instalments" and draw(st.booleans())  # rows that add up, else rows one by one
    if form in ("csv", "encoding", "separator"):
        body = draw(schedule_rows(columns)) if whole_schedule else [
            draw(rows(kind, columns, spreadsheet=False)) for _ in range(count)]
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";" if form == "separator" else ",", lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
        writer.writerow(header)
        writer.writerows(body)
        text = out.getvalue()
        encoding = draw(st.sampled_from(["utf-16", "latin-1", "cp1252"])) if form == "encoding" else draw(
            st.sampled_from(["utf-8", "utf-8-sig"]))
        data = text.encode(encoding, errors="replace")
        path = tmp / f"f{n}.csv"
        path.write_bytes(data)
    elif form == "bytes":
        path = tmp / f"f{n}.{draw(st.sampled_from(['csv', 'xlsx']))}"
        path.write_bytes(draw(st.binary(max_size=600)))
    else:
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(header)
        body = draw(schedule_rows(columns)) if whole_schedule else [
            draw(rows(kind, columns, spreadsheet=True)) for _ in range(count)]
        for values in body:
            sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
        path = tmp / f"f{n}.xlsx"
        book.save(path)
        if form == "broken-xlsx":
            data = path.read_bytes()
            # where to cut, as a share of the file: the saved bytes hold the time of saving, so their
            # length may differ when hypothesis replays this example (a bound drawn from it would not)
            path.write_bytes(data[: draw(st.integers(0, 999_999)) * len(data) // 1_000_000])
    return kind, path


# -- the ledger ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_ledger(tmp_path_factory, sqlite_template) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "base.db"
    shutil.copy(sqlite_template, path)
    ledger = Ledger(f"sqlite:///{path}", user="officer")
    b.rate(ledger, "NOK", "2011-01-01", "5.80", through="2011-12")
    b.rate(ledger, "JPY", "2011-01-01", "80", through="2011-12")
    b.rate(ledger, "KWD", "2011-01-01", "0.302", through="2011-12")
    b.donor(ledger, "D1", "Norway", country="NOR", currency="NOK")
    b.donor(ledger, "D2", "United States", country="USA", currency="USD")
    b.activity(ledger, "A1", 1, "500000", "ongoing", 40)
    b.activity(ledger, "A4", 4, "200000")
    b.pledge(ledger, "P1", "D1", "2011-06-01", "NOK", {1: "1000000.00", None: "500000.00"})
    b.pledge(ledger, "P2", "D2", "2011-07-01", "USD", {4: "250000"})
    b.receipt(ledger, "R1", "P1", "2011-08-01", "750000.00")
    b.receipt(ledger, "R2", "P2", "2011-08-15", "100000")
    b.disburse(ledger, "D1", "A1", "2011-09-01", "50000")
    ledger.close()
    return path


def outcome(ledger: Ledger, kind: str, path: Path, dry_run: bool):
    """("ok", result) or ("refused", [problem lines]); anything else propagates: a traceback."""
    try:
        return "ok", import_file(ledger, kind, path, dry_run=dry_run)
    except ImportFileError as exc:
        return "refused", [str(p) for p in exc.problems]


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
@pytest.mark.slow
def test_import_files_from_hypothesis_succeed_or_are_refused_cleanly(data, small_ledger, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir(exist_ok=True)
    kind, path = data.draw(import_files(folder))
    copy = tmp_path / "ledger.db"
    for leftover in (copy, tmp_path / "ledger.db-wal", tmp_path / "ledger.db-shm"):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(small_ledger, copy)
    ledger = Ledger(f"sqlite:///{copy}", user="officer")
    try:
        before = b.table_counts(ledger)
        dry = outcome(ledger, kind, path, dry_run=True)
        assert b.table_counts(ledger) == before, "a dry run wrote something"
        real = outcome(ledger, kind, path, dry_run=False)
        assert dry[0] == real[0], f"dry run said {dry}, the import said {real}"
        event(f"{kind} {path.suffix} {real[0]}" + (f" ({real[1].added} added)" if real[0] == "ok" and real[1].added else ""))
        if real[0] == "refused":
            assert dry[1] == real[1]
            assert real[1], "refused without a reason"
            for line in real[1]:
                assert line.startswith(str(path)) and PROBLEM.match(line.replace("\n", " ")), line
            assert b.table_counts(ledger) == before, "a refused import left rows behind"
        else:
            result = real[1]
            assert result.rows >= 0
            verified = tools.verify_url(f"sqlite:///{copy}")
            assert verified.ok, verified.message
            after = b.table_counts(ledger)
            again = outcome(ledger, kind, path, dry_run=False)
            assert again[0] == "ok", f"importing the same file again was refused: {again[1]}"
            assert (again[1].added, again[1].updated) == (0, 0), again[1]
            counts = b.table_counts(ledger)
            counts.pop("audit_trail"), after.pop("audit_trail")
            assert counts == after
    finally:
        ledger.close()
