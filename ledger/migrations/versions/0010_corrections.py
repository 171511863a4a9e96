"""Corrections: references unique among unreversed events; an entry names the reversed entry it corrects

A reversed event's reference may be used again by its correction (docs/rules.md#corrections),
so pledges, receipts and disbursements lose their unique reference (an index stays; the rule
is ``ledger.events.claim_reference``), and journal entries gain ``corrects_id`` (format 3
hashes it: docs/architecture.md "The hash of an entry").

SQLite drops a unique constraint by rebuilding the table (``ledger.migrate.upgrade`` runs
migrations with foreign keys off and checks them before committing); the append-only triggers
go with the old table and are created again on the new one.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

REFERENCED = ("pledges", "receipts", "disbursements")


def upgrade() -> None:
    bind = op.get_bind()
    # a nullable column without a default rewrites no row: the append-only triggers do not fire
    op.execute("ALTER TABLE journal_entries ADD COLUMN corrects_id INTEGER REFERENCES journal_entries (id)")
    op.create_index("ix_journal_entries_corrects_id", "journal_entries", ["corrects_id"], unique=True)
    for table in REFERENCED:
        if bind.dialect.name == "postgresql":
            unique = next(c["name"] for c in sa.inspect(bind).get_unique_constraints(table)
                          if c["column_names"] == ["reference"])
            op.drop_constraint(unique, table, type_="unique")
            op.create_index(f"ix_{table}_reference", table, ["reference"])
            continue
        with op.batch_alter_table(table, recreate="always",
                                  naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s"}) as batch:
            batch.drop_constraint(f"uq_{table}_reference", type_="unique")
            batch.create_index(f"ix_{table}_reference", ["reference"])
        for action in ("UPDATE", "DELETE"):  # as migration 0002 made them
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} BEGIN "
                f"SELECT RAISE(ABORT, 'posted rows of {table} are append-only: reverse the entry instead'); END"
            )


def downgrade() -> None:
    raise NotImplementedError("a ledger is never downgraded")
