"""Roles (docs/rules.md#roles): who may write what; an auditor never writes.

On SQLite the acting user is ``--user``; on PostgreSQL it is the database login, so the
PostgreSQL half creates a login per role (with table rights: here it is the application's
check that refuses, before the database is asked).
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ledger import services
from ledger.database import Ledger
from ledger.errors import PermissionDenied
from ledger.inputs import (
    ActivityIn,
    ActivityUpdate,
    CancellationIn,
    DisbursementIn,
    DonorIn,
    PledgeIn,
    RateIn,
    ReceiptIn,
    ReversalIn,
    UserIn,
)
from ledger.roles import Role
from tests.builders import activity, donor, pledge, receipt, run_cli, table_counts


@pytest.fixture
def acting(ledger, db_url):
    """acting(role) -> (Ledger acting as a user of that role, its --db URL, its --user name)."""
    opened: list[Ledger] = []
    logins: list[str] = []
    is_pg = db_url.startswith("postgresql")

    def open_as(role: str):
        name = f"{role}_{uuid.uuid4().hex[:6]}"
        url = db_url
        if is_pg:
            with ledger.engine.connect() as conn:
                conn.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD 'pw'"))
                conn.execute(text(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {name}"))
                conn.execute(text(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {name}"))
                conn.commit()
            logins.append(name)
            url = make_url(db_url).set(username=name, password="pw").render_as_string(hide_password=False)
        services.add_user(ledger, UserIn(name=name, role=role))
        as_role = Ledger(url, user=name)
        opened.append(as_role)
        assert as_role.actor.name == name and as_role.actor.role == Role(role)
        return as_role, url, name

    yield open_as
    for each in opened:
        each.close()
    if logins:
        admin = create_engine(db_url)
        with admin.connect() as conn:
            for name in logins:
                conn.execute(text(f"DROP OWNED BY {name}"))
                conn.execute(text(f"DROP ROLE {name}"))
            conn.commit()
        admin.dispose()


@pytest.fixture
def funded(ledger):
    donor(ledger, "AAA")
    activity(ledger, "A1", 1, "5000")
    pledge(ledger, "P", "AAA", "2020-01-10", "USD", {1: "1000"})
    receipt(ledger, "R1", "P", "2020-02-01", "500")
    return ledger


MONEY = {
    "pledge": lambda lg: services.record_pledge(lg, PledgeIn(
        reference="P9", donor="AAA", pledged_on="2020-01-10", currency="USD", allocations=[{"paragraph": 1, "amount": 1}])),
    "receipt": lambda lg: services.record_receipt(lg, ReceiptIn(reference="R9", pledge="P", received_on="2020-02-01", amount=1)),
    "disbursement": lambda lg: services.disburse(lg, DisbursementIn(reference="D9", activity="A1", disbursed_on="2020-02-02", amount=1)),
    "cancel": lambda lg: services.cancel_pledge(lg, CancellationIn(pledge="P", amount=1, cancelled_on="2020-02-02", reason="x")),
    "reverse": lambda lg: services.reverse(lg, ReversalIn(entry_id=4, reason="x", reversed_on="2020-02-02")),
}
REFERENCE = {
    "rate": lambda lg: services.add_rate(lg, RateIn(currency="EUR", effective_from="2020-01-01", units_per_usd="0.9")),
    "donor": lambda lg: services.save_donor(lg, DonorIn(code="BBB", name="Beta")),
}
ACTIVITIES = {
    "activity save": lambda lg: services.save_activity(lg, ActivityIn(code="A2", paragraph=2, title="t", budget_usd=1)),
    "activity update": lambda lg: services.update_activity(lg, ActivityUpdate(code="A1", progress_pct=50)),
}
USERS = {"user add": lambda lg: services.add_user(lg, UserIn(name="someone", role="finance"))}
EVERY_WRITE = {**MONEY, **REFERENCE, **ACTIVITIES, **USERS}


@pytest.mark.parametrize("write", list(EVERY_WRITE))
def test_an_auditor_writes_nothing(funded, acting, write):
    auditor, _, name = acting("auditor")
    before = table_counts(funded)
    with pytest.raises(PermissionDenied) as refused:
        EVERY_WRITE[write](auditor)
    assert str(refused.value).startswith(f"permission denied: {name} (auditor) may not ")
    assert table_counts(funded) == before


def test_programme_updates_activities_but_records_no_money(funded, acting):
    programme, _, name = acting("programme")
    for act in ACTIVITIES.values():
        assert act(programme) in ("added", "updated")
    before = table_counts(funded)
    for write in [*MONEY.values(), *REFERENCE.values(), *USERS.values()]:
        with pytest.raises(PermissionDenied, match=f"{name} \\(programme\\) may not"):
            write(programme)
    assert table_counts(funded) == before


def test_finance_records_money_but_may_not_manage_users_or_activities(funded, acting):
    finance, _, name = acting("finance")
    for write in [*MONEY.values(), *REFERENCE.values()]:
        write(finance)
    before = table_counts(funded)
    with pytest.raises(PermissionDenied, match=f"{name} \\(finance\\) may not manage users"):
        USERS["user add"](finance)
    with pytest.raises(PermissionDenied, match="may not update activities"):
        ACTIVITIES["activity update"](finance)
    assert table_counts(funded) == before


def test_the_first_user_of_a_new_ledger_is_admin_and_strangers_may_not_write(ledger, db_url):
    from ledger.queries import users

    assert ledger.actor.role == Role.ADMIN
    assert [(u.name, u.role) for u in users(ledger)] == [(ledger.actor.name, "admin")]
    if not db_url.startswith("postgresql"):  # on PostgreSQL the login is the user
        stranger = Ledger(db_url, user="stranger")
        try:
            assert stranger.actor.role is None
            with pytest.raises(PermissionDenied, match="stranger \\(not a user of this ledger\\) may not"):
                services.save_donor(stranger, DonorIn(code="X", name="X"))
        finally:
            stranger.close()


AUDITOR_COMMANDS = [
    ["user", "add", "mallory", "--role", "admin"],
    ["pledge", "cancel", "P", "--amount", "1", "--on", "2020-02-02", "--reason", "x"],
    ["reverse", "2", "--reason", "x", "--on", "2020-02-02"],
    ["activity", "update", "A1", "--progress", "90"],
]


def test_an_auditor_is_refused_on_the_command_line(funded, acting):
    _, url, name = acting("auditor")
    before = table_counts(funded)
    for args in AUDITOR_COMMANDS:
        code, out, err = run_cli("--db", url, "--user", name, *args)
        assert code == 1, args
        assert err.startswith(f"error: permission denied: {name} (auditor) may not ") and "Traceback" not in err
        assert out == ""
    assert table_counts(funded) == before
    code, out, err = run_cli("--db", url, "--user", name, "verify")  # reading is allowed
    assert code == 0, err


@pytest.fixture
def stranger(funded, db_url):
    """(--db URL, --user name) of someone who is not a user of the ledger (on PostgreSQL: a
    login with table rights that was never added as a user)."""
    name = f"stranger_{uuid.uuid4().hex[:6]}"
    if not db_url.startswith("postgresql"):
        yield db_url, name
        return
    with funded.engine.connect() as conn:
        conn.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD 'pw'"))
        conn.execute(text(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {name}"))
        conn.execute(text(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {name}"))
        conn.commit()
    yield make_url(db_url).set(username=name, password="pw").render_as_string(hide_password=False), name
    admin = create_engine(db_url)
    with admin.connect() as conn:
        conn.execute(text(f"DROP OWNED BY {name}"))
        conn.execute(text(f"DROP ROLE {name}"))
        conn.commit()
    admin.dispose()


def test_someone_who_is_not_a_user_is_refused_every_command_reading_included(funded, stranger, tmp_path):
    url, name = stranger
    refusal = f"error: no user '{name}' in this ledger; an admin adds one with: donor-ledger user add {name} --role ROLE"
    donors = tmp_path / "donors.csv"
    donors.write_text("code,name\nBBB,Beta\n")
    before = table_counts(funded)
    for args in (["verify"], ["report", "funding"], ["export", "-o", str(tmp_path / "w.xlsx")], ["user", "list"],
                 ["init"], ["demo", "--no-tui"], ["import", "donors", str(donors)], ["tui"],
                 ["user", "add", name, "--role", "admin"]):
        code, out, err = run_cli("--db", url, "--user", name, *args)
        assert (code, out) == (1, ""), args
        assert err.rstrip().endswith(refusal) and "Traceback" not in err, (args, err[-300:])
        assert args[0] == "tui" or err == refusal + "\n", args  # (the TUI first clears its screen)
    assert table_counts(funded) == before
    assert not (tmp_path / "w.xlsx").exists()
    # once an admin adds them, they read
    services.add_user(funded, UserIn(name=name, role="auditor"))
    code, out, err = run_cli("--db", url, "--user", name, "verify")
    assert code == 0 and out.startswith("OK: chain intact"), err


def test_the_first_user_of_a_new_ledger_still_becomes_admin_from_the_command_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    code, out, err = run_cli("--db", url, "--user", "founder", "user", "list")
    assert code == 0, err
    assert out.split("\t")[:2] == ["founder", "admin"]
    code, _, err = run_cli("--db", url, "--user", "second", "user", "list")
    assert (code, err) == (1, "error: no user 'second' in this ledger; an admin adds one with: "
                              "donor-ledger user add second --role ROLE\n")
