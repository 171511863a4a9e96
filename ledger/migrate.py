"""Schema migrations (Alembic), applied whenever a ledger is opened."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import Engine, inspect, text

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest revision, so that opening a current ledger needs no Alembic import.
# tests/test_migrations.py checks it against Alembic's own head: update it with each migration.
HEAD = "0015"


def _config(connection=None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("select version_num from alembic_version")).scalar()


def _refuse_foreign_database(engine: Engine) -> None:
    """A database that holds tables but no ledger schema belongs to another program: never
    add the ledger's tables to it."""
    with engine.connect() as conn:
        inspector = inspect(conn)
        if inspector.has_table("alembic_version"):
            return
        tables = sorted(inspector.get_table_names())
    if tables:
        from .errors import LedgerError

        where = engine.url.render_as_string(hide_password=True)
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise LedgerError(f"database: {where} is not a donor-ledger ledger (it holds other tables: {shown})")


def upgrade(engine: Engine, target: str = "head") -> bool:
    """Create or upgrade the schema to the newest revision (or ``target``) and seed the mandate.

    Returns True when anything was done. Cheap when the ledger is already current.
    """
    if current_revision(engine) == (HEAD if target == "head" else target):
        return False
    _refuse_foreign_database(engine)
    from alembic import command

    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        if sqlite:  # a migration may rebuild a table that other rows name (SQLite's way to drop a constraint)
            raw.execute("PRAGMA foreign_keys = OFF")  # before BEGIN: inside a transaction it does nothing
        try:
            with conn.begin():
                if not sqlite:  # two first openers must not both create tables
                    conn.execute(text("select pg_advisory_xact_lock(20110701)"))
                command.upgrade(_config(conn), target)
                if sqlite and (broken := conn.exec_driver_sql("PRAGMA foreign_key_check").first()):
                    raise RuntimeError(f"migration left a row of {broken[0]} naming a missing row of {broken[2]}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys = ON")
    return True
