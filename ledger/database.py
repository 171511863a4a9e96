"""Opening a ledger: the database URL, the engine, migrations, and the acting user.

SQLite: WAL, foreign keys on, a busy timeout, and writers in ``BEGIN IMMEDIATE`` so that
the chain head and every balance a writer reads stay its own until it commits.
PostgreSQL: writers take a transaction-level advisory lock first.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from . import versions
from .errors import LedgerError, PermissionDenied
from .roles import Act, Actor, Role, may
from .schema import User
from .unit_of_work import UnitOfWork

WRITER_LOCK_KEY = 2011_20_07  # PostgreSQL advisory lock taken by every writer
BUSY_TIMEOUT_MS = 30_000  # how long a writer waits for another; DONOR_LEDGER_BUSY_TIMEOUT_MS overrides
NO_JIT = "-c jit=off"  # PostgreSQL session option on every connection (see make_engine)


def busy_timeout_ms() -> int:
    value = os.environ.get("DONOR_LEDGER_BUSY_TIMEOUT_MS", "").strip()
    return int(value) if value.isdigit() else BUSY_TIMEOUT_MS


def default_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("donor-ledger", appauthor=False)) / "ledger.db"


def resolve_url(db: str | None = None) -> str:
    """``--db`` (an SQLAlchemy URL or a file path), else DONOR_LEDGER_DB, else the user's data dir."""
    value = db or os.environ.get("DONOR_LEDGER_DB")
    if not value:
        path = default_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if "://" in value:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value
    return f"sqlite:///{Path(value).expanduser().absolute()}"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")
        cursor.execute("PRAGMA foreign_keys = ON")
        mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal" and engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("writer") else "BEGIN")


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise LedgerError(f"database: {url!r} is neither a file path nor a database URL") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            path = Path(database)
            if path.is_dir():
                raise LedgerError(f"database: {database} is a directory, not a ledger file")
            if not path.parent.exists():
                raise LedgerError(f"database: folder {path.parent} does not exist")
        engine = create_engine(url)
        _sqlite_setup(engine)
        return engine
    # No JIT: the ledger's queries are short, but PostgreSQL JIT-compiles every query whose
    # estimated cost passes jit_above_cost, and the pledge stage columns' correlated subqueries
    # estimate over a million: an import's pledge look-up of 5,000 references ran 20 ms and
    # compiled 920 ms (docs/imports.md "On PostgreSQL"). A session setting, so any login may.
    given = parsed.query.get("options")
    options = " ".join(part for part in (given if isinstance(given, str) else None, NO_JIT) if part)
    try:
        return create_engine(url, pool_pre_ping=True, connect_args={"options": options})
    except ModuleNotFoundError as exc:
        raise LedgerError(f"database: the driver for {parsed.drivername} is not installed ({exc.name})") from None


class Ledger:
    """An open ledger: one engine, one sessionmaker, the acting user.

    Units of work are opened by callers: ``reading()`` for a read-only session, and
    ``writing(act)`` for a locked write transaction that commits on success.
    """

    def __init__(self, url: str, user: str | None = None, migrate: bool = True):
        self.url = url
        self.commits = 0  # writing units of work committed through this object (screens reload when it moves)
        self.engine = make_engine(url)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writer_sessions = sessionmaker(self.engine.execution_options(writer=True), expire_on_commit=False)
        try:
            if migrate:
                from .migrate import upgrade

                upgrade(self.engine)
            self.user_name = self._login_name(user)
            self._ensure_first_admin()
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise LedgerError(describe_db_error(exc, url)) from None

    # -- the acting user ---------------------------------------------------------------
    def _login_name(self, user: str | None) -> str:
        if self.is_postgres:
            with self.engine.connect() as conn:
                return conn.execute(text("select current_user")).scalar_one()
        return user or os.environ.get("DONOR_LEDGER_USER") or getpass.getuser()

    def _ensure_first_admin(self) -> None:
        """On a new ledger the first user becomes admin (checked again under the writer lock)."""
        with self._sessions() as session:
            if session.execute(select(User.id).limit(1)).first() is not None:
                return
        with self._writer_sessions.begin() as session:
            self._lock(session)
            if session.execute(select(User.id).limit(1)).first() is None:
                now = UnitOfWork(session, Actor(self.user_name, Role.ADMIN)).stamp()
                user = User(name=self.user_name, role=Role.ADMIN.value, created_at=now, created_by=self.user_name)
                session.add(user)
                versions.add(session, user, self.user_name, now)

    @property
    def actor(self) -> Actor:
        with self._sessions() as session:
            role = session.execute(select(User.role).where(User.name == self.user_name)).scalar_one_or_none()
        return Actor(self.user_name, Role(role) if role else None)

    def may(self, act: Act) -> bool:
        return may(self.actor.role, act)

    # -- units of work -----------------------------------------------------------------
    def _lock(self, session: Session) -> None:
        if self.is_postgres:
            session.execute(text("select pg_advisory_xact_lock(:k)"), {"k": WRITER_LOCK_KEY})
        else:
            session.connection()  # emits BEGIN IMMEDIATE

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session that sees one snapshot of the ledger for all its queries
        (SQLite WAL read transaction; REPEATABLE READ on PostgreSQL)."""
        with self._sessions() as session:
            try:
                if self.is_postgres:
                    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                yield session
            except OperationalError as exc:
                raise LedgerError(describe_db_error(exc, self.url)) from None
            finally:
                session.rollback()

    @contextmanager
    def writing(self, act: Act) -> Iterator[UnitOfWork]:
        actor = self.actor
        if not may(actor.role, act):
            who = f"{actor.name} ({actor.role.value})" if actor.role else f"{actor.name} (not a user of this ledger)"
            raise PermissionDenied(f"permission denied: {who} may not {act.value}")
        session = self._writer_sessions()
        try:
            self._lock(session)
            uow = UnitOfWork(session, actor)
            yield uow
            uow.flush()
            session.commit()
            self.commits += 1
        except OperationalError as exc:
            session.rollback()
            raise LedgerError(describe_db_error(exc, self.url)) from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def close(self) -> None:
        self.engine.dispose()


def describe_db_error(exc: SQLAlchemyError, url: str) -> str:
    text_ = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(getattr(exc, "orig", exc)).strip() else type(exc).__name__
    safe = make_url(url).render_as_string(hide_password=True) if "://" in url else url
    if "file is not a database" in text_ or "file is encrypted" in text_:
        return f"database: {safe} is not a donor-ledger ledger (not an SQLite database)"
    if "database is locked" in text_:
        return f"database: {safe} is locked by another writer; try again in a moment"
    if "unable to open database file" in text_:
        return f"database: cannot open {safe} (missing folder or no permission)"
    return f"database: {safe}: {text_}"
