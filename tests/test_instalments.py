"""Instalment schedules (docs/rules.md#instalments): money applied earliest due first, cancellations
latest due first, re-planning with the donor, overdue per instalment through every view."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ledger import instalments, queries, services
from ledger.alerts import alerts_for
from ledger.inputs import ScheduleIn
from ledger.recorded import moment, read_as_recorded_at
from ledger.schema import Pledge
from reports.ageing import ageing_report
from tests.builders import (
    cancel,
    donor,
    entry_count,
    funding_rows,
    pledge,
    rate,
    receipt,
    refused,
    reverse,
    table_counts,
)

JULY = dt.date(2012, 7, 31)


def schedule(ledger, reference: str, *instalments_: tuple[str, str], reason: str = "re-planned with the donor"):
    return services.schedule_pledge(ledger, ScheduleIn(
        pledge=reference, reason=reason, instalments=[{"due_on": d, "amount": a} for d, a in instalments_]))


def parts(ledger, reference: str, as_of: dt.date) -> list[tuple]:
    """(due_on, unpaid) of each unpaid instalment of the pledge, as of the date."""
    with ledger.reading() as session:
        return [(i.due_on.isoformat(), i.unpaid, i.overdue(as_of), i.days(as_of))
                for i in instalments.unpaid_instalments(session, as_of) if i.reference == reference]


def pledge_id(ledger, reference: str) -> int:
    from sqlalchemy import select

    with ledger.reading() as session:
        return session.execute(select(Pledge.id).where(Pledge.reference == reference)).scalar_one()


@pytest.fixture
def three(ledger):
    """USD 300,000 pledged 2012-01-01 in three instalments of 100,000 (2012-01-31, 2012-06-30,
    2012-12-31); 150,000 received 2012-03-15."""
    donor(ledger, "USA", "United States", currency="USD")
    pledge(ledger, "P3", "USA", "2012-01-01", "USD", {1: "200000", None: "100000"}, due_on="2012-01-31")
    schedule(ledger, "P3", ("2012-01-31", "100000"), ("2012-06-30", "100000"), ("2012-12-31", "100000"),
             reason="agreement annex 1")
    receipt(ledger, "R3", "P3", "2012-03-15", "150000")
    return ledger


def test_a_three_instalment_schedule_paid_late_and_re_planned(three):
    ledger = three
    # as of 2012-07-31: the first is paid, 50,000 of the second is unpaid and 31 days late, the third not due
    assert parts(ledger, "P3", JULY) == [("2012-06-30", Decimal("50000.00"), True, 31),
                                         ("2012-12-31", Decimal("100000.00"), False, -153)]
    # as of 2012-03-01 (before the receipt): the first is 30 days late, the others are not due
    assert parts(ledger, "P3", dt.date(2012, 3, 1))[0] == ("2012-01-31", Decimal("100000.00"), True, 30)
    alerts = alerts_for(ledger, JULY)
    assert [(a.reference, a.due_on, a.outstanding, a.days_late, a.instalment, a.of) for a in alerts.overdue] == [
        ("P3", dt.date(2012, 6, 30), Decimal("50000.00"), 31, 2, 3)]
    with ledger.reading() as session:
        ageing = ageing_report(session, JULY)
    assert [(r.instalment, r.due_on.isoformat(), r.days, r.bucket, r.outstanding_minor, r.outstanding_usd, r.overdue)
            for r in ageing.rows] == [("2/3", "2012-06-30", 31, "1_90", 5_000_000, 5_000_000, True),
                                      ("3/3", "2012-12-31", -153, "not_due", 10_000_000, 10_000_000, False)]
    assert ageing.total_usd == 15_000_000 == funding_rows(ledger, "2012-07-31")["totals"].outstanding
    # re-planned with the donor: 100,000 on 2012-01-31, 50,000 on 2012-06-30, 150,000 on 2013-03-31
    before = moment_now(ledger)
    posted = schedule(ledger, "P3", ("2013-03-31", "150000"), ("2012-01-31", "100000"), ("2012-06-30", "50000"))
    assert posted.detail == "3 instalment(s)" and posted.usd_cents == 0
    assert parts(ledger, "P3", JULY) == [("2013-03-31", Decimal("150000.00"), False, -243)]
    assert alerts_for(ledger, JULY).overdue == []
    assert overdue_in_list(ledger, JULY) == set()
    # as recorded before the re-plan, the old schedule is in force
    with ledger.reading() as session:
        read_as_recorded_at(session, moment(session, before))
        assert [(i.due_on, i.unpaid_minor) for i in instalments.unpaid_instalments(session, JULY)] == [
            (dt.date(2012, 6, 30), 5_000_000), (dt.date(2012, 12, 31), 10_000_000)]
    # a cancellation of 60,000 on 2012-08-01 comes off the latest due instalment first
    cancel(ledger, "P3", "2012-08-01", "60000")
    assert parts(ledger, "P3", dt.date(2012, 8, 1)) == [("2013-03-31", Decimal("90000.00"), False, -242)]
    assert parts(ledger, "P3", JULY) == [("2013-03-31", Decimal("150000.00"), False, -243)]  # not yet cancelled
    # reversing the re-plan restores the schedule before it
    reverse(ledger, posted.entry_id, reason="the donor withdrew the request")
    assert parts(ledger, "P3", dt.date(2012, 8, 1)) == [("2012-06-30", Decimal("50000.00"), True, 32),
                                                        ("2012-12-31", Decimal("40000.00"), False, -152)]
    assert overdue_in_list(ledger, dt.date(2012, 8, 1)) == {"P3"}
    with ledger.reading() as session:
        history = instalments.schedule_history(session, pledge_id(ledger, "P3"))
    assert [(v.memo.split(":")[0], v.reversed_by is not None) for v in history] == [
        ("schedule USD 2012-01-31 100,000.00, 2012-06-30 100,000.00, 2012-12-31 100,000.00", False),
        ("schedule USD 2012-01-31 100,000.00, 2012-06-30 50,000.00, 2013-03-31 150,000.00", True)]
    assert services.verify_chain(ledger).ok


def moment_now(ledger) -> dt.datetime:
    with ledger.reading() as session:
        return moment(session).recorded_at


def overdue_in_list(ledger, as_of: dt.date) -> set[str]:
    return {row.reference for row in queries.pledges_page(ledger, queries.PledgeFilter(status="overdue", as_of=as_of))}


def test_the_detail_lines_show_paid_and_unpaid_parts(three):
    with three.reading() as session:
        lines = instalments.schedule_lines(session, pledge_id(three, "P3"), "USD", JULY)
    assert [(str(x.amount), str(x.paid), str(x.unpaid), x.overdue, x.days_late) for x in lines] == [
        ("100000.00", "100000.00", "0.00", False, None), ("100000.00", "50000.00", "50000.00", True, 31),
        ("100000.00", "0.00", "100000.00", False, None)]


def test_a_due_date_is_a_schedule_of_one_instalment_and_no_due_date_is_none(ledger):
    donor(ledger, "USA")
    pledge(ledger, "PD", "USA", "2012-01-01", "USD", {1: "1000"}, due_on="2012-02-01")
    pledge(ledger, "PN", "USA", "2012-01-01", "USD", {1: "1000"})
    with ledger.reading() as session:
        assert instalments.schedule_of(session, pledge_id(ledger, "PD")) == [(dt.date(2012, 2, 1), 100_000)]
        assert instalments.schedule_of(session, pledge_id(ledger, "PN")) == []
        found = instalments.unpaid_instalments(session, dt.date(2013, 1, 1))
        assert [(i.reference, i.due_on, i.unpaid_cents) for i in found] == [("PD", dt.date(2012, 2, 1), 100_000)]
        with_none = instalments.unpaid_instalments(session, dt.date(2013, 1, 1), unscheduled=True)
        assert [(i.reference, i.due_on, i.of) for i in with_none] == [("PD", dt.date(2012, 2, 1), 1), ("PN", None, 0)]


def test_the_same_schedule_again_is_skipped(three):
    count = entry_count(three)
    assert schedule(three, "P3", ("2012-01-31", "100000"), ("2012-06-30", "100000"), ("2012-12-31", "100000")) is None
    assert entry_count(three) == count


def test_schedules_that_do_not_add_up_or_repeat_a_date_are_refused_and_write_nothing(three):
    counts = table_counts(three)
    assert refused(schedule, three, "P3", ("2012-01-31", "100000"), ("2012-06-30", "100000")) == (
        "instalment: the instalments add up to USD 200,000.00, not to the USD 300,000.00 of pledge P3")
    assert refused(schedule, three, "P3", ("2012-01-31", "100000"), ("2012-01-31", "200000")) == (
        "instalment: two instalments are due on 2012-01-31; give each due date once")
    assert refused(schedule, three, "P3", ("2011-12-31", "300000")) == (
        "instalment 1: due 2011-12-31 is before the pledge date of P3 (2012-01-01)")
    assert "instalment 2: " in refused(schedule, three, "P3", ("2012-01-31", "100000"), ("2012-02-28", "200000.001"))
    assert refused(schedule, three, "NOPE", ("2012-01-31", "1")) == "pledge: no pledge with reference 'NOPE'"
    with pytest.raises(ValidationError):
        ScheduleIn(pledge="P3", reason="", instalments=[{"due_on": "2012-01-31", "amount": "300000"}])
    with pytest.raises(ValidationError):
        ScheduleIn(pledge="P3", reason="x", instalments=[{"due_on": "31/01/2012", "amount": "300000"}])
    with pytest.raises(ValidationError):
        ScheduleIn(pledge="P3", reason="x", instalments=[])
    assert table_counts(three) == counts


def test_a_schedule_in_a_closed_period_is_refused(three):
    today = dt.date.today()
    month_end = today.replace(day=1) - dt.timedelta(days=1)
    services.close_period(three, month_end, "month closed")
    # the schedule entry is dated the day it is recorded: today is open
    assert schedule(three, "P3", ("2012-01-31", "300000")) is not None
    from ledger import periods
    from ledger.roles import Act

    with pytest.raises(Exception) as error, three.writing(Act.RECORD_MONEY) as uow:
        periods.check_open(uow, "instalment", month_end, "schedules")
    assert "is in a closed period" in str(error.value)


# -- properties on both databases ---------------------------------------------------------------
PLANS = st.lists(st.fixed_dictionaries({
    "currency": st.sampled_from(["USD", "EUR"]),
    "split": st.lists(st.integers(1, 5), min_size=1, max_size=3),  # instalment weights
    "gaps": st.lists(st.integers(1, 200), min_size=3, max_size=3),  # days between due dates
    "two": st.booleans(),  # two allocations
    "receipts": st.lists(st.tuples(st.integers(1, 100), st.integers(0, 400)), max_size=3),
    "cancel": st.none() | st.tuples(st.integers(1, 100), st.integers(0, 400)),
}), min_size=1, max_size=3)
START = dt.date(2020, 1, 1)
BATCHES = itertools.count()


@pytest.fixture
def rated(ledger):
    rate(ledger, "EUR", "2019-01-01", "0.90", through="2020-05")
    rate(ledger, "EUR", "2020-06-01", "0.80", through="2022-12")
    donor(ledger, "D1")
    return ledger


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plans=PLANS, as_of_days=st.integers(0, 700))
def test_unpaid_parts_add_up_to_outstanding_and_ageing_to_funding(rated, plans, as_of_days):
    """Every example adds its pledges to the same ledger: the properties hold for all of them."""
    ledger = rated
    batch = next(BATCHES)
    for n, plan in enumerate(plans):
        reference, amount = f"B{batch}-{n}", 1200 * sum(plan["split"])
        allocations = {1: str(amount // 2), None: str(amount - amount // 2)} if plan["two"] else {2: str(amount)}
        pledge(ledger, reference, "D1", START.isoformat(), plan["currency"], allocations)
        due, items = START, []
        for weight, gap in zip(plan["split"], plan["gaps"], strict=False):
            due += dt.timedelta(days=gap)
            items.append((due.isoformat(), str(1200 * weight)))
        schedule(ledger, reference, *items)
        rest = amount
        for i, (share, days) in enumerate(plan["receipts"]):
            part = max(rest * share // 100, 1) if rest else 0
            if part:
                receipt(ledger, f"{reference}-R{i}", reference, (START + dt.timedelta(days=days)).isoformat(), str(part))
                rest -= part
        if plan["cancel"] and rest:
            share, days = plan["cancel"]
            cancel(ledger, reference, (START + dt.timedelta(days=days)).isoformat(), str(max(rest * share // 100, 1)))
    as_of = START + dt.timedelta(days=as_of_days)
    with ledger.reading() as session:
        unpaid = instalments.unpaid_instalments(session, as_of, unscheduled=True)
        ageing = ageing_report(session, as_of)
    outstanding = {row.reference: row.outstanding for row in queries.pledges_page(
        ledger, queries.PledgeFilter(as_of=as_of), limit=10_000)}
    for reference, owed in outstanding.items():
        assert sum((i.unpaid for i in unpaid if i.reference == reference), Decimal(0)) == owed
    totals = funding_rows(ledger, as_of.isoformat())["totals"]
    assert ageing.total_usd == totals.outstanding
    overdue = {a.reference for a in alerts_for(ledger, as_of, limit=None).overdue}
    assert overdue == {r.pledge for r in ageing.overdue_rows} == overdue_in_list(ledger, as_of)


def test_the_database_refuses_to_change_a_posted_instalment(three, db_url):
    from sqlalchemy import create_engine, delete, update
    from sqlalchemy.exc import DBAPIError

    from ledger.schema import Instalment

    engine = create_engine(db_url)
    try:
        for statement in (update(Instalment).values(amount_minor=1), delete(Instalment)):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(statement)
    finally:
        engine.dispose()


# -- the command line and the import ------------------------------------------------------------
def cli(db_url: str, *args: str):
    from tests.builders import invoke_cli

    return invoke_cli("--db", db_url, "--user", "officer", *args)


def test_pledge_schedule_on_the_command_line(three, db_url):
    code, out, err = cli(db_url, "pledge", "schedule", "P3", "--instalment", "2012-01-31=100000",
                         "--instalment", "2013-06-30=200000", "--reason", "donor letter of 2012-07-01")
    assert (code, err) == (0, "") and out.startswith("pledge P3 re-planned: entry ") and out.endswith(", 2 instalment(s)\n")
    code, out, _ = cli(db_url, "pledge", "schedule", "P3", "--instalment", "2012-01-31=100000",
                       "--instalment", "2013-06-30=200000", "--reason", "again")
    assert (code, out) == (0, "pledge P3: this schedule is already in force; nothing recorded\n")
    code, out, err = cli(db_url, "pledge", "schedule", "P3", "--instalment", "2012-01-31=100000", "--reason", "x")
    assert (code, out) == (1, "") and err == (
        "error: instalment: the instalments add up to USD 100,000.00, not to the USD 300,000.00 of pledge P3\n")
    code, _, err = cli(db_url, "pledge", "schedule", "P3", "--instalment", "2012-01-31", "--reason", "x")
    assert code == 2 and "--instalment takes DATE=AMOUNT, got '2012-01-31'" in err
    code, _, err = cli(db_url, "pledge", "schedule", "P3", "--instalment", "31.1.2012=300000", "--reason", "x")
    assert code == 1 and "instalments.0.due_on" in err and "Traceback" not in err


INSTALMENTS = """pledge,due_on,amount,reason
P3,2012-01-31,100000,donor letter 7
P3,2012-09-30,100000,
P3,2013-03-31,100000,
"""


def test_import_of_instalments_replaces_the_schedule_and_again_is_skipped(three, db_url, tmp_path):
    path = tmp_path / "instalments.csv"
    path.write_text(INSTALMENTS)
    code, out, err = cli(db_url, "import", "instalments", str(path))
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == f"{path}: 3 rows: 1 schedule added (3 instalment rows), 0 schedules skipped (identical)"
    assert parts(three, "P3", JULY) == [("2012-09-30", Decimal("50000.00"), False, -61),
                                        ("2013-03-31", Decimal("100000.00"), False, -243)]
    with three.reading() as session:
        assert instalments.schedule_history(session, pledge_id(three, "P3"))[-1].memo.endswith(": donor letter 7")
    code, out, _ = cli(db_url, "import", "instalments", str(path))
    assert out.splitlines()[-1] == f"{path}: 3 rows: 0 schedules added, 1 schedule skipped (identical) (3 instalment rows)"


def test_instalment_import_errors_name_file_line_and_column_and_write_nothing(three, db_url, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("pledge,due_on,amount\nP3,2012-01-31,100000\nP3,2012-01-31,100000\nP3,2012-13-01,5\n"
                    "NOPE,2012-05-01,10\nP3B,2012-05-01,10\n")
    counts = table_counts(three)
    code, out, err = cli(db_url, "import", "instalments", str(path))
    assert code == 1 and "Traceback" not in err
    assert f"{path}:3: pledge: the instalment of pledge P3 due on 2012-01-31 appears twice in the file (lines 2 and 3)" in err
    assert f"{path}:4: due_on: '2012-13-01' is not a valid date" in err
    assert f"{path}:5: pledge: no pledge with reference 'NOPE'" in err
    assert table_counts(three) == counts
    path.write_text("pledge,due_on,amount\nP3,2012-01-31,100000\nP3,2012-06-30,100000.001\n")
    code, _, err = cli(db_url, "import", "instalments", str(path))
    assert code == 1 and f"{path}:3: amount: " in err and "decimals" in err
    path.write_text("pledge,due_on,amount\nP3,2012-01-31,100000\nP3,2012-06-30,100000\n")
    code, _, err = cli(db_url, "import", "instalments", str(path))
    assert code == 1 and f"{path}:2: amount: the instalments add up to USD 200,000.00, not to the USD 300,000.00" in err
    assert table_counts(three) == counts


# -- reminders ------------------------------------------------------------------------------------
def test_reminders_per_donor_overdue_and_due_within_the_window(three, db_url, tmp_path):
    import json

    import openpyxl

    rate(three, "EUR", "2012-01-01", "0.80", through="2012-12")
    donor(three, "EUR1", "A European donor", currency="EUR")
    pledge(three, "PE", "EUR1", "2012-02-01", "EUR", {2: "8000.00"}, due_on="2012-08-15")
    code, out, err = cli(db_url, "report", "reminders", "--as-of", "2012-07-31", "--format", "json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert (document["within_days"], document["until"], document["total_usd"]) == (30, "2012-08-30", "60000.00")
    assert document["donors"] == [
        {"donor": "EUR1", "donor_name": "A European donor", "unpaid_usd": "10000.00", "instalments": [
            {"donor": "EUR1", "donor_name": "A European donor", "pledge": "PE", "instalment": "1/1",
             "due_on": "2012-08-15", "status": "due", "days_late": -15, "currency": "EUR", "unpaid": "8000.00",
             "unpaid_usd": "10000.00"}]},
        {"donor": "USA", "donor_name": "United States", "unpaid_usd": "50000.00", "instalments": [
            {"donor": "USA", "donor_name": "United States", "pledge": "P3", "instalment": "2/3",
             "due_on": "2012-06-30", "status": "overdue", "days_late": 31, "currency": "USD", "unpaid": "50000.00",
             "unpaid_usd": "50000.00"}]}]
    # the window from the setting, else --within
    services.set_setting(three, "reminder_days", "10", "shorter reminders")
    code, out, _ = cli(db_url, "report", "reminders", "--as-of", "2012-07-31", "--format", "csv")
    assert out.splitlines() == [
        "donor,donor_name,pledge,instalment,due_on,status,days_late,currency,unpaid,unpaid_usd",
        "USA,United States,P3,2/3,2012-06-30,overdue,31,USD,50000.00,50000.00",
        "total,,,,,,,USD,,50000.00"]
    code, out, _ = cli(db_url, "report", "reminders", "--as-of", "2012-07-31", "--within", "153", "--format", "json")
    assert [(i["pledge"], i["instalment"]) for d in json.loads(out)["donors"] for i in d["instalments"]] == [
        ("PE", "1/1"), ("P3", "2/3"), ("P3", "3/3")]
    path = tmp_path / "reminders.xlsx"
    code, out, err = cli(db_url, "report", "reminders", "--as-of", "2012-07-31", "--within", "30", "--format", "xlsx",
                         "-o", str(path))
    assert (code, err) == (0, "") and out == f"wrote {path} as of 2012-07-31: 2 instalment(s) of 2 donor(s) overdue or due by 2012-08-30\n"
    rows = list(openpyxl.load_workbook(path)["Reminders"].iter_rows(values_only=True))
    assert rows[0] == ("Donor", "Donor name", "Pledge", "Instalment", "Due on", "Status", "Days late", "Currency",
                       "Unpaid", "Unpaid USD (as-of rate)")
    assert [r[:4] + r[5:8] + (float(r[8] or 0), float(r[9])) for r in rows[1:]] == [
        ("EUR1", "A European donor", "PE", "1/1", "due", None, "EUR", 8000.0, 10000.0),
        ("EUR1", "Total A European donor", None, None, None, None, "USD", 0.0, 10000.0),
        ("USA", "United States", "P3", "2/3", "OVERDUE", 31, "USD", 50000.0, 50000.0),
        ("USA", "Total United States", None, None, None, None, "USD", 0.0, 50000.0),
        ("Total", None, None, None, None, None, "USD", 0.0, 60000.0)]
    code, _, err = cli(db_url, "report", "reminders", "--format", "xlsx")
    assert code == 2 and "give both --format xlsx and -o FILE.xlsx" in err
    code, out, _ = cli(db_url, "report", "reminders", "--as-of", "2012-07-31")
    assert code == 0 and "OVERDUE" in out and "P3" in out
