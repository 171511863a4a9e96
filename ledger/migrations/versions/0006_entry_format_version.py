"""Journal entries carry the format version of their hash

Format 2 (the entries posted from now on) also hashes every row posted with the entry: the
pledge and its allocations, the receipt, the cancellation, the disbursement. The entries
already written are format 1 and verify as before (docs/architecture.md "The hash of an entry").

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # adding a column with a default rewrites no row: the append-only triggers do not fire
    op.add_column("journal_entries", sa.Column("format_version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    raise NotImplementedError("a ledger is never downgraded")
