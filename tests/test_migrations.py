"""The migrations build exactly the schema of the models, and HEAD names the newest one."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ledger.migrate import HEAD, current_revision, head_revision
from ledger.schema import Base
from tests.conftest import BACKENDS


def test_head_constant_is_alembics_head():
    assert HEAD == head_revision(), "update ledger.migrate.HEAD to the newest revision"


def test_migrated_schema_matches_the_models(ledger):
    assert current_revision(ledger.engine) == HEAD
    with ledger.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_opening_again_changes_nothing(ledger):
    from ledger.migrate import upgrade

    assert upgrade(ledger.engine) is False


def _filled(table, given: dict) -> dict:
    """A row of ``table`` as reflected: the values given, every other required column a plain value."""
    import datetime as dt

    import sqlalchemy as sa

    row = dict(given)
    for column in table.columns:
        if column.name in row or column.nullable or column.server_default is not None:
            continue
        kind = column.type
        row[column.name] = (dt.date(2020, 1, 1) if isinstance(kind, sa.Date) else
                            dt.datetime(2020, 1, 1) if isinstance(kind, sa.DateTime) else
                            False if isinstance(kind, sa.Boolean) else
                            1 if isinstance(kind, sa.Integer) else "x")
    return row


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_0010_keeps_the_rows_and_frees_references_of_a_ledger_with_data(request, tmp_path, backend):
    """On a ledger with posted rows (SQLite rebuilds the tables, PostgreSQL drops the constraint):
    the rows stay, the append-only triggers still refuse changes, and a reference may be stored twice."""
    import sqlalchemy as sa

    from ledger.database import make_engine
    from ledger.migrate import upgrade

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        url = request.getfixturevalue("pg_server").new_database(empty=True)
    engine = make_engine(url)
    upgrade(engine, "0009")
    meta = sa.MetaData()
    meta.reflect(engine)
    t = meta.tables
    with engine.begin() as conn:
        conn.execute(t["donors"].insert(), _filled(t["donors"], {"id": 1, "code": "AAA"}))
        for eid in (1, 2):
            conn.execute(t["journal_entries"].insert(), _filled(t["journal_entries"], {
                "id": eid, "kind": "pledge", "reference": "P", "hash": f"{eid:064d}", "prev_hash": "0" * 64}))
        conn.execute(t["pledges"].insert(), _filled(t["pledges"], {"id": 1, "reference": "P", "donor_id": 1, "entry_id": 1}))
        conn.execute(t["allocations"].insert(), _filled(t["allocations"], {"id": 1, "pledge_id": 1, "position": 1,
                                                                            "paragraph_id": None}))
        conn.execute(t["receipts"].insert(), _filled(t["receipts"], {"id": 1, "reference": "R", "pledge_id": 1,
                                                                      "entry_id": 2}))
    assert upgrade(engine) is True
    with engine.begin() as conn:
        assert conn.execute(sa.text("select reference from pledges")).scalars().all() == ["P"]
        assert conn.execute(sa.text("select pledge_id from allocations")).scalars().all() == [1]
        conn.execute(t["pledges"].insert(), _filled(t["pledges"], {"id": 2, "reference": "P", "donor_id": 1,
                                                                    "entry_id": 2}))
    for table in ("pledges", "receipts"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(f"update {table} set reference = 'Z'"))
    engine.dispose()
