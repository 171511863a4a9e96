"""Make exchange rates append-only, like the posted money rows

A rate is identified by (currency, effective_from) and is never changed or removed (a
different value for a stored rate is refused, docs/rules.md#exchange-rates); the
database now refuses it too, so that no value on the reports, the outstanding pledges valued
at the as-of rate included, can move without a trigger being dropped first.

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """CREATE FUNCTION donor_ledger_rates_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN RAISE EXCEPTION 'posted rows of rates are append-only: add a rate from a later date instead';
               END $$"""
        )
        op.execute("CREATE TRIGGER rates_append_only BEFORE UPDATE OR DELETE ON rates "
                   "FOR EACH ROW EXECUTE FUNCTION donor_ledger_rates_append_only()")
        op.execute("CREATE TRIGGER rates_no_truncate BEFORE TRUNCATE ON rates "
                   "FOR EACH STATEMENT EXECUTE FUNCTION donor_ledger_rates_append_only()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER rates_no_{action.lower()} BEFORE {action} ON rates BEGIN "
                       "SELECT RAISE(ABORT, 'posted rows of rates are append-only: add a rate from a later date instead'); END")


def downgrade() -> None:
    raise NotImplementedError("a ledger is never downgraded")
