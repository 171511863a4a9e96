"""A consistent copy of a live ledger, as an SQLite ledger file that opens and verifies."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text

from .database import Ledger
from .errors import LedgerError
from .migrate import upgrade
from .schema import Base


def backup_to(ledger: Ledger, file: str) -> int:
    """Copy the ledger to ``file`` (a new SQLite file); returns the number of journal entries."""
    target = Path(file)
    if target.is_dir():
        raise LedgerError(f"backup: {file} is a folder; give the path of a new backup file")
    if target.exists():
        raise LedgerError(f"backup: {file} already exists; choose a new file name")
    if not target.parent.exists():
        raise LedgerError(f"backup: folder {target.parent} does not exist")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if ledger.is_postgres:
            _copy_tables(ledger, partial)
        else:
            source = sqlite3.connect(ledger.engine.url.database, timeout=30)
            try:
                destination = sqlite3.connect(partial)
                with destination:
                    source.backup(destination)  # a consistent snapshot, even while others write
                destination.execute("PRAGMA journal_mode = DELETE")
                destination.close()
            finally:
                source.close()
        check = sqlite3.connect(partial)
        try:
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise LedgerError(f"backup: the copy in {partial} failed its integrity check")
            entries = check.execute("select count(*) from journal_entries").fetchone()[0]
        finally:
            check.close()
        partial.rename(target)
        return entries
    finally:
        partial.unlink(missing_ok=True)


MANDATE_STILL_OPEN = "0004"


def _copy_tables(ledger: Ledger, path: Path) -> None:
    destination = create_engine(f"sqlite:///{path}")
    # up to the revision before the seeded mandate is fixed (0005): its rows are replaced by the source's;
    # the other tables are copied into the newest schema (inserts only: the append-only triggers allow them)
    upgrade(destination, target=MANDATE_STILL_OPEN)
    with ledger.engine.connect() as source:
        source.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        seeded = [table for table in Base.metadata.sorted_tables if table.name in ("mandates", "paragraphs")]
        _copy(source, destination, seeded, replace=True)
        upgrade(destination)
        _copy(source, destination, [table for table in Base.metadata.sorted_tables if table not in seeded])
        source.rollback()
    destination.dispose()


def _copy(source, destination, tables, replace: bool = False) -> None:
    with destination.begin() as out:
        out.exec_driver_sql("PRAGMA foreign_keys = OFF")
        for table in tables:
            if replace:
                out.execute(table.delete())  # seeded by the migration: take the source's
            rows = source.execute(select(table)).mappings()
            batch = []
            for row in rows:
                batch.append(dict(row))
                if len(batch) == 5000:
                    out.execute(insert(table), batch)
                    batch.clear()
            if batch:
                out.execute(insert(table), batch)
