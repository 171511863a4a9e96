"""Pledge stages: announced and signed pledges, signing and withdrawal

A pledge posted as an announcement records the stage it was recorded in (``stage``: "announced", or
"signed" with its signing date ``signed_on`` after its pledge date); a pledge signed on its date
leaves both NULL, like every pledge recorded before (its hash is unchanged). Signings
and withdrawals of announced pledges are posted rows of their own (``signings``, ``withdrawals``),
append-only like the others; their ``entry_id`` puts them in the hash of their entry
(docs/architecture.md "The hash of an entry"). docs/rules.md#pledge-stages

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

NEW_TABLES = ("signings", "withdrawals")


def upgrade() -> None:
    # nullable columns without a default rewrite no row: the append-only triggers do not fire
    op.execute("ALTER TABLE pledges ADD COLUMN stage VARCHAR(10)")
    op.execute("ALTER TABLE pledges ADD COLUMN signed_on DATE")
    op.create_table(
        "signings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("pledge_id", sa.Integer, sa.ForeignKey("pledges.id"), nullable=False),
        sa.Column("signed_on", sa.Date, nullable=False),
        sa.Column("rate_micros", sa.BigInteger, nullable=False),
        sa.Column("agreement", sa.Text, nullable=False),
        sa.Column("entry_id", sa.Integer, sa.ForeignKey("journal_entries.id"), nullable=False),
    )
    op.create_index("ix_signings_pledge_id", "signings", ["pledge_id"])
    op.create_table(
        "withdrawals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("pledge_id", sa.Integer, sa.ForeignKey("pledges.id"), nullable=False),
        sa.Column("withdrawn_on", sa.Date, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("entry_id", sa.Integer, sa.ForeignKey("journal_entries.id"), nullable=False),
    )
    op.create_index("ix_withdrawals_pledge_id", "withdrawals", ["pledge_id"])
    for table in NEW_TABLES:  # as migration 0002 made them for the other posted tables
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION donor_ledger_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION donor_ledger_append_only()")
            continue
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} BEGIN "
                f"SELECT RAISE(ABORT, 'posted rows of {table} are append-only: reverse the entry instead'); END"
            )


def downgrade() -> None:
    raise NotImplementedError("a ledger is never downgraded")
