"""``backup`` of a live ledger while another process keeps writing (SQLite and PostgreSQL sources).

Each copy is an SQLite file that opens on its own (no -wal beside it), passes
``PRAGMA integrity_check`` and ``verify``, and holds a prefix of the live chain: a
consistent snapshot of some moment, neither torn nor mixed.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from ledger.database import Ledger
from ledger.schema import JournalEntry
from tests import reliability_tools as tools

DONOR_LEDGER = str(Path(sys.executable).with_name("donor-ledger"))
BACKUPS = 3


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([DONOR_LEDGER, *args], capture_output=True, text=True, env=tools.child_env(), timeout=300)


def chain(url: str) -> dict[int, str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(select(JournalEntry.id, JournalEntry.hash)).all())
    finally:
        engine.dispose()


def test_backups_taken_while_another_process_writes_are_whole(db_url, tmp_path):
    tools.fast_postgres(db_url)
    ledger = Ledger(db_url, user="officer")
    tools.funded_ledger(ledger)
    ledger.close()
    at_start = len(chain(db_url))

    writer = tools.start_child("write", db_url, "W")
    try:
        tools.wait_ready(writer)
        tools.go(writer)
        assert writer.stdout.readline().strip() == "writing"  # 20 entries in: the writer is busy
        copies = []
        for n in range(BACKUPS):
            target = tmp_path / f"backup-{n}.db"
            done = cli("--db", db_url, "backup", str(target))
            assert done.returncode == 0, done.stderr
            assert "backup written to" in done.stdout
            copies.append(target)
        assert writer.poll() is None, "the writer stopped before the backups were done"
        writer.stdin.close()  # stop writing
        out = writer.stdout.read()
        assert writer.wait(timeout=120) == 0, writer.stderr.read()
        written = int(out.split()[-1])
    finally:
        if writer.poll() is None:
            writer.kill()

    live = chain(db_url)
    print(f"live {at_start}+{written} entries")
    assert len(live) == at_start + written
    sizes = []
    for n, copy in enumerate(copies):
        alone = tmp_path / f"alone-{n}" / "ledger.db"  # the file by itself: nothing left in a -wal
        alone.parent.mkdir()
        shutil.copyfile(copy, alone)
        conn = sqlite3.connect(alone)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        finally:
            conn.close()
        acting = "officer" if db_url.startswith("sqlite") else make_url(db_url).username  # the ledger's admin
        done = cli("--db", str(alone), "--user", acting, "verify")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("OK: chain intact")
        copied = chain(f"sqlite:///{alone}")
        sizes.append(len(copied))
        assert at_start < len(copied) <= len(live)
        assert all(live[i] == h for i, h in copied.items()), "the copy is not a prefix of the live chain"
        assert sorted(copied) == list(range(1, len(copied) + 1))
    print("backups hold", sizes)
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1], sizes  # the ledger grew between backups
    assert sizes[-1] < len(live), "the writer wrote nothing after the last backup: not a live ledger"
