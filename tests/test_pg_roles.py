"""On PostgreSQL the database itself refuses what a role may not do (issue 6 items 4 and 5)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from ledger import services
from ledger.database import Ledger
from ledger.errors import PermissionDenied
from ledger.inputs import ActivityIn, DonorIn, PledgeIn, UserIn
from ledger.pg_roles import grant_roles


@pytest.fixture
def roles_ledger(pg_server):
    database = pg_server.new_database()
    url = make_url(database)
    suffix = uuid.uuid4().hex[:6]
    logins = {role: f"{role}_{suffix}" for role in ("finance", "programme", "auditor")}
    with pg_server.admin.connect() as conn:
        for login in logins.values():
            conn.execute(text(f"CREATE ROLE {login} LOGIN PASSWORD 'pw'"))
    owner = Ledger(url.render_as_string(hide_password=False))  # the postgres login: first user, admin
    for role, login in logins.items():
        services.add_user(owner, UserIn(name=login, role=role))
    with owner.engine.begin() as conn:
        granted = grant_roles(conn)
    assert sorted(login for login, _ in granted) == sorted([*logins.values(), "postgres"])
    owner.close()

    def url_for(role: str) -> str:
        return url.set(username=logins[role], password="pw").render_as_string(hide_password=False)

    yield url_for
    pg_server.drop(url.database)
    with pg_server.admin.connect() as conn:
        for login in logins.values():
            conn.execute(text(f"DROP ROLE IF EXISTS {login}"))


def refused(engine, sql: str) -> str:
    with pytest.raises(DBAPIError) as error, engine.begin() as conn:
        conn.execute(text(sql))
    return str(error.value.orig)


def test_auditor_login_reads_but_the_database_refuses_its_writes(roles_ledger):
    engine = create_engine(roles_ledger("auditor"))
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from paragraphs")).scalar() == 7
    assert "permission denied for table donors" in refused(engine, "insert into donors (code, name, kind) values ('X', 'X', 'other')")
    assert "permission denied for table activities" in refused(engine, "update activities set progress_pct = 1")
    engine.dispose()
    app = Ledger(roles_ledger("auditor"))
    assert app.actor.role == "auditor"
    with pytest.raises(PermissionDenied, match="may not manage donors"):
        services.save_donor(app, DonorIn(code="NOR", name="Norway"))
    app.close()


def test_finance_login_posts_money_but_cannot_change_posted_rows(roles_ledger):
    app = Ledger(roles_ledger("finance"))
    services.save_donor(app, DonorIn(code="USA", name="United States"))
    posted = services.record_pledge(app, PledgeIn(reference="P1", donor="USA", pledged_on="2020-01-01", currency="USD",
                                                  allocations=[{"paragraph": 1, "amount": "100"}]))
    assert posted.usd_cents == 10_000
    assert services.verify_chain(app).ok
    with pytest.raises(PermissionDenied, match="may not update activities"):
        services.save_activity(app, ActivityIn(code="A1", paragraph=1, title="t", budget_usd="1"))
    app.close()
    engine = create_engine(roles_ledger("finance"))
    for statement in ("update journal_lines set usd_cents = 0", "delete from journal_entries", "truncate pledges",
                      "update pledges set notes = 'x'", "insert into users (name, role, created_at, created_by) "
                      "values ('me', 'admin', now(), 'me')", "update activities set progress_pct = 1"):
        assert "permission denied" in refused(engine, statement), statement
    engine.dispose()


def test_programme_login_updates_activities_only(roles_ledger):
    app = Ledger(roles_ledger("programme"))
    assert services.save_activity(app, ActivityIn(code="A1", paragraph=1, title="t", budget_usd="1")) == "added"
    app.close()
    engine = create_engine(roles_ledger("programme"))
    assert "permission denied for table pledges" in refused(
        engine, "insert into pledges (id, reference, donor_id, pledged_on, currency, rate_micros, psc_rate_bp, notes, "
                "entry_id) values (1, 'x', 1, '2020-01-01', 'USD', 1, 1, '', 1)")
    assert "permission denied for table rates" in refused(
        engine, "insert into rates (currency, effective_from, units_per_usd_micros, entered_by, entered_at) "
                "values ('EUR', '2020-01-01', 1, 'x', now())")
    engine.dispose()


def test_even_the_owner_cannot_update_posted_rows(pg_server):
    url = pg_server.new_database()
    engine = create_engine(url)
    services.save_donor(Ledger(url), DonorIn(code="USA", name="United States"))
    ledger = Ledger(url)
    services.record_pledge(ledger, PledgeIn(reference="P1", donor="USA", pledged_on="2020-01-01", currency="USD",
                                            allocations=[{"paragraph": 1, "amount": "100"}]))
    ledger.close()
    for statement in ("update journal_lines set usd_cents = 0", "delete from journal_entries", "truncate journal_lines",
                      "delete from pledges", "truncate receipts"):
        assert "append-only" in refused(engine, statement), statement
    engine.dispose()
