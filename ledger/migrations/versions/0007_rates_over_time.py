"""Rates over time: every version of a rate is kept; money events store the rate they used

A rate is no longer unique per (currency, effective_from): a correction is a new row with its
reason, recorded at `entered_at`, and supersedes the earlier value from that moment on; nothing
is deleted (the append-only triggers of 0004 stay). Receipts and disbursements gain a nullable
`rate_micros`, hashed with their entry; the rows posted before it have none, so their entries
still verify (docs/rules.md#exchange-rates).

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

APPEND_ONLY = "posted rows of rates are append-only: add a rate from a later date instead"


def upgrade() -> None:
    # adding a nullable column rewrites no row: the append-only triggers do not fire
    op.add_column("receipts", sa.Column("rate_micros", sa.BigInteger(), nullable=True))
    op.add_column("disbursements", sa.Column("rate_micros", sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("rates_currency_effective_from_key", "rates", type_="unique")
        op.add_column("rates", sa.Column("reason", sa.Text(), nullable=True))
    else:
        # SQLite rebuilds the table (its unique constraint has no name); the rebuild drops the
        # table's triggers (dropping a table fires none), so they are created again after it
        with op.batch_alter_table(
            "rates", recreate="always",
            naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s_%(column_1_name)s"},
        ) as batch:
            batch.drop_constraint("uq_rates_currency_effective_from", type_="unique")
            batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        for action in ("UPDATE", "DELETE"):
            op.execute(f"DROP TRIGGER IF EXISTS rates_no_{action.lower()}")
            op.execute(f"CREATE TRIGGER rates_no_{action.lower()} BEFORE {action} ON rates BEGIN "
                       f"SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")
    op.create_index("ix_rates_currency_effective_from", "rates", ["currency", "effective_from"])


def downgrade() -> None:
    raise NotImplementedError("a ledger is never downgraded")
