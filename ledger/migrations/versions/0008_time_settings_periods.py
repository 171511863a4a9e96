"""Time: stamps, settings, closed periods

Stamps bound the next stamp by the latest stored one: journal_entries.posted_at gets an index so
that the latest is found without reading the journal. Ledger settings get a versioned,
append-only table (docs/rules.md#ledger-settings). Closed periods are journal entries (no table).

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

MESSAGE = "versions of settings are append-only: set a new value instead"


def upgrade() -> None:
    op.create_index("ix_journal_entries_posted_at", "journal_entries", ["posted_at"])
    op.create_table(
        "settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("user_name", sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
                  nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_settings_name_recorded_at", "settings", ["name", "recorded_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""CREATE FUNCTION donor_ledger_settings_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                       BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$""")
        op.execute("CREATE TRIGGER settings_append_only BEFORE UPDATE OR DELETE ON settings "
                   "FOR EACH ROW EXECUTE FUNCTION donor_ledger_settings_append_only()")
        op.execute("CREATE TRIGGER settings_no_truncate BEFORE TRUNCATE ON settings "
                   "FOR EACH STATEMENT EXECUTE FUNCTION donor_ledger_settings_append_only()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER settings_no_{action.lower()} BEFORE {action} ON settings BEGIN "
                       f"SELECT RAISE(ABORT, '{MESSAGE}'); END")


def downgrade() -> None:
    raise NotImplementedError("a ledger is never downgraded")
