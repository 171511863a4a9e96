"""The command line (README.md, docs/rules.md#the-command-line): outputs, exit codes 0/1/2, never a traceback."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3

import pytest
from sqlalchemy.engine import make_url

from reports.funding import KEYS
from tests.builders import entry_count, funding_rows, run_cli, worked_example
from tests.test_worked_example import EXPECTED, ZERO_PARAGRAPH


def ok(*args: str) -> str:
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert "Traceback" not in err
    return out


def refused(*args: str, status: int = 1) -> str:
    code, out, err = run_cli(*args)
    assert code == status, (out, err)
    assert "Traceback" not in err and err.strip(), err
    return err


@pytest.fixture
def example(ledger, db_url):
    """The worked example; CLI calls act as its admin (--user on SQLite, the login on PostgreSQL)."""
    worked_example(ledger)
    return db_url


def as_officer(url: str) -> tuple[str, ...]:
    return ("--db", url, "--user", "officer")


def test_init_twice_is_idempotent(db_url):
    first = ok("--db", db_url, "init")
    second = ok("--db", db_url, "init")
    assert "ledger ready" in first and "(schema " in first
    assert first == second


def test_init_creates_a_new_ledger_file(tmp_path):
    path = tmp_path / "new.db"
    ok("--db", str(path), "init")
    ok("--db", str(path), "init")
    document = json.loads(ok("--db", str(path), "report", "funding", "--format", "json"))
    assert [row["paragraph"] for row in document["rows"]] == [1, 2, 3, 4, 5, 6, 7, None]
    assert document["rows"][-1]["title"] == "Unearmarked"
    for row in document["rows"]:
        assert {k: row[k] for k in KEYS} == ZERO_PARAGRAPH
    assert set(document) >= {"as_of", "currency", "generated_at", "chain_head", "rows", "totals"}
    assert document["currency"] == "USD" and set(document["totals"]) == set(KEYS)


def test_report_funding_json_of_the_worked_example(example):
    document = json.loads(ok("--db", example, "report", "funding", "--as-of", "2016-12-31", "--format", "json"))
    assert document["as_of"] == "2016-12-31"
    rows = {row["paragraph"]: row for row in document["rows"]}
    assert list(rows) == [1, 2, 3, 4, 5, 6, 7, None]
    for key in (1, 4, None):
        assert {k: rows[key][k] for k in KEYS} == EXPECTED[key], key
    for key in (2, 3, 5, 6, 7):
        assert {k: rows[key][k] for k in KEYS} == ZERO_PARAGRAPH, key
    assert document["totals"] == EXPECTED["totals"]
    assert len(document["chain_head"]) == 64


def test_report_funding_csv(example):
    text = ok("--db", example, "report", "funding", "--as-of", "2016-12-31", "--format", "csv")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["paragraph", *KEYS]
    assert [r[0] for r in table[1:]] == ["1", "2", "3", "4", "5", "6", "7", "unearmarked", "total"]
    one = dict(zip(table[0], table[1], strict=True))
    assert one["fx_difference"] == "-2873.57" and one["pledged"] == "172413.79" and one["coverage_pct"] == "30.5"
    total = dict(zip(table[0], table[-1], strict=True))
    assert total["gap"] == "271132.13" and total["fx_difference"] == "-4310.35"
    assert "-0.00" not in text
    assert dict(zip(table[0], table[2], strict=True))["coverage_pct"] == ""  # null percentage


def test_report_funding_table_shows_every_column_only_where_all_fit(ledger, example):
    """Piped output is 200 columns: the essential columns, none cut off; the full set only where it fits."""
    from rich.console import Console

    from reports.funding import funding_report_for
    from reports.render import funding_table

    text = ok("--db", example, "report", "funding", "--as-of", "2016-12-31")
    header = next(line for line in text.splitlines() if "Paragraph" in line)
    names = [cell.strip() for cell in header.strip("┃ ").split("┃")]
    assert names == ["Paragraph", "Requirement", "Pledged", "Received", "Available", "Spent", "Coverage %", "Gap"]
    assert max(len(line) for line in text.splitlines()) <= 200
    assert "made 20" in text and " UTC from 5 journal entries, chain head " in text  # when, from which head

    def printed(width: int) -> list[str]:
        console = Console(width=width, record=True)
        console.print(funding_table(report, width))
        return console.export_text().splitlines()

    report = funding_report_for(ledger, dt.date(2016, 12, 31))
    full = next(len(line) for line in printed(400) if "Paragraph" in line)  # the width all 16 columns take
    assert full > 200
    for width, all_shown in ((full - 1, False), (full, True)):
        lines = printed(width)
        assert ("Done" in next(line for line in lines if "Paragraph" in line)) == all_shown
        assert max(len(line) for line in lines) <= width


def test_report_csv_never_prints_minus_zero(ledger, db_url):
    """A fully cancelled pledge leaves zeros computed from negative parts."""
    from tests.builders import cancel, donor, pledge, rate

    rate(ledger, "BRL", "2020-02-01", "3", through="2020-03")
    donor(ledger, "BRA")
    pledge(ledger, "P", "BRA", "2020-02-01", "BRL", {6: "1000.00"})
    cancel(ledger, "P", "2020-03-01", "500.00")
    cancel(ledger, "P", "2020-03-02", "500.00")
    text = ok("--db", db_url, "report", "funding", "--as-of", "2020-12-31", "--format", "csv")
    assert "-0.00" not in text and "-0.0" not in text


def test_verify_prints_the_head_hash_and_count(example):
    out = ok("--db", example, "verify")
    head = out.splitlines()[-1].split()[1]
    assert len(head) == 64 and out == f"OK: chain intact: 5 entries\nhead {head} entries 5\n"  # the head once
    checked = ok("--db", example, "verify", "--checkpoint", head)
    assert checked == f"OK: chain intact: 5 entries (checkpoint found in the chain)\nhead {head} entries 5\n"
    assert "not in the chain" in refused("--db", example, "verify", "--checkpoint", "0" * 63 + "1")


def test_backup_copy_opens_and_verifies(example, tmp_path):
    head = ok("--db", example, "verify").splitlines()[-1]
    copy = tmp_path / "copy.db"
    written = ok("--db", example, "backup", str(copy))
    acting = make_url(example).username if example.startswith("postgresql") else "officer"  # the copy's users
    assert written == (f"backup written to {copy}: 5 journal entries; "
                       f"check it with: donor-ledger --db {copy} --user {acting} verify\n")
    assert ok("--db", str(copy), "--user", acting, "verify").splitlines()[-1] == head
    json.loads(ok("--db", str(copy), "--user", acting, "report", "funding", "--format", "json"))
    assert "already exists" in refused("--db", example, "backup", str(copy))
    assert "does not exist" in refused("--db", example, "backup", str(tmp_path / "no" / "such.db"))


def test_pledge_cancel_reverse_and_activity_update(ledger, example):
    out = ok(*as_officer(example), "pledge", "cancel", "P2", "--amount", "1000", "--on", "2012-01-01",
             "--reason", "budget cut", "--paragraph", "4")
    assert out.startswith("cancelled on P2: entry 6, USD 1,000.00")
    assert funding_rows(ledger, "2016-12-31")[4].pledged == 24_900_000  # 250,000 - 1,000
    assert ok(*as_officer(example), "reverse", "5", "--reason", "wrong activity", "--on", "2011-10-01").strip() == (
        "entry 5 reversed by entry 7")
    assert funding_rows(ledger, "2016-12-31")[1].disbursed == 0
    assert "already reversed by entry 7" in refused(*as_officer(example), "reverse", "5", "--reason", "again")
    assert ok(*as_officer(example), "activity", "update", "A4", "--progress", "50", "--status", "ongoing").strip() == (
        "activity A4: updated")
    assert funding_rows(ledger, "2016-12-31")[4].progress_pct == 50
    assert "nothing to update" in refused(*as_officer(example), "activity", "update", "A4")
    assert "no activity with code 'A9'" in refused(*as_officer(example), "activity", "update", "A9", "--progress", "1")
    # refusals of the rules: one clear message, nothing written
    before = entry_count(ledger)
    err = refused(*as_officer(example), "pledge", "cancel", "P2", "--amount", "999999", "--on", "2012-01-01", "--reason", "x")
    assert err.strip() == "error: amount: cannot cancel USD 999,999.00: only USD 149,000.00 is outstanding on pledge P2"
    assert "no pledge with reference 'P9'" in refused(
        *as_officer(example), "pledge", "cancel", "P9", "--amount", "1", "--on", "2012-01-01", "--reason", "x")
    assert "no journal entry 99" in refused(*as_officer(example), "reverse", "99", "--reason", "x")
    assert entry_count(ledger) == before


def test_users(db_url):
    ok("--db", db_url, "--user", "boss", "init")
    if not db_url.startswith("postgresql"):
        assert ok("--db", db_url, "--user", "boss", "user", "add", "fin", "--role", "finance").strip() == (
            "user fin (finance): added")
        listed = ok("--db", db_url, "--user", "boss", "user", "list").splitlines()
        assert [line.split("\t")[:2] for line in listed] == [["boss", "admin"], ["fin", "finance"]]
        assert "may not manage users" in refused("--db", db_url, "--user", "fin", "user", "add", "x", "--role", "admin")
    else:
        assert ok("--db", db_url, "user", "add", "fin", "--role", "finance").strip() == "user fin (finance): added"
        listed = ok("--db", db_url, "user", "list").splitlines()
        assert [line.split("\t")[:2] for line in listed] == [["fin", "finance"], ["postgres", "admin"]]
    refused("--db", db_url, "user", "add", "x", "--role", "boss", status=2)


def test_usage_errors_exit_2(example):
    assert "is not a date" in refused("--db", example, "report", "funding", "--as-of", "2011-13-01", status=2)
    assert "is not a date" in refused("--db", example, "reverse", "1", "--reason", "x", "--on", "yesterday", status=2)
    refused("--db", example, "reverse", "one", "--reason", "x", status=2)
    refused("--db", example, "report", "funding", "--format", "xml", status=2)
    refused("--db", example, "no-such-command", status=2)
    refused("--db", example, "reverse", "1", status=2)  # --reason is required


def test_bad_ledger_locations_are_refused_cleanly(tmp_path):
    missing = tmp_path / "no" / "such" / "ledger.db"
    assert "does not exist" in refused("--db", str(missing), "init")
    assert not missing.parent.exists()
    assert "is a directory" in refused("--db", str(tmp_path), "init")
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a ledger\n" * 200)
    assert "not a donor-ledger ledger" in refused("--db", str(text_file), "verify")
    assert text_file.read_text() == "not a ledger\n" * 200


def test_an_sqlite_database_of_another_program_is_not_taken_over(tmp_path):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("create table contacts (name text)")
        conn.execute("insert into contacts values ('Ada')")
    conn.close()
    assert "not a donor-ledger ledger" in refused("--db", str(other), "verify")
    with sqlite3.connect(other) as conn:
        tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
    conn.close()
    assert tables == {"contacts"}
