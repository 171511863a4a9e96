"""Two finance officers at once: the chain never forks, breaks or loses an entry.

Two OS processes each post N entries (a receipt, then a disbursement paid from it, on
shared pledges) at the same moment, one unit of work per entry through ledger.services.
Then: 2N entries present, ids 1..n contiguous, the chain verifies, no reference twice,
and the two processes really interleaved. A second group of tests shows that the writer
path really takes the lock that makes this so.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from ledger.database import WRITER_LOCK_KEY, Ledger
from ledger.roles import Act
from ledger.schema import Disbursement, JournalEntry, Receipt
from tests import reliability_tools as tools

N = int(os.environ.get("DONOR_LEDGER_CONCURRENCY_N", "5000"))  # entries per process


@pytest.mark.slow
def test_two_processes_post_at_once_and_the_chain_holds(db_url):
    tools.fast_postgres(db_url)
    ledger = Ledger(db_url, user="officer")
    tools.funded_ledger(ledger)
    before = len(tools.journal_ids(db_url))
    ledger.close()

    children = [tools.start_child("post", db_url, worker, str(N)) for worker in ("A", "B")]
    try:
        for child in children:
            tools.wait_ready(child)
        started = time.perf_counter()
        tools.go(*children)
        for child in children:
            out, err = child.communicate(timeout=1800)
            assert child.returncode == 0, err
            assert out.strip().endswith("done"), out
        elapsed = time.perf_counter() - started
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    print(f"{2 * N} entries by two processes in {elapsed:.1f} s ({make_url(db_url).get_backend_name()})")

    ids = tools.journal_ids(db_url)
    assert len(ids) == before + 2 * N
    assert ids == list(range(1, len(ids) + 1)), "entry ids are not contiguous"

    result = tools.verify_url(db_url)
    assert result.ok, result.message
    assert result.entries == before + 2 * N

    engine = create_engine(db_url)
    with engine.connect() as conn:
        refs = list(conn.execute(select(JournalEntry.reference).where(JournalEntry.id > before).order_by(JournalEntry.id)).scalars())
        hashes = list(conn.execute(select(JournalEntry.hash)).scalars())
        prevs = list(conn.execute(select(JournalEntry.prev_hash)).scalars())
        receipts = set(conn.execute(select(Receipt.reference)).scalars())
        disbursements = set(conn.execute(select(Disbursement.reference)).scalars())
    engine.dispose()
    assert len(set(hashes)) == len(hashes), "a hash appears twice"
    assert len(set(prevs)) == len(prevs), "two entries claim the same predecessor: the chain forked"
    assert [r for r, n in Counter(refs).items() if n > 1] == []
    expected_receipts = {f"{w}-R{i}" for w in "AB" for i in range(0, N, 2)}
    expected_disbursements = {f"{w}-D{i}" for w in "AB" for i in range(1, N, 2)}
    assert receipts == expected_receipts
    assert disbursements == expected_disbursements
    # they really ran at the same time: the chain alternates between the two writers
    switches = sum(1 for a, b in zip(refs, refs[1:], strict=False) if a[0] != b[0])
    assert switches >= min(N // 50, 20), f"only {switches} switches between writers: not concurrent"

    check = Ledger(db_url, user="officer")
    from tests.builders import funding_rows

    totals = funding_rows(check, "2021-12-31")["totals"]
    check.close()
    assert totals.received == 2 * len(range(0, N, 2)) * 100_00
    assert totals.disbursed == 2 * len(range(1, N, 2)) * 50_00
    assert totals.psc == 2 * len(range(1, N, 2)) * 6_50


# -- the lock itself -------------------------------------------------------------------------
def test_sqlite_writer_holds_begin_immediate(sqlite_url):
    ledger = Ledger(sqlite_url, user="officer")
    path = make_url(sqlite_url).database
    other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    try:
        with ledger.writing(Act.RECORD_MONEY):
            # another writer cannot start ...
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("BEGIN IMMEDIATE")
            # ... and a plain deferred transaction that read the head and then writes must retry
            other.execute("BEGIN")
            other.execute("select max(id) from journal_entries").fetchone()
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("insert into audit_trail (at, user_name, table_name, record_key, field) "
                              "values ('2021-01-01', 'x', 't', 'k', 'f')")
            other.execute("ROLLBACK")
        # released at commit: the same statement now succeeds at once
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()
        ledger.close()


def test_postgres_writer_holds_the_advisory_lock(request):
    server = request.getfixturevalue("pg_server")
    url = server.new_database()
    ledger = Ledger(url, user="officer")
    other = create_engine(url, isolation_level="AUTOCOMMIT")
    probe = text("select pg_try_advisory_xact_lock(:k)")
    try:
        with other.connect() as conn:
            assert conn.execute(probe, {"k": WRITER_LOCK_KEY}).scalar() is True  # free before
            with ledger.writing(Act.RECORD_MONEY):
                assert conn.execute(probe, {"k": WRITER_LOCK_KEY}).scalar() is False
            assert conn.execute(probe, {"k": WRITER_LOCK_KEY}).scalar() is True  # released at commit
    finally:
        other.dispose()
        ledger.close()
        server.drop(make_url(url).database)


def test_postgres_sessions_run_without_jit_and_keep_the_urls_own_options(request):
    """Every ledger connection to PostgreSQL sets jit off (ledger/database.py::NO_JIT: a
    5,000-reference pledge look-up compiled for 0.9 s and ran for 0.02 s), writers and readers
    alike, and options given in the URL still apply."""
    server = request.getfixturevalue("pg_server")
    url = server.new_database()
    own = make_url(url).update_query_dict({"options": "-c statement_timeout=4321"})
    ledger = Ledger(own.render_as_string(hide_password=False), user="officer")
    try:
        with ledger.reading() as session:
            assert session.execute(text("show jit")).scalar() == "off"
            assert session.execute(text("show statement_timeout")).scalar() == "4321ms"
        with ledger.writing(Act.RECORD_MONEY) as uow:
            assert uow.session.execute(text("show jit")).scalar() == "off"
        with create_engine(url).connect() as plain:  # the server's default, which the ledger overrides
            assert plain.execute(text("show jit")).scalar() == "on"
    finally:
        ledger.close()
        server.drop(make_url(url).database)


def test_a_second_writer_waits_until_the_first_commits(db_url):
    """Two units of work of two ledgers (two connections): the second starts only after the first ends."""
    first = Ledger(db_url, user="officer")
    second = Ledger(db_url, user="officer")
    entered: list[float] = []

    def write_second():
        with second.writing(Act.RECORD_MONEY):
            entered.append(time.perf_counter())

    try:
        with first.writing(Act.RECORD_MONEY):
            thread = threading.Thread(target=write_second)
            thread.start()
            time.sleep(0.6)
            assert entered == [], "a second writer got in while the first held the lock"
            released = time.perf_counter()
        thread.join(timeout=30)
        assert len(entered) == 1 and entered[0] >= released
    finally:
        first.close()
        second.close()
