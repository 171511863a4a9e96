"""Reallocations, refunds and closed pledges

Three posted tables (each row names its journal entry, so the hash chain covers it and
``journal.POSTED_TABLES`` finds it): ``reallocations``, ``refunds`` and ``pledge_closings``,
append-only like the other posted rows (migration 0002). Allocations gain a nullable
``entry_id``: the reallocation that created an allocation the pledge did not have (an
allocation recorded with its pledge keeps NULL, so the entries written before it still verify).
A nullable column without a default rewrites no row: the append-only triggers do not fire.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = ("reallocations", "refunds", "pledge_closings")


def _id(name: str, target: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey(f"{target}.id"), nullable=nullable)


def upgrade() -> None:
    op.execute("ALTER TABLE allocations ADD COLUMN entry_id INTEGER REFERENCES journal_entries (id)")
    op.create_table(
        "reallocations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        _id("pledge_id", "pledges"),
        _id("from_allocation_id", "allocations"),
        _id("to_allocation_id", "allocations"),
        sa.Column("reallocated_on", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("from_usd_cents", sa.BigInteger(), nullable=False),
        sa.Column("to_usd_cents", sa.BigInteger(), nullable=False),
        sa.Column("consent", sa.Text(), nullable=False),
        _id("entry_id", "journal_entries"),
    )
    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        _id("pledge_id", "pledges"),
        _id("allocation_id", "allocations", nullable=True),
        sa.Column("refunded_on", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("usd_cents", sa.BigInteger(), nullable=False),
        sa.Column("usd_given", sa.Boolean(), nullable=False),
        sa.Column("rate_micros", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _id("entry_id", "journal_entries"),
    )
    op.create_table(
        "pledge_closings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        _id("pledge_id", "pledges"),
        sa.Column("closed_on", sa.Date(), nullable=False),
        _id("entry_id", "journal_entries"),
    )
    for table in TABLES:
        op.create_index(f"ix_{table}_pledge_id", table, ["pledge_id"])
    if op.get_bind().dialect.name == "postgresql":  # the function of migration 0002
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION donor_ledger_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION donor_ledger_append_only()")
        return
    for table in TABLES:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} BEGIN "
                f"SELECT RAISE(ABORT, 'posted rows of {table} are append-only: reverse the entry instead'); END"
            )


def downgrade() -> None:
    raise NotImplementedError("a ledger is never downgraded")
