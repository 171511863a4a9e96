"""Tampering with the stored journal is caught by ``donor-ledger verify``.

The attacker has the database: on SQLite they drop the append-only triggers, on PostgreSQL
they disable every trigger as superuser; then they change one stored value.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from ledger import journal
from ledger.schema import JournalEntry, JournalLine
from tests.builders import invoke_cli, receipt, run_cli, worked_example

APPEND_ONLY = ("journal_entries", "journal_lines", *journal.POSTED_TABLES)  # every posted table has the triggers
ENTRIES = JournalEntry.__table__
LINES = JournalLine.__table__
TARGET = 3  # the worked example's receipt R1 (entries: P1, P2, R1, R2, D1)


@pytest.fixture(autouse=True)
def acting_user(monkeypatch):
    """verify as the ledger's user (the ``ledger`` fixture's first user; on PostgreSQL the login)."""
    monkeypatch.setenv("DONOR_LEDGER_USER", "officer")


@contextmanager
def attacker(url: str):
    """A connection of someone who can edit the database, with the append-only guard removed."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                for table in APPEND_ONLY:
                    for action in ("update", "delete"):
                        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
            else:
                for table in APPEND_ONLY:
                    conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
            yield conn
    finally:
        engine.dispose()


def verify(url: str, *extra: str):
    return invoke_cli("--db", url, "--user", "officer", "verify", *extra)


@pytest.fixture
def example(ledger, db_url):
    worked_example(ledger)
    code, out, err = verify(db_url)
    assert (code, err) == (0, ""), err
    return db_url


def changed(value, column: str):
    """A different value of the same type (None becomes an id that exists: 1)."""
    if value is None:
        return 1
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 8 if column == "line_no" else value + 1
    if isinstance(value, dt.datetime):
        return value + dt.timedelta(microseconds=1)
    if isinstance(value, dt.date):
        return value + dt.timedelta(days=1)
    if column in ("hash", "prev_hash"):
        return value[:-1] + ("0" if value[-1] != "0" else "1")
    return {"account": "1100" if value != "1100" else "1000", "flow": "cancel" if value != "cancel" else "fx",
            "currency": "USD" if value != "USD" else "NOK", "kind": "pledge"}.get(column, value + "x")


ENTRY_COLUMNS = [c for c in ENTRIES.columns.keys() if c != "id"]
LINE_COLUMNS = [c for c in LINES.columns.keys()]


def test_every_stored_column_is_covered_by_the_hash():
    """The hash covers every stored column of an entry and of its lines (nothing forgotten); the format
    version is hashed from format 2 on (it is appended to the entry columns), the later columns from format 3."""
    assert set(journal.ENTRY_COLUMNS) | {"hash", "format_version", *journal.LATER_COLUMNS} == set(ENTRIES.columns.keys())
    assert set(journal.LINE_COLUMNS) | {"entry_id"} == set(LINES.columns.keys())


@pytest.mark.parametrize("column", ENTRY_COLUMNS)
def test_changing_an_entry_column_is_caught_naming_the_entry(example, column):
    with attacker(example) as conn:
        old = conn.execute(select(ENTRIES.c[column]).where(ENTRIES.c.id == TARGET)).scalar()
        conn.execute(update(ENTRIES).where(ENTRIES.c.id == TARGET).values({column: changed(old, column)}))
    code, out, err = verify(example)
    assert code == 1, out
    assert f"journal entry {TARGET}:" in err and "Traceback" not in err


@pytest.mark.parametrize("column", LINE_COLUMNS)
def test_changing_a_line_column_is_caught_naming_the_entry(example, column):
    with attacker(example) as conn:
        where = (LINES.c.entry_id == TARGET) & (LINES.c.line_no == 1)
        old = conn.execute(select(LINES.c[column]).where(where)).scalar()
        new = changed(old, column)
        if column == "entry_id":  # move the line to the next entry
            conn.execute(update(LINES).where(where).values(entry_id=TARGET + 1, line_no=9))
        else:
            conn.execute(update(LINES).where(where).values({column: new}))
    code, out, err = verify(example)
    assert code == 1, out
    assert f"journal entry {TARGET}:" in err


def test_a_balanced_change_of_two_lines_is_still_caught(example):
    """Moving a cent between the lines keeps the entry balanced: the hash still catches it."""
    with attacker(example) as conn:
        for line_no, delta in ((1, 1), (2, -1)):
            where = (LINES.c.entry_id == TARGET) & (LINES.c.line_no == line_no)
            conn.execute(update(LINES).where(where).values(usd_cents=LINES.c.usd_cents + delta))
    code, _, err = verify(example)
    assert code == 1 and f"journal entry {TARGET}: its content does not match its hash" in err


def test_deleting_or_adding_a_line_is_caught(example):
    with attacker(example) as conn:
        row = conn.execute(select(LINES).where(LINES.c.entry_id == TARGET, LINES.c.line_no == 1)).mappings().one()
        conn.execute(insert(LINES).values({**row, "line_no": 99}))
    assert f"journal entry {TARGET}:" in verify(example)[2]
    with attacker(example) as conn:
        conn.execute(delete(LINES).where(LINES.c.entry_id == TARGET, LINES.c.line_no.in_((1, 99))))
    code, _, err = verify(example)
    assert code == 1 and f"journal entry {TARGET}:" in err


def test_a_line_of_no_entry_is_caught(example):
    """Lines whose entry does not exist would still count in balances: verify refuses them."""
    with attacker(example) as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
        row = conn.execute(select(LINES).where(LINES.c.entry_id == TARGET, LINES.c.line_no == 1)).mappings().one()
        conn.execute(insert(LINES).values({**row, "entry_id": 6}))
    code, _, err = verify(example)
    assert code == 1 and "6" in err, err


def test_deleting_an_entry_is_caught(example):
    with attacker(example) as conn:
        conn.execute(delete(LINES).where(LINES.c.entry_id == TARGET))
        conn.execute(text("delete from receipts where entry_id = :e"), {"e": TARGET})
        conn.execute(delete(ENTRIES).where(ENTRIES.c.id == TARGET))
    code, _, err = verify(example)
    assert code == 1
    assert f"journal entry {TARGET + 1}: expected entry {TARGET} here" in err


def test_swapping_two_entries_is_caught(example):
    with attacker(example) as conn:
        for table, key in ((LINES, LINES.c.entry_id), (ENTRIES, ENTRIES.c.id)):
            conn.execute(update(table).where(key == 2).values({key.name: 1000}))
            conn.execute(update(table).where(key == 3).values({key.name: 2}))
            conn.execute(update(table).where(key == 1000).values({key.name: 3}))
    code, _, err = verify(example)
    assert code == 1 and "journal entry 2:" in err


def test_a_rewritten_history_passes_alone_but_not_against_a_checkpoint(example):
    """An attacker who recomputes every later hash makes a consistent chain: only a checkpoint
    (a head hash printed earlier and kept elsewhere) proves it was rewritten."""
    _, out, _ = verify(example)
    checkpoint = out.split("head ")[-1].split()[0]
    with attacker(example) as conn:
        conn.execute(update(ENTRIES).where(ENTRIES.c.id == TARGET).values(memo="receipt (rewritten)"))
        prev = conn.execute(select(ENTRIES.c.hash).where(ENTRIES.c.id == TARGET - 1)).scalar()
        for entry, lines, rows in list(journal.stored_entries(conn))[TARGET - 1:]:
            assert journal.read_stored_times(entry) is None
            entry["prev_hash"] = prev
            prev = journal.entry_hash(entry, lines, rows)
            conn.execute(update(ENTRIES).where(ENTRIES.c.id == entry["id"]).values(prev_hash=entry["prev_hash"], hash=prev))
    assert verify(example)[0] == 0
    code, _, err = verify(example, "--checkpoint", checkpoint)
    assert code == 1 and f"checkpoint {checkpoint} is not in the chain" in err


def test_checkpoint_passes_while_the_ledger_grows_and_fails_after_truncation(ledger, example):
    _, out, _ = verify(example)
    checkpoint = out.split("head ")[-1].split()[0]
    assert out.splitlines()[-1] == f"head {checkpoint} entries 5"
    receipt(ledger, "R3", "P2", "2011-10-01", "1000")
    code, out, err = verify(example, "--checkpoint", checkpoint)
    assert code == 0 and "checkpoint found" in out, err
    _, out, _ = verify(example)
    later = out.split("head ")[-1].split()[0]
    with attacker(example) as conn:  # cut the tail: entry 6 and its receipt
        conn.execute(delete(LINES).where(LINES.c.entry_id == 6))
        conn.execute(text("delete from receipts where entry_id = 6"))
        conn.execute(delete(ENTRIES).where(ENTRIES.c.id == 6))
    assert verify(example)[0] == 0  # the shorter chain is consistent in itself
    assert verify(example, "--checkpoint", checkpoint)[0] == 0  # entry 5 is still there
    code, _, err = verify(example, "--checkpoint", later)
    assert code == 1 and "truncated or rewritten" in err


def test_the_database_refuses_updates_and_deletes_of_posted_rows(example):
    engine = create_engine(example)
    try:
        for statement in (update(ENTRIES).where(ENTRIES.c.id == 1).values(memo="x"),
                          update(LINES).where(LINES.c.entry_id == 1).values(usd_cents=0),
                          delete(LINES).where(LINES.c.entry_id == 1)):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(statement)
    finally:
        engine.dispose()
    assert verify(example)[0] == 0


def test_verify_in_a_real_process_names_the_entry(example):
    with attacker(example) as conn:
        conn.execute(update(LINES).where(LINES.c.entry_id == 2, LINES.c.line_no == 1).values(amount_minor=1))
    code, out, err = run_cli("--db", example, "verify")
    assert code == 1 and out == ""
    assert err.startswith("error: verification failed: journal entry 2:") and "Traceback" not in err


# -- the rows posted beside an entry (format 2: its hash covers them) -------------------------

POSTED_COLUMNS = [(name, column.name) for name, posted in journal.POSTED_TABLES.items() for column in posted.table.columns]


def test_the_posted_tables_are_discovered_from_the_schema():
    assert {"pledges", "allocations", "receipts", "cancellations", "disbursements", "instalments"} <= set(journal.POSTED_TABLES)
    assert journal.POSTED_TABLES["instalments"].parent is None  # it names its schedule entry
    assert journal.POSTED_TABLES["allocations"].parent == "pledges"
    assert journal.POSTED_TABLES["allocations"].own  # one created by a reallocation belongs to its entry
    assert {"reallocations", "refunds", "pledge_closings"} <= set(journal.POSTED_TABLES)


def different(value, column):
    """A different value of the column's type (the id of another row for a key, a fresh id for a row's own)."""
    if column.primary_key:
        return value + 1000
    if value is None:
        kind = column.type.python_type
        return {dt.date: dt.date(2011, 1, 1), int: 1, str: "x"}[kind]
    if column.name == "currency":
        return "USD" if value != "USD" else "NOK"
    return changed(value, column.name)


@pytest.fixture
def with_cancellation(ledger, example):
    from tests.builders import cancel, close, pledge, reallocate, receipt, refund

    cancel(ledger, "P2", "2011-10-01", "1000")  # entry 6
    # the stages' posted rows: an announced pledge signed (entries 7, 8), another withdrawn (9, 10)
    from ledger import services
    from ledger.inputs import ScheduleIn, SigningIn, WithdrawalIn

    pledge(ledger, "P3", "NOR", "2011-10-03", "NOK", {2: "1000.00"}, stage="announced")
    services.sign_pledge(ledger, SigningIn(pledge="P3", signed_on="2011-11-01"))
    pledge(ledger, "P4", "NOR", "2011-10-03", "NOK", {None: "2000.00"}, stage="announced")
    services.withdraw_pledge(ledger, WithdrawalIn(pledge="P4", withdrawn_on="2011-11-01", reason="not this year"))
    # a row of every table of the acts: refunds, a closing, and last a reallocation creating an allocation
    pledge(ledger, "P5", "USA", "2011-10-04", "USD", {1: "100"})
    receipt(ledger, "R3", "P5", "2011-10-04", "100")
    refund(ledger, "P5", "2011-10-05", "100")
    close(ledger, "P5", "2011-10-06")
    refund(ledger, "P2", "2011-10-03", "1000", paragraph=4)
    reallocate(ledger, "P2", "4", "5", "100", "2011-10-02")
    services.schedule_pledge(ledger, ScheduleIn(pledge="P2", reason="annex", instalments=[  # the last entry
        {"due_on": "2011-12-31", "amount": "100000"}, {"due_on": "2012-06-30", "amount": "150000"}]))
    assert verify(example)[0] == 0
    return example


@pytest.mark.parametrize(("table", "column"), POSTED_COLUMNS)
def test_changing_any_column_of_a_posted_row_is_caught_naming_its_entry(with_cancellation, table, column):
    """Every stored column of every posted table, as the schema has them (a column added later
    is covered too). The last row of each table is changed: for an allocation, moving it to the
    pledge after the last one points it at a pledge that does not exist."""
    posted = journal.POSTED_TABLES[table]
    rows = posted.table
    with attacker(with_cancellation) as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
        key = conn.execute(select(rows.c.id).order_by(rows.c.id.desc()).limit(1)).scalar()
        old = conn.execute(select(rows.c[column]).where(rows.c.id == key)).scalar()
        owner = conn.execute(select(rows.c[posted.via]).where(rows.c.id == key)).scalar()
        if posted.own and conn.execute(select(rows.c.entry_id).where(rows.c.id == key)).scalar() is not None:
            owner = conn.execute(select(rows.c.entry_id).where(rows.c.id == key)).scalar()  # a row of its own entry
        elif posted.parent is not None:  # the entry of the row it names
            parent = journal.POSTED_TABLES[posted.parent].table
            owner = conn.execute(select(parent.c.entry_id).where(parent.c.id == owner)).scalar()
        new = different(old, rows.c[column])
        conn.execute(update(rows).where(rows.c.id == key).values({column: new}))
    if posted.own and column == "entry_id":  # the row now belongs to entry ``new``: the earlier of the two fails first
        owner = min(owner, new)
    code, out, err = verify(with_cancellation)
    assert code == 1, out
    assert f"journal entry {owner}:" in err and "Traceback" not in err, err


def test_adding_or_deleting_a_posted_row_is_caught(with_cancellation):
    allocations = journal.POSTED_TABLES["allocations"].table
    with attacker(with_cancellation) as conn:
        row = conn.execute(select(allocations).where(allocations.c.id == 3)).mappings().one()
        conn.execute(insert(allocations).values({**row, "id": 99, "position": 7}))
    code, _, err = verify(with_cancellation)
    assert code == 1 and "journal entry 2: its content does not match its hash" in err
    with attacker(with_cancellation) as conn:
        conn.execute(delete(allocations).where(allocations.c.id.in_((3, 99))))
    code, _, err = verify(with_cancellation)
    assert code == 1 and "journal entry 2: its content does not match its hash" in err
