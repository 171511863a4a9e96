"""Time: stamps, settings, closed periods (placeholder: filled by the change that needs it)

Revision ID: 0008
Revises: 0007
"""

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    raise NotImplementedError("a ledger is never downgraded")
