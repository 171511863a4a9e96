"""Tamper evidence under 1,000 random attacks (and 100 on PostgreSQL).

The attacker owns the database file or is a superuser: the append-only triggers are
dropped (SQLite) or disabled (PostgreSQL), then one thing is changed directly: one byte or
value of any stored column of ``journal_entries`` or ``journal_lines``, a deleted entry or
line, or two entries swapped. Each attack runs on a fresh copy of a small ledger. ``verify``
must fail and name the first bad entry: the first position of the chain whose stored
content differs from the original (computed here by comparing raw rows, independently of
the hash). A truncated tail and a rewritten history (hashes recomputed) both pass a plain
``verify``, so they are caught by ``verify --checkpoint`` against a head printed earlier,
which passes while the ledger only grew.

Reproducible: every attack is drawn from ``random.Random(SEED + n)``; a failure names n.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from ledger import journal
from ledger.database import Ledger
from ledger.schema import JournalEntry, JournalLine
from tests import builders as b
from tests import reliability_tools as tools

SEED = 2011_0720
SQLITE_ATTACKS = int(os.environ.get("DONOR_LEDGER_TAMPER_N", "1000"))
POSTGRES_ATTACKS = int(os.environ.get("DONOR_LEDGER_TAMPER_PG_N", "100"))
APPEND_ONLY = ("journal_entries", "journal_lines", *journal.POSTED_TABLES)  # every posted table has the triggers
ENTRY_COLUMNS = [c.name for c in JournalEntry.__table__.columns]
LINE_COLUMNS = [c.name for c in JournalLine.__table__.columns]
NULLABLE = {c.name for c in JournalLine.__table__.columns if c.nullable} | {"reverses_id"}
PRINTABLE = [chr(c) for c in range(0x21, 0x7F)]
DONOR_LEDGER = str(Path(sys.executable).with_name("donor-ledger"))


def varied_ledger(ledger: Ledger) -> None:
    """Every kind of entry and most line shapes: ~15 entries, ~60 lines."""
    b.worked_example(ledger)  # entries 1-5: P1, P2, R1, R2, D1
    b.rate(ledger, "JPY", "2011-06-01", "80", through="2011-09")
    b.rate(ledger, "KWD", "2011-06-01", "0.275", through="2011-09")
    b.donor(ledger, "JPN", "Japan", country="JPN", currency="JPY")
    b.donor(ledger, "KWT", "Kuwait", country="KWT", currency="KWD")
    b.activity(ledger, "A2", 2, "90000", "ongoing", 10)
    b.pledge(ledger, "P3", "JPN", "2011-06-15", "JPY", {2: "4000000", 3: "1000000", None: "3000000"}, psc="7")
    b.pledge(ledger, "P4", "KWT", "2011-06-20", "KWD", {2: "10000.125"}, psc="13", due_on="2012-01-01")
    b.receipt(ledger, "R3", "P3", "2011-08-20", "5000000", usd_amount="62500.01")
    b.receipt(ledger, "R4", "P4", "2011-08-21", "5000.001")
    b.cancel(ledger, "P3", "2011-09-01", "300000", paragraph=3)
    b.disburse(ledger, "D2", "A2", "2011-09-05", "20000", pledge="P3")
    b.disburse(ledger, "D3", "A2", "2011-09-06", "15000")
    posted = b.receipt(ledger, "R5", "P4", "2011-09-07", "100")
    b.reverse(ledger, posted.entry_id, on="2011-09-08")
    b.disburse(ledger, "D4", "A1", "2011-09-09", "1000000", currency="JPY")


# -- the attacker ------------------------------------------------------------------------------
def drop_guards_sqlite(conn: sqlite3.Connection) -> None:
    for table in APPEND_ONLY:
        for action in ("update", "delete"):
            conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def flip_byte(value: str, rng: random.Random) -> str:
    position = rng.randrange(len(value))
    replacement = rng.choice([c for c in PRINTABLE if c != value[position]])
    return value[:position] + replacement + value[position + 1:]


def changed_value(value, column: str, rng: random.Random, postgres: bool):
    """A different stored value; on SQLite text (dates included) changes by one byte."""
    if value is None:
        return rng.choice([1, 2, 3])
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        if column in NULLABLE and rng.random() < 0.2:
            return None
        return value + rng.choice([-1, 1, 2, -100, 10**6, 7 * 10**12]) or value + 3
    if isinstance(value, dt.datetime):
        return value + dt.timedelta(microseconds=rng.choice([1, -1, 10**6, 86_400 * 10**6]))
    if isinstance(value, dt.date):
        return value + dt.timedelta(days=rng.choice([1, -1, 30, 365]))
    if postgres and column in ("kind", "account", "flow", "currency") and not value.isascii():
        return value + "x"
    return flip_byte(value, rng)


@dataclass
class Attack:
    description: str
    expected_position: int | None  # the first position whose content differs; None = tail only


def raw_chain(rows_of) -> list[tuple]:
    """Per position: the entry row and its lines, as stored (for the oracle)."""
    entries = rows_of(f"select {', '.join(ENTRY_COLUMNS)} from journal_entries order by id")
    lines = rows_of(f"select {', '.join(LINE_COLUMNS)} from journal_lines order by entry_id, line_no")
    by_entry: dict = {}
    for line in lines:
        by_entry.setdefault(line[0], []).append(tuple(line))
    return [(tuple(entry), tuple(by_entry.get(entry[0], ()))) for entry in entries], lines


def first_difference(before, after) -> int | None:
    """1-based position of the first entry whose stored content (or lines) differs."""
    (chain_a, lines_a), (chain_b, lines_b) = before, after
    for position, (a, b_) in enumerate(zip(chain_a, chain_b, strict=False), start=1):
        if a != b_:
            return position
    if len(chain_b) > len(chain_a):
        return len(chain_a) + 1
    if len(chain_b) < len(chain_a):
        return None  # only the tail is gone: a checkpoint catches it, verify alone cannot
    if sorted(map(tuple, lines_a)) != sorted(map(tuple, lines_b)):
        return 0  # lines changed that belong to no entry of the chain
    return -1  # nothing changed


def attack(execute, rows_of, rng: random.Random, postgres: bool, entries: int) -> str:
    """Change one thing through ``execute(sql, params)``; return what was done."""
    kind = rng.choices(["entry", "line", "delete_entry", "delete_line", "swap"], weights=[35, 45, 7, 6, 7])[0]
    p = "%s" if postgres else "?"
    if kind in ("entry", "line"):
        table, columns = ("journal_entries", ENTRY_COLUMNS) if kind == "entry" else ("journal_lines", LINE_COLUMNS)
        keys = "id" if kind == "entry" else "entry_id, line_no"
        rows = rows_of(f"select {keys} from {table}")
        key = rng.choice(rows)
        column = rng.choice(columns)
        where = " and ".join(f"{k.strip()} = {p}" for k in keys.split(","))
        old = rows_of(f"select {column} from {table} where {where}", tuple(key))[0][0]
        new = changed_value(old, column, rng, postgres)
        if column in ("id", "entry_id", "line_no") and new is None:
            new = old + 1
        execute(f"update {table} set {column} = {p} where {where}", (new, *key))
        return f"{table} {tuple(key)}: {column} {old!r} -> {new!r}"
    if kind == "delete_entry":
        victim = rng.randrange(1, entries)  # not the last: that is a truncation
        with_lines = rng.random() < 0.7
        if with_lines:
            execute(f"delete from journal_lines where entry_id = {p}", (victim,))
        execute(f"delete from journal_entries where id = {p}", (victim,))
        return f"deleted entry {victim}" + (" and its lines" if with_lines else " (lines left)")
    if kind == "delete_line":
        entry_id, line_no = rng.choice(rows_of("select entry_id, line_no from journal_lines"))
        execute(f"delete from journal_lines where entry_id = {p} and line_no = {p}", (entry_id, line_no))
        return f"deleted line {line_no} of entry {entry_id}"
    first, second = sorted(rng.sample(range(1, entries + 1), 2))
    move_lines = rng.random() < 0.7
    parking = -999
    execute(f"update journal_entries set id = {p} where id = {p}", (parking, first))
    execute(f"update journal_entries set id = {p} where id = {p}", (first, second))
    execute(f"update journal_entries set id = {p} where id = {p}", (second, parking))
    if move_lines:
        execute(f"update journal_lines set entry_id = {p} where entry_id = {p}", (parking, first))
        execute(f"update journal_lines set entry_id = {p} where entry_id = {p}", (first, second))
        execute(f"update journal_lines set entry_id = {p} where entry_id = {p}", (second, parking))
    return f"swapped entries {first} and {second}" + (" with their lines" if move_lines else " (lines left)")


def named_position(result: journal.Verification) -> int | None:
    """The chain position a failed verification names (an out-of-place id names its position)."""
    found = re.search(r"expected entry (\d+) here", result.problem or "")
    return int(found.group(1)) if found else result.first_failure


def judge(n: int, what: str, expected: int | None, result: journal.Verification) -> str | None:
    if expected == -1:
        return None  # the attack happened to change nothing (cannot happen by construction)
    if result.ok:
        return f"attack {n} ({what}) passed verify"
    if expected == 0:
        return None if "not in the chain" in (result.problem or "") else f"attack {n} ({what}): {result.message}"
    if named_position(result) != expected:
        return f"attack {n} ({what}): expected entry {expected} named, got {result.message!r}"
    return None


# -- SQLite: a fresh file copy per attack ------------------------------------------------------
@pytest.fixture(scope="module")
def small_ledger_file(tmp_path_factory, sqlite_template):
    path = tmp_path_factory.mktemp("tamper") / "small.db"
    shutil.copy(sqlite_template, path)
    ledger = Ledger(f"sqlite:///{path}", user="officer")
    varied_ledger(ledger)
    ledger.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = DELETE")  # one self-contained file to copy
    conn.close()
    return path


def verify_file(path) -> journal.Verification:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with Session(engine) as session:
            return journal.verify(session)
    finally:
        engine.dispose()


def test_the_small_ledger_verifies_before_any_attack(small_ledger_file):
    result = verify_file(small_ledger_file)
    assert result.ok, result.message
    assert result.entries >= 15


@pytest.mark.slow
def test_a_thousand_random_attacks_on_sqlite_are_each_caught(small_ledger_file, tmp_path):
    conn = sqlite3.connect(small_ledger_file)
    pristine = raw_chain(lambda sql, params=(): conn.execute(sql, params).fetchall())
    entries = len(pristine[0])
    conn.close()
    failures, kinds = [], set()
    for n in range(SQLITE_ATTACKS):
        copy = tmp_path / f"attack-{n % 4}.db"
        shutil.copyfile(small_ledger_file, copy)
        conn = sqlite3.connect(copy, isolation_level=None)
        conn.execute("PRAGMA synchronous = OFF")  # a throw-away copy: no fsync per attack
        rng = random.Random(SEED + n)

        def rows_of(sql, params=(), conn=conn):
            return conn.execute(sql, params).fetchall()

        while True:
            try:
                conn.execute("BEGIN")
                drop_guards_sqlite(conn)
                what = attack(lambda sql, params, conn=conn: conn.execute(sql, params), rows_of, rng, False, entries)
                conn.execute("COMMIT")
                break
            except sqlite3.IntegrityError:  # e.g. a primary key already taken: draw again
                conn.execute("ROLLBACK")
        expected = first_difference(pristine, raw_chain(rows_of))
        conn.close()
        kinds.add(what.split(" ")[0])
        problem = judge(n, what, expected, verify_file(copy))
        if problem:
            failures.append(problem)
    assert failures == [], f"{len(failures)} of {SQLITE_ATTACKS} attacks not caught as expected:\n" + "\n".join(failures[:15])
    assert kinds >= {"journal_entries", "journal_lines", "deleted", "swapped"}


def test_the_command_line_names_the_bad_entry(small_ledger_file, tmp_path):
    """The same attack through ``donor-ledger verify``: exit 1, one line naming the entry."""
    copy = tmp_path / "cli.db"
    shutil.copyfile(small_ledger_file, copy)
    conn = sqlite3.connect(copy, isolation_level=None)
    drop_guards_sqlite(conn)
    conn.execute("update journal_lines set usd_cents = usd_cents + 1 where entry_id = 7 and line_no = 2")
    count, head = conn.execute("select id, hash from journal_entries order by id desc limit 1").fetchone()
    [sixth] = conn.execute("select hash from journal_entries where id = 6").fetchone()
    conn.close()
    done = run_cli("--db", str(copy), "verify")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: verification failed: journal entry 7: its content does not match its hash (changed after posting)",
        f"error: head {head} entries {count} as stored; the first 6 entries verify (up to head {sixth})",
    ]


# -- PostgreSQL: each attack in a transaction of a superuser, rolled back -----------------------
@pytest.mark.slow
def test_a_hundred_random_attacks_on_postgres_are_each_caught(request):
    server = request.getfixturevalue("pg_server")
    url = server.new_database()
    try:
        ledger = Ledger(url, user="officer")
        varied_ledger(ledger)
        ledger.close()
        engine = create_engine(url)
        failures = []
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection  # psycopg: values as the server returns them

            def rows_of(sql, params=()):
                with raw.cursor() as cursor:
                    cursor.execute(sql.replace("?", "%s"), params)
                    return cursor.fetchall()

            def execute(sql, params):
                with raw.cursor() as cursor:
                    cursor.execute(sql, params)

            raw.rollback()
            pristine = raw_chain(rows_of)
            entries = len(pristine[0])
            for n in range(POSTGRES_ATTACKS):
                rng = random.Random(SEED + 10**6 + n)
                for _ in range(20):
                    for table in APPEND_ONLY:
                        execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL", ())
                    try:
                        with raw.transaction():  # a savepoint: a drawn key already taken is drawn again
                            what = attack(execute, rows_of, rng, True, entries)
                        break
                    except Exception as exc:  # noqa: BLE001
                        if "duplicate key" not in str(exc) and "out of range" not in str(exc):
                            raise
                expected = first_difference(pristine, raw_chain(rows_of))
                with Session(bind=conn) as session:
                    result = journal.verify(session)
                problem = judge(n, what, expected, result)
                if problem:
                    failures.append(problem)
                raw.rollback()  # the next attack starts from the original ledger
        engine.dispose()
        assert failures == [], "\n".join(failures[:15])
    finally:
        server.drop(make_url(url).database)


# -- truncation and rewriting: the checkpoint -----------------------------------------------------
def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([DONOR_LEDGER, *args], capture_output=True, text=True, env=tools.child_env(), timeout=120)


def printed_head(url: str) -> str:
    done = run_cli("--db", url, "verify")
    assert done.returncode == 0, done.stderr
    found = re.search(r"^head ([0-9a-f]{64}) entries (\d+)$", done.stdout, re.M)
    assert found, done.stdout
    return found.group(1)


@pytest.fixture(autouse=True)
def acting_user(monkeypatch):
    """verify as the ledgers' user (the first user; on PostgreSQL the login)."""
    monkeypatch.setenv("DONOR_LEDGER_USER", "officer")


def attacker_engine(url: str):
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in APPEND_ONLY:
            if conn.dialect.name == "sqlite":
                for action in ("update", "delete"):
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
            else:
                conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
    return engine


def rehash_from(conn, start: int) -> None:
    """What a careful forger does: recompute every hash from ``start`` on, so the chain is valid."""
    prev = conn.execute(select(JournalEntry.hash).where(JournalEntry.id == start - 1)).scalar() or journal.GENESIS
    for entry, lines, rows in list(journal.stored_entries(conn))[start - 1:]:
        assert journal.read_stored_times(entry) is None
        new_hash = journal.entry_hash(dict(entry, prev_hash=prev), lines, rows)
        conn.execute(update(JournalEntry).where(JournalEntry.id == entry["id"]).values(prev_hash=prev, hash=new_hash))
        prev = new_hash


@pytest.fixture
def grown(db_url):
    """A ledger, the head an auditor printed, then more entries: the checkpoint still passes."""
    ledger = Ledger(db_url, user="officer")
    b.worked_example(ledger)
    ledger.close()
    checkpoint = printed_head(db_url)
    ledger = Ledger(db_url, user="officer")
    b.receipt(ledger, "R9", "P2", "2011-10-01", "1000")
    b.disburse(ledger, "D9", "A4", "2011-10-02", "500")
    ledger.close()
    done = run_cli("--db", db_url, "verify", "--checkpoint", checkpoint)
    assert done.returncode == 0, done.stderr
    assert "checkpoint found in the chain" in done.stdout
    return db_url, checkpoint, printed_head(db_url)


def test_a_truncated_tail_passes_verify_but_fails_the_checkpoint(grown):
    url, _, latest = grown
    engine = attacker_engine(url)
    with engine.begin() as conn:
        conn.execute(text("delete from journal_lines where entry_id = 7"))
        conn.execute(text("delete from journal_entries where id = 7"))
    done = run_cli("--db", url, "verify")  # the disbursement posted with entry 7 is still there
    assert done.returncode == 1
    assert "error: verification failed: posted disbursements of journal entry 7, which is not in the chain" in done.stderr
    with engine.begin() as conn:  # a careful forger removes it too
        conn.execute(text("delete from disbursements where entry_id = 7"))
    engine.dispose()
    assert run_cli("--db", url, "verify").returncode == 0  # a shorter chain is still a chain
    done = run_cli("--db", url, "verify", "--checkpoint", latest)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"checkpoint {latest} is not in the chain: history was truncated or rewritten" in done.stderr


def test_a_rewritten_history_passes_verify_but_fails_the_checkpoint(grown):
    url, earlier, latest = grown
    engine = attacker_engine(url)
    with engine.begin() as conn:  # R2's cash halved on both sides, every later hash recomputed
        conn.execute(text("update journal_lines set usd_cents = usd_cents / 2, amount_minor = amount_minor / 2 "
                          "where entry_id = 4"))
        rehash_from(conn, 4)
    done = run_cli("--db", url, "verify")  # the receipt row still says what was received
    assert done.returncode == 1
    assert "error: verification failed: receipt R2 does not match journal entry 4" in done.stderr
    with engine.begin() as conn:
        conn.execute(text("update receipts set usd_cents = usd_cents / 2, amount_minor = amount_minor / 2 "
                          "where entry_id = 4"))
        rehash_from(conn, 4)  # the hash of a format-2 entry covers its receipt row
    engine.dispose()
    assert run_cli("--db", url, "verify").returncode == 0  # internally consistent forgery
    for checkpoint in (earlier, latest):  # the head before the forgery named an entry now gone
        done = run_cli("--db", url, "verify", "--checkpoint", checkpoint)
        assert done.returncode == 1, (checkpoint, done.stdout)
        assert f"checkpoint {checkpoint} is not in the chain" in done.stderr


def test_the_head_in_the_workbook_about_sheet_is_a_checkpoint(db_url, tmp_path):
    """The auditor keeps the workbook: its About sheet's chain head checks the ledger later."""
    import openpyxl

    ledger = Ledger(db_url, user="officer")
    b.worked_example(ledger)
    ledger.close()
    workbook = tmp_path / "audit.xlsx"
    done = run_cli("--db", db_url, "--user", "officer", "export", "-o", str(workbook))
    assert done.returncode == 0, done.stderr
    about = {row[0]: row[1] for row in openpyxl.load_workbook(workbook, read_only=True)["About"].iter_rows(values_only=True)}
    head = about["Chain head hash"]
    assert re.fullmatch(r"[0-9a-f]{64}", head) and head == printed_head(db_url)
    ledger = Ledger(db_url, user="officer")
    b.receipt(ledger, "R9", "P2", "2011-10-01", "1000")
    ledger.close()
    assert run_cli("--db", db_url, "verify", "--checkpoint", head).returncode == 0  # the ledger only grew
    engine = attacker_engine(db_url)
    with engine.begin() as conn:  # history cut back to before the workbook, the rows posted with it too
        conn.execute(text("delete from disbursements where entry_id >= 5"))
        conn.execute(text("delete from receipts where entry_id >= 5"))
        conn.execute(text("delete from journal_lines where entry_id >= 5"))
        conn.execute(text("delete from journal_entries where id >= 5"))
    engine.dispose()
    done = run_cli("--db", db_url, "verify", "--checkpoint", head)
    assert done.returncode == 1 and f"checkpoint {head} is not in the chain" in done.stderr


def test_export_of_a_tampered_ledger_exits_1_and_keeps_the_evidence(db_url, tmp_path):
    """A broken chain refuses the export (exit 1, as `verify`); the workbook stays, its About sheet says why."""
    import openpyxl

    ledger = Ledger(db_url, user="officer")
    b.worked_example(ledger)
    ledger.close()
    engine = attacker_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("update journal_lines set usd_cents = usd_cents + 1 where entry_id = 3 and line_no = 1"))
    engine.dispose()
    workbook = tmp_path / "audit.xlsx"
    done = run_cli("--db", db_url, "--user", "officer", "export", "-o", str(workbook))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: verification failed: journal entry 3: its content does not match its hash (changed after posting)",
        f"error: {workbook} was written for investigation; its About sheet records the failure",
    ]
    about = {row[0]: row[1] for row in openpyxl.load_workbook(workbook, read_only=True)["About"].iter_rows(values_only=True)}
    second = printed_head_of_entry(db_url, 2)
    assert about["Verification"] == ("FAILED: journal entry 3: its content does not match its hash (changed after "
                                     f"posting); the first 2 entries verify (up to head {second})")
    assert (about["Chain entries"], about["Chain head hash"]) == (5, printed_head_of_entry(db_url, 5))  # as stored


def printed_head_of_entry(url: str, entry_id: int) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(JournalEntry.hash).where(JournalEntry.id == entry_id)).scalar_one()
    finally:
        engine.dispose()
