"""Donors' IATI organisation identifiers

A nullable `iati_ref` on donors and on their versions (docs/rules.md#donors):
adding a nullable column rewrites no row, so the append-only triggers of donor_versions stay and
do not fire; the donors recorded before have no identifier until one is given.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("donors", sa.Column("iati_ref", sa.String(length=100), nullable=True))
    op.add_column("donor_versions", sa.Column("iati_ref", sa.String(length=100), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("a ledger is never downgraded")
