"""An index of the period close and reopen entries

A writer reads the closes in force before it posts anything dated (docs/rules.md#closed-periods);
without an index that is a scan of every journal entry, once per act. The index is partial: it
holds only the close and reopen entries, so posting any other entry does not touch it.

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

PERIOD_ENTRIES = sa.text("kind IN ('period-close', 'period-reopen')")  # as ledger/schema.py has it


def upgrade() -> None:
    op.create_index("ix_journal_entries_periods", "journal_entries", ["id"],
                    postgresql_where=PERIOD_ENTRIES, sqlite_where=PERIOD_ENTRIES)


def downgrade() -> None:
    raise NotImplementedError("a ledger is never downgraded")
