"""Activities, donors and users keep every version (who, when, why)

Three append-only tables of versions (docs/rules.md#reference-data-versions). Each row of
activities, donors and users gets its first version now, holding its values at the upgrade,
stamped with the moment the row was first recorded (its first audit-trail record; a user's
created_at) so that reports as recorded at an earlier moment still count it; the audit-trail
rows written before stay as they are and are shown before the versions.

Revision ID: 0009
Revises: 0008
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Key = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")
VERSIONS = ("activity_versions", "donor_versions", "user_versions")
MESSAGE = "versions of reference data are append-only: record a new version instead"
UPGRADED = "the values when the ledger began keeping versions (earlier changes: the audit trail)"


def _stamp_columns() -> list[sa.Column]:
    return [
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("user_name", Key, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    ]


def _create_tables() -> None:
    op.create_table(
        "activity_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("paragraph_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("budget_cents", sa.BigInteger(), nullable=False),
        sa.Column("planned_start", sa.Date(), nullable=True),
        sa.Column("planned_end", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress_pct", sa.Integer(), nullable=False),
        *_stamp_columns(),
        sa.ForeignKeyConstraint(["activity_id"], ["activities.id"]),
        sa.ForeignKeyConstraint(["paragraph_id"], ["paragraphs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("activity_id", "version"),
    )
    with op.batch_alter_table("activity_versions") as batch_op:
        batch_op.create_index(batch_op.f("ix_activity_versions_recorded_at"), ["recorded_at"], unique=False)
    op.create_table(
        "donor_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("donor_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        *_stamp_columns(),
        sa.ForeignKeyConstraint(["donor_id"], ["donors.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("donor_id", "version"),
    )
    op.create_table(
        "user_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        *_stamp_columns(),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "version"),
    )


def _first_audit(table: str, column: str, key: str) -> str:
    return (f"(SELECT t.{column} FROM audit_trail t WHERE t.table_name = '{table}' AND t.record_key = {key} "
            f"ORDER BY t.id LIMIT 1)")


def _backfill() -> None:
    values = {"now": dt.datetime.now(dt.UTC).replace(tzinfo=None), "who": "(before versions)", "why": UPGRADED}
    op.get_bind().execute(sa.text(
        "INSERT INTO activity_versions (activity_id, version, paragraph_id, title, budget_cents, planned_start, "
        "planned_end, status, progress_pct, recorded_at, user_name, reason) "
        "SELECT a.id, 1, a.paragraph_id, a.title, a.budget_cents, a.planned_start, a.planned_end, a.status, "
        f"a.progress_pct, COALESCE({_first_audit('activities', 'at', 'a.code')}, :now), "
        f"COALESCE({_first_audit('activities', 'user_name', 'a.code')}, :who), :why FROM activities a"
    ), values)
    op.get_bind().execute(sa.text(
        "INSERT INTO donor_versions (donor_id, version, name, kind, country, currency, recorded_at, user_name, reason) "
        f"SELECT d.id, 1, d.name, d.kind, d.country, d.currency, COALESCE({_first_audit('donors', 'at', 'd.code')}, "
        f":now), COALESCE({_first_audit('donors', 'user_name', 'd.code')}, :who), :why FROM donors d"
    ), values)
    op.get_bind().execute(sa.text(
        "INSERT INTO user_versions (user_id, version, role, recorded_at, user_name, reason) "
        "SELECT u.id, 1, u.role, u.created_at, u.created_by, :why FROM users u"
    ), values)


def _append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""CREATE FUNCTION donor_ledger_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                       BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$""")
        for table in VERSIONS:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION donor_ledger_versions_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION donor_ledger_versions_append_only()")
    else:
        for table in VERSIONS:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} BEGIN "
                           f"SELECT RAISE(ABORT, '{MESSAGE}'); END")


def upgrade() -> None:
    _create_tables()
    _backfill()
    _append_only()


def downgrade() -> None:
    raise NotImplementedError("a ledger is never downgraded")
