"""Make the mandate and its operative paragraphs unchangeable once seeded

Every report groups its figures by paragraph number. The resolution's paragraphs are seeded by
0002 and never edited by the application; the database now refuses an UPDATE or DELETE of them
too, so that no row of the funding report can be relabelled (paragraph 1's money shown as
paragraph 4's) without a trigger being dropped first.

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("mandates", "paragraphs")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """CREATE FUNCTION donor_ledger_mandate_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN RAISE EXCEPTION 'the mandate and its paragraphs (%) are fixed once seeded', TG_TABLE_NAME;
               END $$"""
        )
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_fixed BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION donor_ledger_mandate_fixed()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION donor_ledger_mandate_fixed()")
    else:
        for table in TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} BEGIN "
                           f"SELECT RAISE(ABORT, 'the mandate and its paragraphs ({table}) are fixed once seeded'); END")


def downgrade() -> None:
    raise NotImplementedError("a ledger is never downgraded")
