"""Where a benchmark keeps its ledgers: files in a folder (SQLite) or databases on a
PostgreSQL server, with the same few operations, so every benchmark runs on both.

``store_for("sqlite", folder)`` or ``store_for("postgresql+psycopg://USER:PW@HOST/postgres", folder)``;
a PostgreSQL server URL's user must be allowed to create databases. Each store makes ledgers
by name (``url(name)``), copies them (a file copy, or ``CREATE DATABASE ... TEMPLATE``), and
drops what it made on ``close()``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The order bulk writes go in: parents before children (foreign keys).
INSERT_ORDER = ["journal_entries", "pledges", "allocations", "receipts", "disbursements", "cancellations",
                "journal_lines", "audit_trail", "rates"]


def store_for(db: str, folder: Path):
    """``sqlite`` (or a ``sqlite:`` URL): files in ``folder``; anything else: a PostgreSQL server URL."""
    return SqliteStore(folder) if db == "sqlite" or db.startswith("sqlite") else PostgresStore(db)


def label(db: str) -> str:
    """``sqlite`` or ``postgresql``: how tables and RESULT names tell the databases apart."""
    return "sqlite" if db == "sqlite" or db.startswith("sqlite") else "postgresql"


def suffix(db: str) -> str:
    """What a RESULT name ends in: nothing on SQLite, ``_pg`` on PostgreSQL (bench/README.md)."""
    return "" if label(db) == "sqlite" else "_pg"


@contextmanager
def ledger_on(db: str, name: str, ledger_file: Path) -> Iterator[str]:
    """The URL of the ledger a benchmark generated as an SQLite file, on ``db``: on SQLite the file
    itself; on a PostgreSQL server a scratch database made for it, holding the file's rows
    (:meth:`PostgresStore.load_sqlite`) and dropped on exit."""
    if label(db) == "sqlite":
        yield f"sqlite:///{Path(ledger_file).absolute()}"
        return
    store = PostgresStore(db)
    try:
        yield store.load_sqlite(name, ledger_file)
    finally:
        store.close()


class SqliteStore:
    """Ledgers as files in a folder; a copy is a file copy (after a WAL checkpoint)."""

    name = "sqlite"

    def __init__(self, folder: Path):
        self.folder = folder

    def url(self, name: str) -> str:
        return f"sqlite:///{self.folder / name}.db"

    def copy(self, source: str, target: str) -> None:
        conn = sqlite3.connect(self.folder / f"{source}.db")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything into the file, so it can be copied
        conn.close()
        shutil.copy(self.folder / f"{source}.db", self.folder / f"{target}.db")

    def drop(self, name: str) -> None:
        for suffix in (".db", ".db-wal", ".db-shm"):
            (self.folder / f"{name}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        pass

    def connect(self, name: str):
        return sqlite3.connect(self.folder / f"{name}.db", isolation_level=None)

    @staticmethod
    def columns(conn, table: str) -> list[str]:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]

    mark = "?"

    def write(self, conn, rows: dict) -> None:
        """Raw executemany of the rows, one transaction."""
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        for table in INSERT_ORDER:
            if table in rows:
                columns, values = rows[table]
                marks = ", ".join("?" for _ in columns)
                conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", values)
        conn.execute("COMMIT")


class PostgresStore:
    """Ledgers as databases on one server; a copy is ``CREATE DATABASE ... TEMPLATE``."""

    name = "postgresql"

    def __init__(self, server_url: str):
        from sqlalchemy.engine import make_url

        self.server = make_url(server_url)
        self.prefix = f"dlbench_{os.getpid()}_"
        self.made: list[str] = []

    def _database(self, name: str) -> str:
        return self.prefix + "".join(ch if ch.isalnum() else "_" for ch in name).lower()

    def url(self, name: str) -> str:
        database = self._database(name)
        if database not in self.made:  # a new ledger: Ledger() migrates it
            self._admin(f'CREATE DATABASE "{database}"')
            self.made.append(database)
        return self.server.set(database=database).render_as_string(hide_password=False)

    def _dsn(self, database: str) -> str:
        return self.server.set(drivername="postgresql", database=database).render_as_string(hide_password=False)

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self._dsn(self.server.database), autocommit=True) as conn:
            conn.execute(sql)

    def copy(self, source: str, target: str) -> None:
        self.drop(target)
        self._admin(f'CREATE DATABASE "{self._database(target)}" TEMPLATE "{self._database(source)}"')
        self.made.append(self._database(target))

    def drop(self, name: str) -> None:
        database = self._database(name)
        self._admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if database in self.made:
            self.made.remove(database)

    def close(self) -> None:
        for database in list(self.made):
            self._admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self.made.clear()

    def connect(self, name: str):
        import psycopg

        return psycopg.connect(self._dsn(self._database(name)), autocommit=True)

    @staticmethod
    def columns(conn, table: str) -> list[str]:
        return [row[0] for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            (table,))]

    mark = "%s"

    def write(self, conn, rows: dict) -> None:
        """Binary COPY of the rows (psycopg 3), one transaction."""
        with conn.transaction(), conn.cursor() as cursor:
            for table in INSERT_ORDER:
                if table not in rows:
                    continue
                columns, values = rows[table]
                types = dict(conn.execute(
                    "SELECT column_name, udt_name FROM information_schema.columns WHERE table_name = %s",
                    (table,)).fetchall())
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types([types[c] for c in columns])
                    for row in values:
                        copy.write_row(row)

    def load_sqlite(self, name: str, ledger_file: Path) -> str:
        """A new PostgreSQL ledger holding every row of an SQLite ledger file (what bench/synthetic.py
        writes), loaded by COPY and then vacuumed and analysed, as autovacuum leaves a ledger that is
        in use; returns its URL."""
        from ledger.database import Ledger
        from ledger.schema import Base

        url = self.url(name)
        Ledger(url, user="bench").close()  # migrated and seeded
        source = sqlite3.connect(ledger_file)
        with self.connect(name) as conn:
            with conn.transaction(), conn.cursor() as cursor:
                for table in Base.metadata.sorted_tables:  # parents first
                    if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table.name})").fetchone()[0]:
                        continue  # seeded by the migrations (the mandate, its paragraphs, the first user)
                    columns = [c.name for c in table.columns]
                    rows = source.execute(f"SELECT {', '.join(columns)} FROM {table.name}")
                    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            conn.execute("VACUUM (ANALYZE)")
        source.close()
        return url
