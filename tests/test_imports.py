"""``donor-ledger import``: every file is built by the test, in tmp_path, and imported through
the command line. Ledger tests run on SQLite and PostgreSQL (the ``db_url`` fixture)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
import zipfile
from pathlib import Path

import openpyxl
import openpyxl.utils.datetime
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

import cli.commands  # noqa: F401  (registers the sub-commands)
from cli.main import cli
from ledger import queries
from ledger.database import Ledger
from ledger.schema import Activity, Base, Donor, DonorVersion, JournalEntry, Pledge, Receipt
from ledger.versions import Change

DONORS = """code,name,kind,country,currency
NOR,Norway,member-state,NOR,NOK
USA,United States,member-state,USA,USD
"""
# the worked example's NOK rates: one on the 1st of every month, 5.80 in 2011, 6.00 from 2012 through 2016
RATES = "currency,effective_from,units_per_usd\n" + "".join(
    f"NOK,{year}-{month:02d}-01,{'5.80' if year == 2011 else '6.00'}\n" for year in range(2011, 2017) for month in range(1, 13))
RATE_ROWS = 72
ACTIVITIES = """code,paragraph,title,budget_usd,planned_start,planned_end,status,progress_pct
A1,1,Training of practitioners,500000,2011-09-01,2013-12-31,ongoing,40
A4,4,Cooperation with the private sector,200000,,,planned,0
"""
PLEDGES = """reference,donor,pledged_on,currency,amount,paragraph,psc_rate,due_on,notes
P1,NOR,2011-06-01,NOK,"1,000,000.00",1,,2012-06-30,
P1,NOR,2011-06-01,NOK,500000,,13,2012-06-30,
P2,USA,2011-07-01,USD,250000,4,13.00,,
"""
RECEIPTS = """reference,pledge,received_on,amount,usd_amount,bank_reference
R1,P1,2011-08-01,750000.00,,NB-1
R2,P2,2011-08-15,"100,000",,
"""
DISBURSEMENTS = """reference,activity,disbursed_on,amount,currency,pledge,payee,description
D1,A1,2011-09-01,50000,,,Training centre,workshop
"""
WORKED_EXAMPLE = {"donors": DONORS, "rates": RATES, "activities": ACTIVITIES, "pledges": PLEDGES,
                  "receipts": RECEIPTS, "disbursements": DISBURSEMENTS}


def run(url: str, *args) -> object:
    return CliRunner().invoke(cli, ["--db", url, "--user", "officer", *[str(a) for a in args]])


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def ok(url: str, kind: str, path: Path, *extra) -> str:
    result = run(url, "import", kind, path, *extra)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout.strip()


def refused(url: str, kind: str, path: Path, *extra) -> list[str]:
    """The problem lines of a refused import (the closing count line is checked here)."""
    result = run(url, "import", kind, path, *extra)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    count = len(lines) - 1
    assert lines[-1] == f"{path}: {count} problem{'s' if count != 1 else ''}; nothing was imported"
    assert "Traceback" not in result.output
    return lines[:-1]


def load(url: str, tmp_path: Path, *kinds: str) -> None:
    for kind in kinds:
        ok(url, kind, write(tmp_path, f"{kind}.csv", WORKED_EXAMPLE[kind]))


def dump(url: str, without: frozenset[str] = frozenset()) -> dict[str, list]:
    """Every row of every table, in key order (what 'unchanged' means on any database), less the
    columns named in ``without``."""
    ledger = Ledger(url, user="officer")
    try:
        with ledger.reading() as session:
            return {
                table.name: [tuple(row) for row in session.execute(
                    select(*(c for c in table.columns if c.name not in without))
                    .order_by(*table.primary_key.columns))]
                for table in Base.metadata.sorted_tables
            }
    finally:
        ledger.close()


def count(url: str, model) -> int:
    ledger = Ledger(url, user="officer")
    try:
        with ledger.reading() as session:
            return session.execute(select(func.count()).select_from(model)).scalar_one()
    finally:
        ledger.close()


def verified(url: str) -> str:
    result = run(url, "verify")
    assert result.exit_code == 0, result.output
    return result.stdout


def sqlite_files(url: str) -> str:
    path = Path(url.removeprefix("sqlite:///"))
    digest = hashlib.sha256()
    for part in (path, Path(f"{path}-wal")):
        if part.exists():
            digest.update(part.read_bytes())
    return digest.hexdigest()


# --- the worked example, imported ---------------------------------------------------------------


def test_worked_example_imports_and_matches_the_report(db_url, tmp_path):
    summaries = [ok(db_url, kind, write(tmp_path, f"{kind}.csv", text)) for kind, text in WORKED_EXAMPLE.items()]
    assert summaries == [
        f"{tmp_path}/donors.csv: 2 rows: 2 added, 0 updated",
        f"{tmp_path}/rates.csv: 72 rows: 72 added, 0 skipped (identical)",
        f"{tmp_path}/activities.csv: 2 rows: 2 added, 0 updated",
        f"{tmp_path}/pledges.csv: 3 rows: 2 pledges added (3 allocation rows), 0 pledges skipped (identical)",
        f"{tmp_path}/receipts.csv: 2 rows: 2 added, 0 skipped (identical)",
        f"{tmp_path}/disbursements.csv: 1 row: 1 added, 0 skipped (identical)",
    ]
    result = run(db_url, "report", "funding", "--as-of", "2016-12-31", "--format", "csv")
    lines = result.stdout.splitlines()
    assert lines[1].split(",")[:6] == ["1", "500000.00", "172413.79", "152578.58", "86206.89", "0.00"]
    assert lines[-1].split(",")[:6] == ["total", "700000.00", "508620.69", "450106.81", "229310.34", "0.00"]
    assert "5 entries" in verified(db_url)


def test_reimport_skips_identical_money_events_and_leaves_the_journal_alone(db_url, tmp_path):
    load(db_url, tmp_path, *WORKED_EXAMPLE)
    before = dump(db_url)
    # the same values written differently: thousands separators, trailing zeros, psc 13 vs empty
    again = {
        "pledges": PLEDGES.replace('"1,000,000.00"', "1000000").replace(",13.00,", ",13,"),
        "receipts": RECEIPTS.replace('"100,000"', "100000.00"),
    }
    summaries = [
        ok(db_url, kind, write(tmp_path, f"again-{kind}.csv", again.get(kind, text)))
        for kind, text in WORKED_EXAMPLE.items()
    ]
    assert [s.split(": ", 1)[1] for s in summaries] == [
        "2 rows: 0 added, 0 updated, 2 unchanged",
        "72 rows: 0 added, 72 skipped (identical)",
        "2 rows: 0 added, 0 updated, 2 unchanged",
        "3 rows: 0 pledges added, 2 pledges skipped (identical) (3 allocation rows)",
        "2 rows: 0 added, 2 skipped (identical)",
        "1 row: 0 added, 1 skipped (identical)",
    ]
    assert dump(db_url) == before


def test_a_changed_money_event_is_an_error_naming_the_reference(db_url, tmp_path):
    load(db_url, tmp_path, *WORKED_EXAMPLE)
    before = dump(db_url)
    pledges = write(tmp_path, "p.csv", PLEDGES.replace("P2,USA,2011-07-01,USD,250000", "P2,USA,2011-07-01,USD,250001"))
    three_rows = PLEDGES.rsplit("\n", 2)[0] + "\n"  # P1 only, one allocation less
    fewer = write(tmp_path, "fewer.csv", three_rows.replace("P1,NOR,2011-06-01,NOK,500000,,13,2012-06-30,\n", ""))
    receipts = write(tmp_path, "r.csv", RECEIPTS.replace("R1,P1,2011-08-01", "R1,P1,2011-08-02"))
    assert refused(db_url, "pledges", pledges) == [
        f"{pledges}:4: amount: pledge P2 is already in the ledger with different content (allocations: "
        "paragraph 4 250001.00 in the file, paragraph 4 250000.00 in the ledger); a posted money event is "
        "never changed: correct it (donor-ledger correct 2)"
    ]
    assert refused(db_url, "pledges", fewer) == [
        f"{fewer}:2: amount: pledge P1 is already in the ledger with different content (allocations: "
        "paragraph 1 1000000.00 in the file, paragraph 1 1000000.00, unearmarked 500000.00 in the ledger); "
        "a posted money event is never changed: correct it (donor-ledger correct 1)"
    ]
    assert refused(db_url, "receipts", receipts) == [
        f"{receipts}:2: received_on: receipt R1 is already in the ledger with different content (received_on: "
        "2011-08-02 in the file, 2011-08-01 in the ledger); a posted money event is never changed: correct it "
        "(donor-ledger correct 3)"
    ]
    assert dump(db_url) == before


def test_reference_data_is_updated_with_an_audit_trail(db_url, tmp_path):
    """Each row that changes a donor or an activity records a new version, reason "import of FILE"."""
    load(db_url, tmp_path, "donors", "rates", "activities")
    donors = write(tmp_path, "d2.csv", DONORS.replace("United States,", "United States of America,")
                   + "CAN,Canada,member-state,CAN,CAD\n")
    activities = write(tmp_path, "a2.csv", ACTIVITIES.replace(",ongoing,40", ",ongoing,55"))
    assert ok(db_url, "donors", donors) == f"{donors}: 3 rows: 1 added, 1 updated, 1 unchanged"
    assert ok(db_url, "activities", activities) == f"{activities}: 2 rows: 0 added, 1 updated, 1 unchanged"
    ledger = Ledger(db_url, user="officer")
    usa, can, nor = (queries.history(ledger, "donors", code) for code in ("USA", "CAN", "NOR"))
    a1 = queries.history(ledger, "activities", "A1")
    ledger.close()
    login = usa[-1].user  # "officer" on SQLite, the database login on PostgreSQL
    assert [(v.version, v.reason, v.changes) for v in usa] == [
        (1, f"import of {tmp_path / 'donors.csv'}", (
            Change("name", None, "United States"), Change("kind", None, "member-state"),
            Change("country", None, "USA"), Change("currency", None, "USD"), Change("iati_ref", None, None))),
        (2, f"import of {donors}", (Change("name", "United States", "United States of America"),)),
    ]
    assert [(v.version, v.user, v.reason) for v in can] == [(1, login, f"import of {donors}")]
    assert len(nor) == 1  # unchanged: no new version
    assert [(v.version, v.reason, v.changes) for v in a1[1:]] == [
        (2, f"import of {activities}", (Change("progress_pct", "40", "55"),)),
    ]


def test_reimport_changes_only_what_the_file_gives(db_url, tmp_path):
    """A column left out, or an empty cell, keeps what is stored: it is not a change to the default."""
    load(db_url, tmp_path, "donors", "rates", "activities")
    donors = write(tmp_path, "d2.csv", "code,name\nUSA,United States of America\n")
    activities = write(tmp_path, "a2.csv", "code,paragraph,title,budget_usd,status,progress_pct\n"
                                           "A1,1,Training of practitioners,600000,,\n")
    assert ok(db_url, "donors", donors) == f"{donors}: 1 row: 0 added, 1 updated"
    assert ok(db_url, "activities", activities) == f"{activities}: 1 row: 0 added, 1 updated"
    ledger = Ledger(db_url, user="officer")
    changes = [v.changes for v in queries.history(ledger, "donors", "USA")[1:]
               + queries.history(ledger, "activities", "A1")[1:]]
    with ledger.reading() as session:
        usa = session.execute(select(Donor.kind, Donor.country, Donor.currency).where(Donor.code == "USA")).one()
        a1 = session.execute(select(Activity.status, Activity.progress_pct, Activity.planned_start,
                                    Activity.planned_end).where(Activity.code == "A1")).one()
    ledger.close()
    assert changes == [
        (Change("name", "United States", "United States of America"),),
        (Change("budget_usd", "500000.00", "600000.00"),),
    ]
    assert tuple(usa) == ("member-state", "USA", "USD")
    assert tuple(a1) == ("ongoing", 40, dt.date(2011, 9, 1), dt.date(2013, 12, 31))
    ends_early = write(tmp_path, "a3.csv", "code,paragraph,title,budget_usd,planned_end\n"
                                           "A1,1,Training of practitioners,600000,2011-08-31\n")
    assert refused(db_url, "activities", ends_early) == [
        f"{ends_early}:2: planned_end: planned_end 2011-08-31 is before planned_start 2011-09-01"
    ]


def test_digits_other_than_ascii_and_values_out_of_range_are_named_plainly(sqlite_url, tmp_path):
    load(sqlite_url, tmp_path, "donors", "rates")
    pledges = write(tmp_path, "p.csv", "reference,donor,pledged_on,currency,amount,paragraph\n"
                                       "Z1,NOR,2011-06-01,NOK,١٠٠,１\n"
                                       "Z2,NOR,2011-06-01,NOK,100,inf\n"
                                       "Z3,NOR,2011-06-01,NOK,100,1e999999\n")
    activities = write(tmp_path, "a.csv", "code,paragraph,title,budget_usd,status,progress_pct\n"
                                          "A9,1,Training,100,done,101\n")
    assert refused(sqlite_url, "pledges", pledges) == [
        f"{pledges}:2: paragraph: '１' is not a whole number",
        f"{pledges}:2: amount: '١٠٠' is not an amount; expected digits with '.' for decimals and optional ',' "
        "thousands separators, e.g. 1234567.89 or 1,234,567.89",
        f"{pledges}:3: paragraph: 'inf' is not a whole number",  # a cell that used to crash the key check
        f"{pledges}:4: paragraph: '1e999999' is not a whole number",  # or to hold the write lock for minutes
    ]
    assert refused(sqlite_url, "activities", activities) == [
        f"{activities}:2: status: 'done' is not one of: planned, ongoing, completed or cancelled",
        f"{activities}:2: progress_pct: 101 is out of range: must be at most 100",
    ]


def test_a_percent_formatted_cell_is_not_read_as_a_fraction_of_a_percent(sqlite_url, tmp_path):
    """Typing "13%" in Excel stores 0.13 with a percent format: refused, not a PSC of 0.13%."""
    load(sqlite_url, tmp_path, "donors", "rates")
    path = tmp_path / "pledges.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["reference", "donor", "pledged_on", "currency", "amount", "paragraph", "psc_rate"])
    ws.append(["P1", "NOR", dt.date(2011, 6, 1), "NOK", 1000, 1, 0.13])
    ws.append(["P2", "NOR", dt.date(2011, 6, 1), "NOK", 1000, 1, 7])
    ws["G2"].number_format = "0%"
    wb.save(path)
    assert refused(sqlite_url, "pledges", path) == [
        f"{path}:2: psc_rate: 0.13 looks like a cell formatted as a percentage (13%); psc_rate is a number of "
        "percent: write 13"
    ]


def test_a_percentage_written_with_its_sign_is_that_number_of_percent(db_url, tmp_path):
    """Text "12.5%" (a CSV value, a text cell) is 12.5: the sign a user types is not a problem."""
    load(db_url, tmp_path, "donors", "rates")
    pledges = write(tmp_path, "p.csv", "reference,donor,pledged_on,currency,amount,paragraph,psc_rate\n"
                                       "P1,NOR,2011-06-01,NOK,1000,1,12.5%\nP1,NOR,2011-06-01,NOK,500,,12.5 %\n"
                                       "P2,USA,2011-07-01,USD,10,4,7%\n")
    assert ok(db_url, "pledges", pledges) == (
        f"{pledges}: 3 rows: 2 pledges added (3 allocation rows), 0 pledges skipped (identical)")
    activities = write(tmp_path, "a.csv", "code,paragraph,title,budget_usd,progress_pct\nA1,1,Training,1000,40%\n")
    ok(db_url, "activities", activities)
    ledger = Ledger(db_url, user="officer")
    with ledger.reading() as session:
        assert session.execute(select(Pledge.reference, Pledge.psc_rate_bp).order_by(Pledge.reference)).all() == [
            ("P1", 1250), ("P2", 700)]
        assert session.execute(select(Activity.progress_pct)).scalars().all() == [40]
    ledger.close()
    bad = write(tmp_path, "bad.csv", "reference,donor,pledged_on,currency,amount,paragraph,psc_rate\n"
                                     "P3,USA,2011-07-01,USD,10,4,113%\nP4,USA,2011-07-01,USD,10,4,%\n")
    assert refused(db_url, "pledges", bad) == [
        f"{bad}:2: psc_rate: must be between 0 and 100 percent, got 113",
        f"{bad}:3: psc_rate: '%' is not an amount; expected digits with '.' for decimals and optional ',' thousands "
        "separators, e.g. 1234567.89 or 1,234,567.89",
    ]


def test_a_currency_that_is_not_a_3_letter_code_is_named_so(sqlite_url, tmp_path):
    load(sqlite_url, tmp_path, "donors")
    rates = write(tmp_path, "r.csv", "currency,effective_from,units_per_usd\nNorwegian kroner,2011-01-01,5.8\n"
                                     "EU,2011-01-01,0.8\nZZZ,2011-01-01,1.5\n")
    assert refused(sqlite_url, "rates", rates) == [
        f"{rates}:2: currency: 'NORWEGIAN KRONER' is not a 3-letter ISO 4217 currency code such as USD, EUR, JPY",
        f"{rates}:3: currency: 'EU' is not a 3-letter ISO 4217 currency code such as USD, EUR, JPY",
        f"{rates}:4: currency: unknown currency code 'ZZZ': expected a 3-letter ISO 4217 currency code such as "
        "USD, EUR, JPY",
    ]
    donors = write(tmp_path, "d.csv", "code,name,currency\nSWE,Sweden,kronor\n")
    assert refused(sqlite_url, "donors", donors) == [
        f"{donors}:2: currency: 'KRONOR' is not a 3-letter ISO 4217 currency code such as USD, EUR, JPY"]


def test_donor_codes_are_kept_in_capitals_and_found_in_any_case(sqlite_url, tmp_path):
    donors = write(tmp_path, "d.csv", "code,name,currency\nswe,Sweden,SEK\n")
    assert ok(sqlite_url, "donors", donors) == f"{donors}: 1 row: 1 added, 0 updated"
    twice = write(tmp_path, "d2.csv", "code,name\nSWE,Sweden\nSwe,Sweden (again)\n")
    assert refused(sqlite_url, "donors", twice)[0].startswith(f"{twice}:3: code: ")
    rates = write(tmp_path, "r.csv", "currency,effective_from,units_per_usd\nSEK,2011-06-01,6.5\n")
    ok(sqlite_url, "rates", rates)
    pledges = write(tmp_path, "p.csv", "reference,donor,pledged_on,currency,amount\nS1,Swe,2011-06-01,SEK,100\n")
    assert ok(sqlite_url, "pledges", pledges) == f"{pledges}: 1 row: 1 pledge added (1 allocation row), 0 pledges skipped (identical)"
    ledger = Ledger(sqlite_url, user="officer")
    with ledger.reading() as session:
        assert session.execute(select(Donor.code)).scalars().all() == ["SWE"]
    ledger.close()


def test_activity_paragraph_cannot_change_after_disbursements(db_url, tmp_path):
    load(db_url, tmp_path, *WORKED_EXAMPLE)
    moved = write(tmp_path, "a.csv", ACTIVITIES.replace("A1,1,", "A1,3,"))
    assert refused(db_url, "activities", moved) == [
        f"{moved}:2: paragraph: activity A1 has disbursements: its paragraph cannot change from 1 to 3"
    ]


def test_rates_same_row_skipped_different_value_needs_a_reason(db_url, tmp_path):
    load(db_url, tmp_path, *WORKED_EXAMPLE)
    # a different value without a reason is refused naming the stored one; a mid-month rate under the
    # posted receipt R1 (2011-08-01) is accepted: it applies only to what is posted after it
    rates = write(tmp_path, "r.csv", "currency,effective_from,units_per_usd\nNOK,2011-01-01,5.8\nNOK,2012-01-01,6.1\n"
                                     "NOK,2011-07-15,5.9\nUSD,2011-01-01,1\n")
    assert refused(db_url, "rates", rates) == [
        f"{rates}:3: reason: NOK from 2012-01-01: 6.10 differs from the stored rate 6.00; a correction of a rate "
        "needs a reason",
    ]
    more = write(tmp_path, "more.csv", "currency,effective_from,units_per_usd,reason\nNOK,2011-01-01,5.8,\n"
                                       "NOK,2012-01-01,6.1,UN circular revised\nNOK,2011-07-15,5.9,\n")
    assert ok(db_url, "rates", more) == f"{more}: 3 rows: 1 added, 1 updated, 1 skipped (identical)"


# --- all or nothing -----------------------------------------------------------------------------


def test_an_import_failing_half_way_changes_nothing(db_url, tmp_path):
    load(db_url, tmp_path, "donors", "rates", "activities")
    ok(db_url, "pledges", write(tmp_path, "first.csv", PLEDGES))
    rows = [f"Q{i:03d},NOR,2011-06-{1 + i % 28:02d},NOK,{1000 + i}.50,{1 + i % 7},," for i in range(60)]
    rows.insert(40, "Q999,XXX,2011-06-01,NOK,100,1,,")
    path = write(tmp_path, "pledges.csv", "reference,donor,pledged_on,currency,amount,paragraph,psc_rate,due_on\n"
                 + "\n".join(rows) + "\n")
    before = dump(db_url)
    files_before = sqlite_files(db_url) if db_url.startswith("sqlite") else None
    head_before = verified(db_url)
    assert refused(db_url, "pledges", path) == [
        f"{path}:42: donor: no donor with code 'XXX'; add the donor first"
    ]
    if files_before is not None:
        assert sqlite_files(db_url) == files_before  # byte for byte
    assert dump(db_url) == before
    assert count(db_url, Pledge) == 2
    assert count(db_url, JournalEntry) == 2
    assert verified(db_url) == head_before


def test_dry_run_checks_business_rules_and_writes_nothing(db_url, tmp_path):
    load(db_url, tmp_path, *WORKED_EXAMPLE)
    before = dump(db_url)
    receipts = write(tmp_path, "r.csv", "reference,pledge,received_on,amount\n"
                     "R3,P1,2011-09-01,500000\nR4,P1,2011-09-02,250000.01\nR5,P2,2011-09-01,150000\n")
    assert refused(db_url, "receipts", receipts, "--dry-run") == [
        f"{receipts}:3: amount: receipt of NOK 250,000.01 exceeds the NOK 250,000.00 outstanding on pledge P1",
    ]
    disbursements = write(tmp_path, "d.csv", "reference,activity,disbursed_on,amount\n"
                          "D2,A4,2011-09-01,140000\nD3,A4,2011-09-01,88495.57\n")
    assert refused(db_url, "disbursements", disbursements, "--dry-run") == [
        f"{disbursements}:2: amount: insufficient funds for paragraph 4: asked USD 140,000.00, can fund "
        "USD 126,640.22, shortfall USD 13,359.78",
    ]
    good = write(tmp_path, "good.csv", "reference,pledge,received_on,amount\nR3,P1,2011-09-01,500000\n")
    assert ok(db_url, "receipts", good, "--dry-run") == (
        f"{good}: 1 row: 1 added, 0 skipped (identical) (dry run: checked, nothing written)"
    )
    assert dump(db_url) == before
    assert count(db_url, Receipt) == 2


def test_an_auditor_may_not_import(db_url, tmp_path):
    load(db_url, tmp_path, "donors")
    name = f"auditor_{uuid.uuid4().hex[:6]}"
    assert run(db_url, "user", "add", name, "--role", "auditor").exit_code == 0
    url = db_url
    if db_url.startswith("postgresql"):  # the acting user is the database login: log in as the auditor
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        from ledger.pg_roles import grant_roles

        owner = create_engine(db_url)
        with owner.begin() as conn:
            conn.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD 'pw'"))
            grant_roles(conn)
        owner.dispose()
        url = make_url(db_url).set(username=name, password="pw").render_as_string(hide_password=False)
    try:
        result = CliRunner().invoke(cli, ["--db", url, "--user", name, "import", "donors", str(tmp_path / "donors.csv")])
    finally:
        if db_url.startswith("postgresql"):
            owner = create_engine(db_url)
            with owner.begin() as conn:
                conn.execute(text(f"REASSIGN OWNED BY {name} TO CURRENT_USER"))
                conn.execute(text(f"DROP OWNED BY {name}"))
            owner.dispose()
    assert result.exit_code == 1
    assert result.stderr == (f"error: permission denied: {name} (auditor) may not manage donors and "
                             "exchange rates\n")


# --- the same key twice, rows of one pledge -----------------------------------------------------


def test_the_same_key_twice_names_both_lines(db_url, tmp_path):
    load(db_url, tmp_path, "donors", "rates", "activities")
    cases = {
        "donors": DONORS + "NOR,Norway again,,,\n",
        "rates": RATES + "nok,2011-01-01,5.8\n",
        "activities": ACTIVITIES + "A1,1,Again,1,,,,\n",
        "pledges": PLEDGES + "P1,NOR,2011-06-01,NOK,1,1,,2012-06-30,\n",
    }
    expected = {
        "donors": "4: code: donor code NOR appears twice in the file (lines 2 and 4); this row is not applied",
        "rates": f"{RATE_ROWS + 2}: currency: the NOK rate from 2011-01-01 appears twice in the file (lines 2 and "
                 f"{RATE_ROWS + 2}); this row is not applied",
        "activities": "4: code: activity code A1 appears twice in the file (lines 2 and 4); this row is not "
                      "applied",
        "pledges": "5: reference: pledge P1, paragraph 1, appears twice in the file (lines 2 and 5); this row is "
                   "not applied",
    }
    for kind, text in cases.items():
        path = write(tmp_path, f"dup-{kind}.csv", text)
        assert refused(db_url, kind, path) == [f"{path}:{expected[kind]}"], kind
    ok(db_url, "pledges", write(tmp_path, "pledges.csv", PLEDGES))
    receipts = write(tmp_path, "dup-r.csv", RECEIPTS + "R1,P1,2011-08-01,750000.00,,NB-1\n")
    assert refused(db_url, "receipts", receipts) == [
        f"{receipts}:4: reference: receipt reference R1 appears twice in the file (lines 2 and 4); this row is "
        "not applied"
    ]
    ok(db_url, "receipts", write(tmp_path, "receipts.csv", RECEIPTS))
    disbursements = write(tmp_path, "dup-d.csv", DISBURSEMENTS + "D1,A1,2011-09-02,1,,,,\n")
    assert refused(db_url, "disbursements", disbursements) == [
        f"{disbursements}:3: reference: disbursement reference D1 appears twice in the file (lines 2 and 3); "
        "this row is not applied"
    ]


def test_pledge_rows_must_agree_and_be_consecutive(sqlite_url, tmp_path):
    load(sqlite_url, tmp_path, "donors", "rates", "activities")
    path = write(tmp_path, "p.csv", "reference,donor,pledged_on,currency,amount,paragraph,psc_rate\n"
                 "P1,NOR,2011-06-01,NOK,100,1,\n"
                 "P1,NOR,2011-06-02,NOK,100,2,12\n"
                 "P2,USA,2011-07-01,USD,5,,\n"
                 "P1,NOR,2011-06-01,NOK,100,3,\n")
    assert refused(sqlite_url, "pledges", path) == [
        f"{path}:3: pledged_on: 2011-06-02 differs from line 2 of pledge P1 (2011-06-01); the rows of one "
        "pledge must agree on donor, pledged_on, currency, psc_rate, due_on, notes, stage and signed_on",
        f"{path}:3: psc_rate: 12 differs from line 2 of pledge P1 (13); the rows of one pledge must agree on "
        "donor, pledged_on, currency, psc_rate, due_on, notes, stage and signed_on",
        f"{path}:5: reference: rows of pledge P1 must be next to each other; its other rows are on line 2-3",
    ]


def test_row_problems_name_line_and_column(sqlite_url, tmp_path):
    load(sqlite_url, tmp_path, "donors", "rates", "activities")
    path = write(tmp_path, "p.csv", "reference,donor,pledged_on,currency,amount,paragraph,psc_rate,due_on\n"
                 "P1,NOR,2011-06-01,NOK,100,1,,\n"
                 "P1,NOR,2011-06-01,NOK,10.001,2,,\n"          # the second allocation of P1
                 "P3,XXX,2011-06-01,NOK,1,9,,\n"
                 'P4,NOR,2011-06-01,NOK,"1.234,56",,,\n'
                 "P5,NOR,01/06/2011,ZZZ,-5,x,200,\n"
                 "P6,NOR,2010-06-01,NOK,5,,,\n"
                 "P7,USA,2011-07-01,JPY,1000.5,,,\n"
                 "P8,USA,2011-07-01,USD,1000000000000.01,,,\n"
                 "P9,USA,2099-07-01,USD,1,,,\n"
                 "P10,USA,2011-07-01,USD,0,,,\n"
                 "P11,USA,2011-07-01,USD,,,,2011-06-01\n"
                 ",USA,2011-07-01,USD,1,,,\n")
    today = dt.date.today().isoformat()
    assert refused(sqlite_url, "pledges", path) == [
        f"{path}:3: amount: 10.001 has more decimals than NOK allows (2)",
        f"{path}:4: paragraph: resolution 20/7 has no operative paragraph 9 (it has 1-7)",
        f"{path}:4: donor: no donor with code 'XXX'; add the donor first",  # the same row's other problem
        f"{path}:5: amount: '1.234,56' is not an amount; expected digits with '.' for decimals and optional ',' "
        "thousands separators, e.g. 1234567.89 or 1,234,567.89",
        f"{path}:6: pledged_on: expected a date as YYYY-MM-DD, got '01/06/2011'",
        f"{path}:6: currency: unknown currency code 'ZZZ': expected a 3-letter ISO 4217 currency code such as USD, EUR, "
        "JPY",
        f"{path}:6: paragraph: 'x' is not a whole number",
        f"{path}:6: psc_rate: must be between 0 and 100 percent, got 200",
        f"{path}:7: currency: no exchange rate for NOK in force on 2010-06-01; import the UN operational rate "
        "first",
        f"{path}:8: amount: 1000.5 has more decimals than JPY allows (0)",
        f"{path}:9: amount: 1000000000000.01 exceeds the maximum of 10^12 USD",
        f"{path}:10: pledged_on: 2099-07-01 is in the future; money events may not be dated after today ({today})",
        f"{path}:11: amount: must be greater than zero, got 0",
        f"{path}:12: amount: a value is required (the cell is empty)",
        f"{path}:13: reference: a value is required (the cell is empty)",
    ]


def test_a_row_failing_the_unknown_donor_check_knocks_on_but_rows_go_on(sqlite_url, tmp_path):
    load(sqlite_url, tmp_path, "donors", "rates", "activities")
    ok(sqlite_url, "pledges", write(tmp_path, "pledges.csv", PLEDGES))
    path = write(tmp_path, "r.csv", "reference,pledge,received_on,amount\n"
                 "R1,NOPE,2011-08-01,1\nR2,P2,2011-06-01,1\nR3,P2,2011-08-01,250000\nR4,P2,2011-08-01,1\n")
    assert refused(sqlite_url, "receipts", path) == [
        f"{path}:2: pledge: no pledge with reference 'NOPE'",
        f"{path}:3: received_on: 2011-06-01 is before the pledge date of P2 (2011-07-01)",
        f"{path}:5: amount: receipt of USD 1.00 exceeds the USD 0.00 outstanding on pledge P2",
    ]


def test_a_row_with_several_problems_names_them_all_in_one_pass(db_url, tmp_path):
    """A row that fails validation is also looked up: an unknown donor, pledge, activity or
    paragraph is named beside the bad amount, so one correction round fixes the file."""
    load(db_url, tmp_path, "donors", "rates", "activities")
    ok(db_url, "pledges", write(tmp_path, "pledges.csv", PLEDGES))
    pledges = write(tmp_path, "p.csv", "reference,donor,pledged_on,currency,amount,paragraph\n"
                    "X1,NOPE,2011-06-01,USD,12.345,9\n"    # bad amount, unknown donor, no paragraph 9
                    "X2,,2011-06-01,USD,1.001,1\n"          # no donor at all: nothing to look up
                    "X3,USA,2011-06-01,USD,7.777,8\n")      # a known donor is not mentioned
    assert refused(db_url, "pledges", pledges) == [
        f"{pledges}:2: amount: 12.345 has more decimals than USD allows (2)",
        f"{pledges}:2: donor: no donor with code 'NOPE'; add the donor first",
        f"{pledges}:2: paragraph: resolution 20/7 has no operative paragraph 9 (it has 1-7)",
        f"{pledges}:3: donor: a value is required (the cell is empty)",  # (the amount's decimals are
        # checked with the pledge as a whole, once its fields are valid)
        f"{pledges}:4: amount: 7.777 has more decimals than USD allows (2)",
        f"{pledges}:4: paragraph: resolution 20/7 has no operative paragraph 8 (it has 1-7)",
    ]
    receipts = write(tmp_path, "r.csv", "reference,pledge,received_on,amount\nR9,NOPE,2011-08-01,-5\n")
    assert refused(db_url, "receipts", receipts) == [
        f"{receipts}:2: amount: must be greater than zero, got -5",
        f"{receipts}:2: pledge: no pledge with reference 'NOPE'",
    ]
    spending = write(tmp_path, "d.csv", "reference,activity,disbursed_on,amount,pledge\nD9,A9,2011-09-01,abc,NOPE\n")
    assert refused(db_url, "disbursements", spending) == [
        f"{spending}:2: amount: 'abc' is not an amount; expected digits with '.' for decimals and optional ',' "
        "thousands separators, e.g. 1234567.89 or 1,234,567.89",
        f"{spending}:2: activity: no activity with code 'A9'",
        f"{spending}:2: pledge: no pledge with reference 'NOPE'",
    ]


# --- hostile and messy files --------------------------------------------------------------------


def test_csv_with_bom_imports(sqlite_url, tmp_path):
    path = write(tmp_path, "d.csv", b"\xef\xbb\xbf" + DONORS.encode())
    assert ok(sqlite_url, "donors", path) == f"{path}: 2 rows: 2 added, 0 updated"


@pytest.mark.parametrize("name, content, message", [
    ("latin1.csv", "code,name\nCIV,Côte d'Ivoire\n".encode("latin-1"),
     ":2: is not UTF-8 text (found byte 0xF4, as in Latin-1/Windows-1252); save it as CSV UTF-8"),
    ("utf16.csv", "code,name\nJPN,Japan\n".encode("utf-16"),
     ": is not UTF-8 text (found a UTF-16 byte order mark); save it as CSV UTF-8"),
    ("semicolons.csv", b"code;name\nJPN;Japan\n", ":1: expected comma-separated values, found ';'"),
    ("empty.csv", b"", ": the file is empty; expected a header line with columns: code, name, kind, country, "
     "currency, iati_ref"),
    ("unknown.csv", b"code,name,colour\nJPN,Japan,red\n",
     ":1: colour: unknown column; expected: code, name, kind, country, currency, iati_ref"),
    ("missing.csv", b"name,kind\nJapan,member-state\n", ":1: code: required column is missing"),
    ("twice.csv", b"code,name,NAME\nJPN,Japan,Japan\n", ":1: NAME: duplicated column"),
])
def test_files_refused_as_a_whole(sqlite_url, tmp_path, name, content, message):
    path = write(tmp_path, name, content)
    assert refused(sqlite_url, "donors", path) == [f"{path}{message}"]
    assert count(sqlite_url, DonorVersion) == 0


def test_header_only_imports_nothing(sqlite_url, tmp_path):
    path = write(tmp_path, "d.csv", "code,name\n")
    assert ok(sqlite_url, "donors", path) == f"{path}: no data rows (only the header); nothing to import"


def test_text_longer_than_a_cell_is_refused(sqlite_url, tmp_path):
    load(sqlite_url, tmp_path, "donors", "rates")
    path = write(tmp_path, "p.csv", "reference,donor,pledged_on,currency,amount,notes\n"
                 f"P1,NOR,2011-06-01,NOK,1,{'x' * 32_768}\nP2,NOR,2011-06-01,NOK,1,{'x' * 32_767}\n")
    assert refused(sqlite_url, "pledges", path) == [f"{path}:2: notes: text longer than 32,767 characters"]


def xlsx(tmp_path: Path, name: str, rows: list[list], setup=None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    if setup:
        setup(wb, ws)
    for row in rows:
        ws.append(row)
    path = tmp_path / name
    wb.save(path)
    return path


PLEDGE_HEADER = ["reference", "donor", "pledged_on", "currency", "amount", "paragraph", "psc_rate", "due_on"]


@pytest.mark.parametrize("epoch", [openpyxl.utils.datetime.CALENDAR_WINDOWS_1900,
                                   openpyxl.utils.datetime.CALENDAR_MAC_1904])
def test_xlsx_date_cells_in_both_date_systems(db_url, tmp_path, epoch):
    load(db_url, tmp_path, "donors", "rates")

    def setup(wb, ws):
        wb.epoch = epoch

    path = xlsx(tmp_path, "p.xlsx", [
        PLEDGE_HEADER,
        ["P1", "NOR", dt.date(2011, 6, 1), "NOK", 1000000, 1, 13, dt.date(2012, 2, 29)],
        ["P1", "NOR", dt.datetime(2011, 6, 1), "NOK", 500000.0, None, 13.0, dt.date(2012, 2, 29)],
        [1001, "NOR", dt.date(2011, 12, 31), "NOK", 0.1 + 0.2, 2.0, None, None],  # a numeric reference
    ], setup)
    if epoch is openpyxl.utils.datetime.CALENDAR_MAC_1904:
        assert b'date1904="1"' in zipfile.ZipFile(path).read("xl/workbook.xml")
    assert ok(db_url, "pledges", path) == f"{path}: 3 rows: 2 pledges added (3 allocation rows), 0 pledges skipped (identical)"
    ledger = Ledger(db_url, user="officer")
    with ledger.reading() as session:
        stored = session.execute(
            select(Pledge.reference, Pledge.pledged_on, Pledge.due_on, Pledge.psc_rate_bp).order_by(Pledge.reference)
        ).all()
        from ledger.schema import Allocation
        amounts = session.execute(select(Allocation.amount_minor).order_by(Allocation.id)).scalars().all()
    ledger.close()
    assert [tuple(r) for r in stored] == [
        ("1001", dt.date(2011, 12, 31), None, 1300),
        ("P1", dt.date(2011, 6, 1), dt.date(2012, 2, 29), 1300),
    ]
    assert amounts == [100_000_000, 50_000_000, 30]  # NOK 0.1 + 0.2 is 0.30, not 0.30000000000000004


def test_xlsx_float_with_too_many_decimals_is_refused(sqlite_url, tmp_path):
    load(sqlite_url, tmp_path, "donors", "rates")
    path = xlsx(tmp_path, "p.xlsx", [PLEDGE_HEADER, ["P1", "USA", dt.date(2011, 6, 1), "USD", 1234.567, None, None,
                                                      None]])
    assert refused(sqlite_url, "pledges", path) == [f"{path}:2: amount: 1234.567 has more decimals than USD allows (2)"]


def test_xlsx_formula_without_cached_value_is_refused(sqlite_url, tmp_path):
    load(sqlite_url, tmp_path, "donors", "rates")
    path = xlsx(tmp_path, "p.xlsx", [PLEDGE_HEADER, ["P1", "USA", dt.date(2011, 6, 1), "USD", "=1000*2", None, None,
                                                      None]])
    assert refused(sqlite_url, "pledges", path) == [
        f"{path}:2: amount: E2: formula without a calculated value; open and save the file in Excel or "
        "LibreOffice first"
    ]


def test_xlsx_merged_cells_are_refused(sqlite_url, tmp_path):
    load(sqlite_url, tmp_path, "donors", "rates")

    path = xlsx(tmp_path, "p.xlsx", [PLEDGE_HEADER, ["P1", "USA", dt.date(2011, 6, 1), "USD", 1000, None, None, None],
                                     ["P2", "USA", dt.date(2011, 6, 1), "USD", 1000, None, None, None]])
    wb = openpyxl.load_workbook(path)
    wb.active.merge_cells("B2:B3")
    wb.save(path)
    assert refused(sqlite_url, "pledges", path) == [
        f"{path}:2: merged cells B2:B3 are not allowed in an import file",
        f"{path}:3: donor: a value is required (the cell is empty)",  # what a merge leaves below its first cell
    ]


def test_xlsx_zip_bomb_is_refused(sqlite_url, tmp_path):
    path = xlsx(tmp_path, "d.xlsx", [["code", "name"], ["JPN", "Japan"]])
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/media/padding.bin", b"\0" * (64 * 1024 * 1024))
    assert refused(sqlite_url, "donors", path) == [
        f"{path}: xl/media/padding.bin is compressed more than 200:1; refused for safety"
    ]


def test_xlsx_entity_bomb_is_refused(sqlite_url, tmp_path):
    path = xlsx(tmp_path, "d.xlsx", [["code", "name"], ["JPN", "Japan"]])
    laughs = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
              + b"".join(b'<!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                         for i in range(1, 10)) + b"]>\n")
    with zipfile.ZipFile(path) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    sheet = members["xl/worksheets/sheet1.xml"]
    body = sheet.split(b"?>", 1)[1] if sheet.startswith(b"<?xml") else sheet
    members["xl/worksheets/sheet1.xml"] = laughs + body.replace(b"<v>", b"<v>&lol9;", 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    assert refused(sqlite_url, "donors", path) == [
        f"{path}: xl/worksheets/sheet1.xml contains XML entity declarations; refused for safety"
    ]
