"""Versions of activities, donors and users (who, when, why), budget control, and the funding
report as recorded at a moment (docs/rules.md#activities, docs/rules.md#reference-data-versions).
Ledger tests run on SQLite and PostgreSQL; amounts in comments are in USD."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from ledger import queries, services
from ledger.database import Ledger, make_engine
from ledger.errors import PermissionDenied
from ledger.inputs import ActivityUpdate, UserIn
from ledger.migrate import upgrade
from ledger.schema import ActivityVersion, JournalEntry
from ledger.versions import Change
from reports.funding import funding_report
from tests.builders import (
    activity,
    disburse,
    donor,
    invoke_cli,
    pledge,
    receipt,
    refused,
    reverse,
    table_counts,
)
from tests.test_roles import acting  # noqa: F401  (the fixture: a ledger acting as a user of a role)


@pytest.fixture
def spent(ledger):
    """A1 (¶1, budget 350,000.00, ongoing) has spent 167,476.00 of a received 1,000,000.00."""
    donor(ledger, "AAA")
    activity(ledger, "A1", 1, "350000", status="ongoing", progress=40)
    pledge(ledger, "P", "AAA", "2020-01-10", "USD", {1: "1000000"})
    receipt(ledger, "R1", "P", "2020-01-20", "1000000")
    disburse(ledger, "D1", "A1", "2020-02-01", "167476")
    return ledger


def update(ledger, **fields) -> str:
    return services.update_activity(ledger, ActivityUpdate(code="A1", **fields))


# -- budget control ----------------------------------------------------------------------------


def test_a_disbursement_above_the_budget_is_refused_naming_budget_spent_amount_and_excess(spent):
    before = table_counts(spent)
    # 167,476.00 + 350,000.00 = 517,476.00: 167,476.00 above the budget of 350,000.00 (148%)
    assert refused(disburse, spent, "D2", "A1", "2020-03-01", "350000") == (
        "amount: over the budget of activity A1: budget USD 350,000.00, spent USD 167,476.00, "
        "this disbursement USD 350,000.00, excess USD 167,476.00")
    assert table_counts(spent) == before
    disburse(spent, "D2", "A1", "2020-03-01", "182524")  # 350,000.00 exactly: the whole budget
    assert refused(disburse, spent, "D3", "A1", "2020-03-02", "0.01") == (
        "amount: over the budget of activity A1: budget USD 350,000.00, spent USD 350,000.00, "
        "this disbursement USD 0.01, excess USD 0.01")


def test_spending_counts_every_date_and_nets_reversals(spent):
    # a disbursement dated before D1 still counts D1's spending (any date) ...
    assert refused(disburse, spent, "D0", "A1", "2020-01-25", "182524.01").endswith("excess USD 0.01")
    # ... and a reversed one no longer does: 350,000.00 - 0 is free again
    reverse(spent, 3, "2020-02-01")  # D1 (entries: 1 the pledge, 2 the receipt, 3 D1)
    disburse(spent, "D2", "A1", "2020-03-01", "350000")


def test_a_completed_or_cancelled_activity_takes_no_disbursement_until_reopened(spent):
    before = table_counts(spent)
    for status in ("completed", "cancelled"):
        update(spent, status=status)
        assert refused(disburse, spent, "D2", "A1", "2020-03-01", "100") == (
            f"activity: activity A1 is {status}: it takes no new disbursement (reopen it as ongoing first)")
    assert table_counts(spent)["journal_entries"] == before["journal_entries"]
    update(spent, status="ongoing")
    disburse(spent, "D2", "A1", "2020-03-01", "100")


def test_a_budget_revision_needs_a_reason_and_never_goes_below_what_is_spent(spent):
    before = table_counts(spent)
    assert refused(update, spent, budget_usd="400000") == (
        "reason: a revision of the budget of activity A1 (from USD 350,000.00 to USD 400,000.00) needs a reason")
    assert refused(update, spent, budget_usd="167475.99", reason="cut") == (
        "budget_usd: activity A1 has spent USD 167,476.00: its budget cannot be revised to USD 167,475.99, "
        "below what is spent")
    assert table_counts(spent) == before
    assert update(spent, budget_usd="167476", reason="closing the activity at what it spent") == "updated"
    assert update(spent, budget_usd="167476.00", reason="same again") == "unchanged"
    last = queries.history(spent, "activities", "A1")[-1]
    assert (last.version, last.reason, last.changes) == (
        2, "closing the activity at what it spent", (Change("budget_usd", "350000.00", "167476.00"),))


def test_finance_may_not_revise_a_budget(spent, acting):  # noqa: F811
    finance, _url, name = acting("finance")
    assert refused(services.update_activity, finance, ActivityUpdate(code="A1", budget_usd="400000", reason="x")) == (
        f"permission denied: {name} (finance) may not update activities")
    with pytest.raises(PermissionDenied):
        services.update_activity(finance, ActivityUpdate(code="A1", progress_pct=50))
    assert len(queries.history(spent, "activities", "A1")) == 1


def test_a_programme_lead_revises_a_budget_on_the_command_line(spent, db_url, acting):  # noqa: F811
    _lead, url, name = acting("programme")
    code, _out, err = invoke_cli("--db", url, "--user", name, "activity", "update", "A1", "--budget", "400000")
    assert (code, err.strip()) == (
        1, "error: reason: a revision of the budget of activity A1 (from USD 350,000.00 to USD 400,000.00) needs a reason")
    code, out, err = invoke_cli("--db", url, "--user", name, "activity", "update", "A1", "--budget", "400,000",
                                "--progress", "55", "--reason", "second phase approved")
    assert (code, out.strip(), err) == (0, "activity A1: updated", "")
    last = queries.history(spent, "activities", "A1")[-1]
    assert (last.version, last.user, last.reason, last.changes) == (
        2, name, "second phase approved",
        (Change("budget_usd", "350000.00", "400000.00"), Change("progress_pct", "40", "55")))
    disburse(spent, "D2", "A1", "2020-03-01", "232524")  # 167,476.00 + 232,524.00 = the new 400,000.00


# -- versions ----------------------------------------------------------------------------------


def test_users_keep_their_versions(ledger):
    services.add_user(ledger, UserIn(name="kim", role="programme"))
    services.add_user(ledger, UserIn(name="kim", role="finance"))
    versions = queries.history(ledger, "users", "kim")
    assert [(v.version, v.user, v.changes) for v in versions] == [
        (1, ledger.actor.name, (Change("role", None, "programme"),)),
        (2, ledger.actor.name, (Change("role", "programme", "finance"),)),
    ]
    first = queries.history(ledger, "users", ledger.actor.name)  # the first admin, added on opening
    assert [(v.version, v.changes) for v in first] == [(1, (Change("role", None, "admin"),))]


def test_versions_are_append_only_in_the_database(spent):
    for statement in ("UPDATE activity_versions SET budget_cents = 1", "DELETE FROM donor_versions",
                      "UPDATE user_versions SET role = 'admin'"):
        with pytest.raises(DBAPIError, match="append-only"), spent.engine.begin() as conn:
            conn.execute(text(statement))
    with spent.reading() as session:
        assert session.execute(select(ActivityVersion.budget_cents)).scalars().all() == [35_000_000]


def test_the_migration_gives_every_existing_row_its_first_version(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade(engine, "0008")  # a ledger from before versions, with data and its audit trail
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (name, role, created_at, created_by) "
                          "VALUES ('officer', 'admin', '2020-01-01 09:00:00', 'officer')"))
        conn.execute(text("INSERT INTO donors (code, name, kind) VALUES ('AAA', 'Alpha', 'member-state')"))
        conn.execute(text("INSERT INTO activities (code, paragraph_id, title, budget_cents, status, progress_pct) "
                          "VALUES ('A1', 1, 'Training', 500000, 'ongoing', 40)"))
        conn.execute(text(
            "INSERT INTO audit_trail (at, user_name, table_name, record_key, field, old_value, new_value) VALUES "
            "('2020-01-02 10:00:00', 'officer', 'activities', 'A1', '*', NULL, 'created'), "
            "('2020-01-03 10:00:00', 'officer', 'activities', 'A1', 'progress_pct', '0', '40')"))
    upgrade(engine)
    engine.dispose()
    ledger = Ledger(url, user="officer")
    versions = queries.history(ledger, "activities", "A1")
    donor_versions = queries.history(ledger, "donors", "AAA")
    with ledger.reading() as session:
        rows = funding_report(session, dt.date(2020, 12, 31), dt.datetime(2020, 1, 2, 10, 0)).rows
    ledger.close()
    # the old audit trail first (version –), then version 1 stamped when the activity was created
    assert [(v.version, v.at, v.changes[0]) for v in versions] == [
        (None, dt.datetime(2020, 1, 2, 10), Change("*", None, "created")),
        (None, dt.datetime(2020, 1, 3, 10), Change("progress_pct", "0", "40")),
        (1, dt.datetime(2020, 1, 2, 10), Change("paragraph", None, "1")),
    ]
    assert versions[-1].user == "officer" and versions[-1].reason.startswith("the values when the ledger began")
    assert [(v.version, v.user) for v in donor_versions] == [(1, "(before versions)")]  # no audit record of it
    assert rows[0].requirement == 500000  # counted as recorded from its creation on


# -- the funding report as recorded at a moment ------------------------------------------------


def test_a_report_as_recorded_at_an_earlier_moment_keeps_the_old_requirement_and_progress(spent):
    ledger = spent
    with ledger.reading() as session:  # after D1, the last posting
        moment = session.execute(select(func.max(JournalEntry.posted_at))).scalar_one()
    as_of = dt.date(2020, 12, 31)
    with ledger.reading() as session:
        before = funding_report(session, as_of)
    update(ledger, budget_usd="500000", progress_pct=80, reason="second phase")
    activity(ledger, "A2", 1, "100000", status="completed", progress=100)
    update(ledger, status="completed")
    with ledger.reading() as session:
        then = funding_report(session, as_of, recorded_at=moment)
        now = funding_report(session, as_of)
    old, new = then.rows[0], now.rows[0]
    # then: A1 alone, 350,000.00 at 40% -> progress 40.0%, 0 of 1 completed
    assert (old.requirement, str(old.progress_pct), old.activities_total, old.activities_completed) == (
        35_000_000, "40.0", 1, 0)
    assert [(r.requirement, r.progress_pct, r.activities_total) for r in then.rows] == [
        (r.requirement, r.progress_pct, r.activities_total) for r in before.rows]
    # now: 500,000.00 at 80% and 100,000.00 at 100% -> (400,000 + 100,000) / 600,000 = 83.3%
    assert (new.requirement, str(new.progress_pct), new.activities_total, new.activities_completed) == (
        60_000_000, "83.3", 2, 2)
    # the money is the same: only reference data changed after the moment
    assert (old.spent_on_activities, old.received) == (new.spent_on_activities, new.received) == (16_747_600, 100_000_000)
