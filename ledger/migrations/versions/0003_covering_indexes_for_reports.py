"""Covering indexes on journal lines for the report sums

The funding report sums every journal line per allocation (account, flow, USD cents, minor
units) and the expenditure per activity. With these columns in the indexes the sums read
the indexes alone, in allocation order, never the table. They replace the narrower indexes
of the same names (same leading columns), so writes maintain no more indexes than before.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_journal_lines_allocation", table_name="journal_lines")
    op.create_index("ix_journal_lines_allocation", "journal_lines",
                    ["allocation_id", "account", "flow", "usd_cents", "amount_minor"])
    op.drop_index("ix_journal_lines_activity", table_name="journal_lines")
    op.create_index("ix_journal_lines_activity", "journal_lines", ["activity_id", "account", "usd_cents"])


def downgrade() -> None:
    raise NotImplementedError("a ledger is never downgraded")
