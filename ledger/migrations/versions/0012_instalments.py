"""Instalment schedules of pledges: the ``instalments`` table, posted beside ``schedule`` entries

A schedule re-planned with the donor is a journal entry of kind ``schedule`` (no money lines) with
one row per instalment (its hash covers them: the table has an ``entry_id``, so
``ledger.journal.POSTED_TABLES`` finds it). The rows are append-only like every posted table.
Existing ledgers need no data change: a pledge's ``due_on`` is its one-instalment schedule until a
schedule is posted for it (docs/rules.md#instalments).

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instalments",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("pledge_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["journal_entries.id"]),
        sa.ForeignKeyConstraint(["pledge_id"], ["pledges.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_id", "position"),
    )
    op.create_index("ix_instalments_pledge_id", "instalments", ["pledge_id"])
    if op.get_bind().dialect.name == "postgresql":  # the function of migration 0002
        op.execute("CREATE TRIGGER instalments_append_only BEFORE UPDATE OR DELETE ON instalments "
                   "FOR EACH ROW EXECUTE FUNCTION donor_ledger_append_only()")
        op.execute("CREATE TRIGGER instalments_no_truncate BEFORE TRUNCATE ON instalments "
                   "FOR EACH STATEMENT EXECUTE FUNCTION donor_ledger_append_only()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER instalments_no_{action.lower()} BEFORE {action} ON instalments BEGIN "
                "SELECT RAISE(ABORT, 'posted rows of instalments are append-only: reverse the entry instead'); END"
            )


def downgrade() -> None:
    raise NotImplementedError("a ledger is never downgraded")
