"""Seed resolution 20/7 and make posted money rows append-only

Revision ID: 0002
Revises: 0001
"""
import json
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = ("journal_entries", "journal_lines", "pledges", "allocations", "cancellations", "receipts", "disbursements")
MANDATE_FILE = Path(__file__).resolve().parents[2] / "data" / "resolution-20-7.json"


def upgrade() -> None:
    mandate = json.loads(MANDATE_FILE.read_text(encoding="utf-8"))
    conn = op.get_bind()
    mandates = sa.table("mandates", sa.column("id"), sa.column("code"), sa.column("title"))
    paragraphs = sa.table(
        "paragraphs", sa.column("mandate_id"), sa.column("number"), sa.column("short_title"), sa.column("text")
    )
    conn.execute(mandates.insert().values(id=1, code=mandate["code"], title=mandate["title"]))
    conn.execute(
        paragraphs.insert(),
        [{"mandate_id": 1, "number": p["number"], "short_title": p["short_title"], "text": p["text"]}
         for p in mandate["paragraphs"]],
    )
    if conn.dialect.name == "postgresql":
        op.execute(
            """CREATE FUNCTION donor_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN RAISE EXCEPTION 'posted rows of % are append-only: reverse the entry instead', TG_TABLE_NAME;
               END $$"""
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION donor_ledger_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION donor_ledger_append_only()"
            )
    else:
        for table in APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} BEGIN "
                    f"SELECT RAISE(ABORT, 'posted rows of {table} are append-only: reverse the entry instead'); END"
                )


def downgrade() -> None:
    raise NotImplementedError("a ledger is never downgraded")
