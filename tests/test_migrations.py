"""The migrations build exactly the schema of the models, and HEAD names the newest one."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ledger.migrate import HEAD, current_revision, head_revision
from ledger.schema import Base


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
