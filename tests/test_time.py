"""Time: stamps, ledger settings and closed periods (docs/rules.md "Time"), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import multiprocessing

import pytest
from sqlalchemy import select, text

from ledger import journal, services
from ledger.database import Ledger
from ledger.errors import LedgerError, PermissionDenied
from ledger.inputs import PledgeIn
from ledger.recorded import latest_stamp
from ledger.schema import AuditRecord, JournalEntry, Pledge, Rate, Setting, User
from tests import test_roles
from tests.builders import donor, invoke_cli, pledge, rate, receipt

acting = test_roles.acting  # a ledger acting as a user of a role, on both databases


def stamps(ledger: Ledger) -> list[dt.datetime]:
    """Every stamp stored, in the order the rows were written (ids)."""
    with ledger.reading() as session:
        found = []
        for column, order in ((JournalEntry.posted_at, JournalEntry.id), (Rate.entered_at, Rate.id),
                              (Setting.recorded_at, Setting.id), (AuditRecord.at, AuditRecord.id),
                              (User.created_at, User.id)):
            found.append(list(session.execute(select(column).order_by(order)).scalars()))
        return found


def _write(url: str, w: int, start, results) -> None:
    ledger = Ledger(url, user="officer")
    start.wait(60)
    try:
        for i in range(4):
            pledge(ledger, f"P{w}-{i}", "D", "2020-02-01", "USD", {None: "10"})
            rate(ledger, "EUR", f"20{10 + w}-0{i + 1}-01", f"0.{w}{i + 1}")
            services.set_setting(ledger, "reminder_days", str(10 * w + i + 1), f"writer {w}")
        results.put("ok")
    except Exception as exc:  # reported to the parent
        results.put(f"{type(exc).__name__}: {exc}")
    finally:
        ledger.close()


def test_stamps_strictly_increase_across_tables_under_concurrent_writers(ledger, db_url):
    donor(ledger, "D")
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(3), context.Queue()
    workers = [context.Process(target=_write, args=(db_url, w, start, results)) for w in range(3)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(60)
    assert outcomes == ["ok"] * 3
    posted, rated, settings_, audited, users = stamps(ledger)
    assert len(posted) == 12 and len(rated) == 12 and len(settings_) == 12
    for column in (posted, rated, settings_, audited):
        assert all(a < b for a, b in zip(column, column[1:], strict=False)), column
    every = sorted(posted + rated + settings_ + audited + users)
    assert len(set(every)) == len(every)  # no two rows of any table share a stamp
    with ledger.reading() as session:
        assert latest_stamp(session) == every[-1]


def test_a_stamp_is_later_than_any_stored_even_one_from_the_future(ledger):
    """A clock set back (or a stamp from a faster clock) never makes a later row look earlier."""
    ahead = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=1)
    with ledger.writing(services.Act.MANAGE_SETTINGS) as uow:
        uow.session.add(Setting(name="reminder_days", value="7", recorded_at=ahead, user_name="officer", reason=""))
    donor(ledger, "D")
    pledge(ledger, "P1", "D", "2020-02-01", "USD", {None: "10"})
    with ledger.reading() as session:
        posted = session.execute(select(JournalEntry.posted_at)).scalar_one()
    assert posted > ahead and posted - ahead < dt.timedelta(milliseconds=1)


# -- settings ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "value", "message"), [
    ("usd_tolerance_pct", "101", "'101' is not a percentage from 0 to 100 with at most 2 decimals, e.g. 10 or 7.5"),
    ("reminder_days", "thirty", "'thirty' is not a whole number of days from 1 to 3650, e.g. 30"),
    ("default_psc_rate", "7.125", "'7.125' is not a percentage from 0 to 100 with at most 2 decimals, e.g. 10 or 7.5"),
    ("iati_reporting_org_ref", "UNODC", "'UNODC' is not an IATI organisation identifier such as XM-DAC-41119"),
    ("iati_reporting_org_type", "41", "'41' is not an IATI organisation type code, one of 10, 11, 15"),
    ("iati_sector", "1521", "'1521' is not a DAC 5-digit purpose code, e.g. 15210"),
    ("iati_recipient_region", "99", "'99' is not an IATI region code of 3 digits, e.g. 998"),
    ("iati_recipient_country", "KEN", "'KEN' is not an ISO 3166-1 alpha-2 country code, e.g. KE"),
    ("iati_activity_identifier", "XM-DAC-41119-1", "value: set iati_reporting_org_ref first"),
])
def test_a_bad_setting_is_refused_with_what_is_expected_and_nothing_is_written(ledger, name, value, message):
    with pytest.raises(LedgerError) as refused:
        services.set_setting(ledger, name, value)
    assert message in str(refused.value)
    assert [row[1] for row in services.settings_in_force(ledger) if row[0] == name] == [
        {"usd_tolerance_pct": "10", "reminder_days": "30", "default_psc_rate": "13"}.get(name, "")]


def test_an_unknown_setting_is_refused_with_the_known_names(ledger):
    code, _, err = invoke_cli("--db", ledger.url, "--user", "officer", "settings", "set", "tolerance", "5")
    assert code == 1
    assert err.strip() == ("error: name: 'tolerance' is not a setting; the settings are usd_tolerance_pct, reminder_days, "
                           "default_psc_rate, iati_reporting_org_ref, iati_reporting_org_name, iati_reporting_org_type, "
                           "iati_activity_identifier, iati_sector, iati_recipient_region, iati_recipient_country")


def test_settings_are_versions_with_who_when_why_and_only_an_admin_sets_them(ledger, acting):
    fin, _, name = acting("finance")
    with pytest.raises(PermissionDenied, match=f"{name} \\(finance\\) may not change ledger settings"):
        services.set_setting(fin, "reminder_days", "14")
    assert services.set_setting(ledger, "iati_reporting_org_ref", "XM-DAC-41119", "DAC list") == "set"
    assert services.set_setting(ledger, "iati_activity_identifier", "XM-DAC-41119-RES-20-7") == "set"
    with pytest.raises(LedgerError, match=r"beginning with the reporting organisation's ref and a hyphen \(XM-DAC-41119-"):
        services.set_setting(ledger, "iati_activity_identifier", "XM-DAC-4111-RES")
    assert services.set_setting(ledger, "reminder_days", "14", "monthly calls") == "set"
    assert services.set_setting(ledger, "reminder_days", "14") == "unchanged"
    assert services.set_setting(ledger, "reminder_days", "21", "fortnight was short") == "set"
    listed = {name: (value, origin) for name, value, origin in services.settings_in_force(ledger)}
    assert listed["reminder_days"][0] == "21"
    assert listed["reminder_days"][1][0] == ledger.user_name and listed["reminder_days"][1][2] == "fortnight was short"
    assert listed["usd_tolerance_pct"] == ("10", None)
    with ledger.reading() as session:
        versions = session.execute(select(Setting.name, Setting.value, Setting.reason).order_by(Setting.id)).all()
    assert [tuple(v) for v in versions] == [
        ("iati_reporting_org_ref", "XM-DAC-41119", "DAC list"), ("iati_activity_identifier", "XM-DAC-41119-RES-20-7", ""),
        ("reminder_days", "14", "monthly calls"), ("reminder_days", "21", "fortnight was short")]


def test_a_setting_as_recorded_at_a_moment_is_the_version_then(ledger):
    from ledger import settings
    from ledger.unit_of_work import Reader

    services.set_setting(ledger, "usd_tolerance_pct", "5")
    with ledger.reading() as session:
        between = latest_stamp(session)
    services.set_setting(ledger, "usd_tolerance_pct", "2.5")
    with ledger.reading() as session:
        reader = Reader(session, ledger.actor)
        assert settings.value(reader, "usd_tolerance_pct") == "2.5"
        earlier = Reader(session, ledger.actor)
        earlier.recorded_at = between
        assert settings.value(earlier, "usd_tolerance_pct") == "5"
        earliest = Reader(session, ledger.actor)
        earliest.recorded_at = between - dt.timedelta(microseconds=1)
        assert settings.value(earliest, "usd_tolerance_pct") == "10"


def test_default_psc_rate_applies_where_a_pledge_gives_none(ledger):
    donor(ledger, "D")
    services.set_setting(ledger, "default_psc_rate", "7.5")
    services.record_pledge(ledger, PledgeIn(reference="P1", donor="D", pledged_on="2020-01-01", currency="USD",
                                            allocations=[{"paragraph": None, "amount": "100"}]))
    pledge(ledger, "P2", "D", "2020-01-01", "USD", {None: "100"}, psc="13")
    with ledger.reading() as session:
        assert dict(session.execute(select(Pledge.reference, Pledge.psc_rate_bp)).all()) == {"P1": 750, "P2": 1300}


# -- closed periods ---------------------------------------------------------------------------
def test_closing_refuses_postings_and_rates_in_the_closed_period_naming_the_close(ledger, acting):
    today = dt.date.today()
    last_month_end = today.replace(day=1) - dt.timedelta(days=1)
    donor(ledger, "D")
    rate(ledger, "EUR", "2020-01-01", "0.9", through=today.strftime("%Y-%m"))
    pledge(ledger, "P1", "D", "2020-01-01", "EUR", {None: "1000"})
    fin, _, name = acting("finance")
    entry = services.close_period(fin, last_month_end, "accounts of last month reported")
    assert services.closed_through(ledger) == (last_month_end, name)
    closed = f"{last_month_end.isoformat()} is in a closed period: the ledger is closed through {last_month_end} (closed by {name})"
    with pytest.raises(LedgerError) as refused:
        receipt(ledger, "R1", "P1", last_month_end.isoformat(), "10")
    assert str(refused.value) == f"received_on: {closed}; money events dated on or before it are not recorded"
    with pytest.raises(LedgerError) as refused:
        rate(ledger, "EUR", last_month_end.isoformat(), "0.95")
    assert str(refused.value) == f"effective_from: {closed}; rates effective dated on or before it are not recorded"
    receipt(ledger, "R2", "P1", today.isoformat(), "10")  # the open period takes it
    with pytest.raises(PermissionDenied, match=f"{name} \\(finance\\) may not reopen periods"):
        services.reopen_period(fin, "a late invoice")
    reopened, previous = services.reopen_period(ledger, "a late invoice")
    assert previous is None and services.closed_through(ledger) is None
    receipt(ledger, "R1", "P1", last_month_end.isoformat(), "10")
    with ledger.reading() as session:
        kinds = dict(session.execute(select(JournalEntry.id, JournalEntry.kind)).all())
    assert kinds[entry] == journal.PERIOD_CLOSE and kinds[reopened] == journal.PERIOD_REOPEN
    assert services.verify_chain(ledger).ok


def test_a_close_date_is_a_month_end_after_the_previous_close_and_not_after_today(ledger):
    today = dt.date.today()
    month_end = today.replace(day=1) - dt.timedelta(days=1)
    with pytest.raises(LedgerError, match="through: 2026-11-29 is not the last day of a month"):
        services.close_period(ledger, dt.date(2026, 11, 29), "x")
    next_month_end = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    if next_month_end > today:
        with pytest.raises(LedgerError, match=f"through: {next_month_end} is after today"):
            services.close_period(ledger, next_month_end, "x")
    with pytest.raises(LedgerError, match="reason: say why the period is closed"):
        services.close_period(ledger, month_end, " ")
    services.close_period(ledger, dt.date(2020, 1, 31), "January")
    services.close_period(ledger, dt.date(2020, 3, 31), "Q1")
    with pytest.raises(LedgerError, match=rf"through: 2020-02-29 is not after the previous close \(2020-03-31, closed by {ledger.user_name}\)"):
        services.close_period(ledger, dt.date(2020, 2, 29), "x")
    assert services.reopen_period(ledger, "late invoice")[1] == (dt.date(2020, 1, 31), ledger.user_name)
    assert services.reopen_period(ledger, "late invoice")[1] is None
    with pytest.raises(LedgerError, match="no period is closed"):
        services.reopen_period(ledger, "x")


def test_the_closes_are_read_through_their_own_index_not_a_scan_of_every_entry(ledger):
    """Every dated act reads the closes in force (ledger/periods.py); the partial index of
    migration 0015 holds only the close and reopen entries, and the query uses it."""
    from ledger.schema import PERIOD_ENTRIES

    donor(ledger, "D")
    rate(ledger, "EUR", "2020-01-01", "0.9", through="2020-06")
    pledge(ledger, "P1", "D", "2020-01-01", "EUR", {None: "1000"})
    services.close_period(ledger, dt.date(2020, 1, 31), "January")
    receipt(ledger, "R1", "P1", "2020-02-10", "10")
    services.close_period(ledger, dt.date(2020, 2, 29), "February")
    services.reopen_period(ledger, "a late invoice")
    statement = select(JournalEntry.id).where(PERIOD_ENTRIES).order_by(JournalEntry.id)
    with ledger.reading() as session:
        assert session.execute(statement).scalars().all() == [2, 4, 5]  # not the pledge (1), nor the receipt (3)
        sql = str(statement.compile(session.get_bind()))
        if ledger.is_postgres:
            session.execute(select(text("set_config('enable_seqscan', 'off', true)")))
            plan = " ".join(session.execute(text("EXPLAIN " + sql)).scalars())
        else:
            plan = " ".join(row[3] for row in session.execute(text("EXPLAIN QUERY PLAN " + sql)))
    assert "ix_journal_entries_periods" in plan
    assert services.closed_through(ledger) == (dt.date(2020, 1, 31), ledger.user_name)


def test_close_and_reopen_from_the_command_line(ledger):
    args = ("--db", ledger.url, "--user", "officer")
    assert invoke_cli(*args, "close-period", "--through", "2020-01-31", "--reason", "January")[:2] == (
        0, "closed through 2020-01-31: entry 1\n")
    code, _, err = invoke_cli(*args, "close-period", "--through", "2020-01-30", "--reason", "x")
    assert (code, err) == (1, "error: through: 2020-01-30 is not the last day of a month\n")
    assert invoke_cli(*args, "reopen-period", "--reason", "late invoice")[:2] == (0, "reopened: entry 2; no period is closed\n")


def test_settings_list_shows_the_values_in_force_and_with_history_every_version(ledger):
    services.set_setting(ledger, "reminder_days", "14", "monthly calls")
    services.set_setting(ledger, "iati_recipient_country", "KE")
    services.set_setting(ledger, "reminder_days", "21", "fortnight was short")
    with ledger.reading() as session:
        at = [f"{s:%Y-%m-%dT%H:%M:%S.%f}Z" for s in session.execute(select(Setting.recorded_at).order_by(Setting.id)).scalars()]
    code, out, err = invoke_cli("--db", ledger.url, "--user", "officer", "settings", "list")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 10 and "history" not in out
    assert lines[0] == "usd_tolerance_pct\t10\t(default)"
    assert lines[1] == f"reminder_days\t21\tset by {ledger.user_name} at {at[2]}: fortnight was short"
    assert lines[3] == "iati_reporting_org_ref\t\t(not set)"
    assert lines[9] == f"iati_recipient_country\tKE\tset by {ledger.user_name} at {at[1]}"
    code, out, err = invoke_cli("--db", ledger.url, "--user", "officer", "settings", "list", "--history")
    assert (code, err) == (0, "")
    assert out.splitlines()[:10] == lines
    assert out.splitlines()[10:] == [
        "", "history (3 versions, oldest first): name, value, who, when (UTC), why",
        f"reminder_days\t14\t{ledger.user_name}\t{at[0]}\tmonthly calls",
        f"iati_recipient_country\tKE\t{ledger.user_name}\t{at[1]}\t",
        f"reminder_days\t21\t{ledger.user_name}\t{at[2]}\tfortnight was short"]


def test_the_recipient_is_a_region_or_a_country_never_both(ledger):
    services.set_setting(ledger, "iati_recipient_country", "KE")
    with pytest.raises(LedgerError) as refused:
        services.set_setting(ledger, "iati_recipient_region", "998")
    assert str(refused.value) == ('value: iati_recipient_country is set (KE): the recipient is a region or a country, '
                                  'not both; clear it first (settings set iati_recipient_country "")')
    assert services.set_setting(ledger, "iati_recipient_country", "", "a region instead") == "set"
    assert services.set_setting(ledger, "iati_recipient_region", "998") == "set"
    code, _, err = invoke_cli("--db", ledger.url, "--user", "officer", "settings", "set", "iati_recipient_country", "UG")
    assert code == 1
    assert err.strip() == ('error: value: iati_recipient_region is set (998): the recipient is a region or a country, '
                           'not both; clear it first (settings set iati_recipient_region "")')
    values = {name: value for name, value, _ in services.settings_in_force(ledger)}
    assert (values["iati_recipient_region"], values["iati_recipient_country"]) == ("998", "")
