"""A report made at a moment T is made again, figure for figure, with ``--as-recorded-at T`` after
anything posted later (docs/rules.md#as-recorded-at), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import services
from ledger.errors import LedgerError
from ledger.inputs import ActivityUpdate, PledgeIn, RateIn
from reports.donors import donor_report_for, donors_json
from reports.funding import funding_report_for
from reports.render import funding_json
from tests.builders import activity, disburse, donor, invoke_cli, pledge, rate, receipt, reverse

START = dt.date(2020, 1, 1)
_serial = itertools.count()
_rate_days = itertools.count(1)


def fresh(prefix: str) -> str:
    return f"{prefix}{next(_serial)}"


def prepare(ledger) -> None:
    """Rates, donors and activities, once per ledger (hypothesis reuses the fixture)."""
    if ledger.__dict__.get("_prepared"):
        return
    rate(ledger, "EUR", "2019-01-01", "0.91", through="2024-12")  # a rate for every month the events use
    donor(ledger, "D1")
    for paragraph in (1, 2):
        activity(ledger, f"A{paragraph}", paragraph, "1000000", "ongoing", 10)
    ledger.__dict__["_prepared"] = True


def as_issued(report, render=funding_json) -> dict:
    """The report's JSON without the moment it was generated (the one thing that differs)."""
    document = json.loads(render(report))
    del document["generated_at"]
    return document


def reopen_all(ledger) -> None:
    """Reopen every closed period (hypothesis reuses the ledger: the next example starts open)."""
    while services.closed_through(ledger):
        services.reopen_period(ledger, "next example")


amounts = st.integers(1, 2_000_000)
days = st.integers(0, 700)
events = st.lists(st.tuples(st.sampled_from(["pledge", "receipt", "disburse", "reverse"]), amounts, days), max_size=6)
later = st.lists(st.tuples(st.sampled_from(["pledge", "receipt", "disburse", "reverse", "rate", "psc", "budget", "status",
                                            "donor", "rate correction", "correct", "close"]),
                           amounts, days),
                 min_size=1, max_size=6)


def post(ledger, kind: str, amount: int, day: int, made: dict) -> None:
    """One act; refusals (a receipt beyond the pledge, spending without cash) are part of the game."""
    on = (START + dt.timedelta(days=day)).isoformat()
    try:
        if kind == "pledge":
            reference = fresh("P")
            currency = "EUR" if amount % 2 else "USD"
            pledge(ledger, reference, "D1", on, currency, {1 + amount % 2: str(amount), None: "1000"})
            made["pledges"].append(reference)
        elif kind == "receipt" and made["pledges"]:
            posted = receipt(ledger, fresh("R"), made["pledges"][amount % len(made["pledges"])],
                             (START + dt.timedelta(days=day + 700)).isoformat(), str(amount // 3 + 1))
            made["receipts"].append(posted.entry_id)
        elif kind == "disburse":
            disburse(ledger, fresh("X"), f"A{1 + amount % 2}", (START + dt.timedelta(days=day + 1400)).isoformat(),
                     str(amount // 50 + 1))
        elif kind == "reverse" and made["receipts"]:
            reverse(ledger, made["receipts"].pop(amount % len(made["receipts"])))
        elif kind == "rate":  # a rate recorded later, in force on the as-of date: valuations as of today move
            effective = dt.date.today() - dt.timedelta(days=next(_rate_days))
            rate(ledger, "EUR", effective.isoformat(), f"0.{80 + amount % 19}")
        elif kind == "budget":  # a budget revision by the programme role
            services.update_activity(ledger, ActivityUpdate(code=f"A{1 + amount % 2}", budget_usd=str(1_000_000 + amount),
                                                            reason="revised work plan"))
        elif kind == "status":  # progress and status change: requirement, progress and counts move
            status = ("ongoing", "completed", "cancelled")[amount % 3]
            services.update_activity(ledger, ActivityUpdate(code=f"A{1 + amount % 2}", status=status,
                                                            progress_pct=amount % 101))
        elif kind == "psc":  # a new default PSC rate, then a pledge that takes it
            services.set_setting(ledger, "default_psc_rate", str(amount % 20))
            services.record_pledge(ledger, PledgeIn(reference=fresh("P"), donor="D1", pledged_on=on, currency="USD",
                                                    allocations=[{"paragraph": 2, "amount": str(amount)}]))
        elif kind == "donor" and amount % 2:  # a donor renamed: its name and kind as recorded move
            donor(ledger, "D1", fresh("Donor "), kind=("foundation", "member-state")[amount % 4 // 2])
        elif kind == "donor":  # a new donor, with a pledge back-dated among the earlier ones
            code = fresh("N")
            donor(ledger, code, f"New donor {code}")
            pledge(ledger, fresh("P"), code, on, "USD", {1: str(amount)})
        elif kind == "rate correction":  # another value for a rate already recorded, with a reason
            effective = dt.date(2019 + amount % 6, 1 + amount % 12, 1)
            services.add_rate(ledger, RateIn(currency="EUR", effective_from=effective.isoformat(),
                                             units_per_usd=f"0.{80 + amount % 19}", reason="UN revision"))
        elif kind == "correct" and made["receipts"]:  # a receipt reversed and posted again, corrected
            entry_id = made["receipts"].pop(amount % len(made["receipts"]))
            changes = {"amount": str(amount // 5 + 1)} if amount % 2 else {"bank_reference": fresh("B")}
            made["receipts"].append(services.correct(ledger, entry_id, "entered in error", changes).entry_id)
        elif kind == "close":  # a period closed, then a receipt back-dated into the open period after it
            through = START + dt.timedelta(days=day + 700)
            through = dt.date(through.year + through.month // 12, through.month % 12 + 1, 1) - dt.timedelta(days=1)
            services.close_period(ledger, through, "year-end")
            if made["pledges"]:
                posted = receipt(ledger, fresh("R"), made["pledges"][amount % len(made["pledges"])],
                                 (through + dt.timedelta(days=1 + amount % 28)).isoformat(), str(amount // 7 + 1))
                made["receipts"].append(posted.entry_id)
    except LedgerError:
        pass


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=10)
@given(before=events, after=later)
def test_the_funding_and_donor_reports_as_recorded_at_t_are_the_ones_made_at_t(ledger, before, after):
    """Later postings of every kind (back-dated events, rates and rate corrections, corrections,
    reversals, budget, status, donor and PSC changes, a close with a receipt after it) leave both
    reports as recorded at T as they were made at T."""
    prepare(ledger)
    made = {"pledges": [], "receipts": []}
    try:
        for kind, amount, day in before:
            post(ledger, kind, amount, day, made)
        issued = funding_report_for(ledger)
        donors = donor_report_for(ledger)
        for kind, amount, day in after:
            post(ledger, kind, amount, day, made)
        again = funding_report_for(ledger, issued.as_of, issued.as_recorded_at)
        assert as_issued(again) == as_issued(issued)
        again_donors = donor_report_for(ledger, donors.as_of, donors.as_recorded_at)
        assert as_issued(again_donors, donors_json) == as_issued(donors, donors_json)
    finally:
        reopen_all(ledger)


def test_the_command_a_report_prints_makes_it_again_after_later_postings(ledger):
    """The worked case: a report of last quarter, then a back-dated receipt, a new rate and a
    reversal; the printed command gives the first report's figures, and the chain head then."""
    args = ("--db", ledger.url, "--user", "officer")
    rate(ledger, "EUR", "2020-01-01", "0.90", through="2020-09")
    donor(ledger, "D1")
    activity(ledger, "A1", 1, "100000", "ongoing", 50)
    pledge(ledger, "P1", "D1", "2020-02-01", "EUR", {1: "90000"})
    first = receipt(ledger, "R1", "P1", "2020-03-01", "45000")
    code, out, _ = invoke_cli(*args, "report", "funding", "--as-of", "2020-12-31", "--format", "json")
    assert code == 0
    issued = json.loads(out)
    others = {name: json.loads(invoke_cli(*args, "report", name, "--as-of", "2020-12-31", "--format", "json")[1])
              for name in ("donors", "ageing")}
    assert issued["totals"]["pledged"] == "100000.00" and issued["totals"]["received"] == "50000.00"
    assert issued["totals"]["outstanding"] == "50000.00" and issued["journal_entries"] == 2
    receipt(ledger, "R2", "P1", "2020-06-30", "9000")  # back-dated into the quarter reported
    rate(ledger, "EUR", "2020-10-01", "0.75", through="2020-12")  # rates in force on the as-of date, recorded later
    reverse(ledger, first.entry_id)
    code, out, _ = invoke_cli(*args, *issued["command"].split()[1:], "--format", "json")
    assert code == 0
    again = json.loads(out)
    assert again["as_recorded_at"] == issued["as_recorded_at"] and again["journal_entries"] == 2
    del again["generated_at"], issued["generated_at"]
    assert again == issued
    for name, first_one in others.items():  # the donor statements and the ageing as well
        code, out, _ = invoke_cli(*args, *first_one["command"].split()[1:], "--format", "json")
        assert code == 0 and first_one["command"].startswith(f"donor-ledger report {name} --as-of 2020-12-31 ")
        second = json.loads(out)
        del second["generated_at"], first_one["generated_at"]
        assert second == first_one
    now = json.loads(invoke_cli(*args, "report", "funding", "--as-of", "2020-12-31", "--format", "json")[1])
    assert now["totals"]["received"] == "60000.00"  # R1 and R2: R1's reversal is dated today, after the as-of date
    assert now["totals"]["outstanding"] == "48000.00"  # EUR 36,000 at 0.75
    assert now["journal_entries"] == 4


def workbook_values(path) -> dict[str, list]:
    """Every sheet's cell values, the About sheet's generation time left out."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    values = {}
    for sheet in book.worksheets:
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        if sheet.title == "About":
            rows = [row for row in rows if row[0] not in ("Generated at (UTC)",)]
        values[sheet.title] = rows
    return values


def iati_text(path) -> str:
    """The IATI file without its generation times (the one thing that differs)."""
    import re

    return re.sub(r'(generated|last-updated)-datetime="[^"]*"', "", path.read_text(encoding="utf-8"))


def budget_total(text: str) -> Decimal:
    """The sum of the IATI file's yearly budgets."""
    import re

    return sum((Decimal(v) for v in re.findall(r'<budget .*?<value [^>]*>([^<]*)</value>', text, re.S)), Decimal(0))


def test_the_workbook_as_recorded_at_t_is_the_one_made_at_t(ledger, tmp_path):
    from reports.iati import export_iati
    from reports.workbook import export_workbook

    for name, value in (("iati_reporting_org_ref", "XM-DAC-41119"), ("iati_reporting_org_name", "UNODC"),
                        ("iati_reporting_org_type", "40"), ("iati_activity_identifier", "XM-DAC-41119-RES-20-7"),
                        ("iati_sector", "15210"), ("iati_recipient_region", "998")):
        services.set_setting(ledger, name, value)
    rate(ledger, "EUR", "2020-01-01", "0.90", through="2020-09")
    donor(ledger, "D1", "Donor One")
    activity(ledger, "A1", 1, "100000", "ongoing", 50)
    pledge(ledger, "P1", "D1", "2020-02-01", "EUR", {1: "90000", None: "9000"})
    first = receipt(ledger, "R1", "P1", "2020-03-01", "45000")
    disburse(ledger, "X1", "A1", "2020-04-01", "1000")
    issued = export_workbook(ledger, tmp_path / "issued.xlsx", dt.date(2020, 12, 31))
    before = workbook_values(tmp_path / "issued.xlsx")
    about = {row[0]: row[1] for row in before["About"]}
    moment = about["As recorded at (UTC)"]
    assert about["Chain entries at that moment"] == 3 == issued.entries  # pledge, receipt, disbursement
    assert about["Command that makes this workbook again"] == (
        f"donor-ledger export -o FILE.xlsx --as-of 2020-12-31 --as-recorded-at {moment}")
    assert before["Donors"][1][:3] == ["D1", "Donor One", "member-state"] and len(before["Donors"]) == 3  # and the total
    assert [row[:3] for row in before["Pledges"][1:]] == [["P1", "D1", "Donor One"]] * 2
    export_iati(ledger, tmp_path / "issued.xml", dt.date(2020, 12, 31))
    issued_iati = iati_text(tmp_path / "issued.xml")
    assert "Donor One" in issued_iati and budget_total(issued_iati) == Decimal("100000.00")
    receipt(ledger, "R2", "P1", "2020-06-30", "9000")
    pledge(ledger, "P2", "D1", "2020-05-01", "USD", {1: "5000"})
    rate(ledger, "EUR", "2020-10-01", "0.75", through="2020-12")
    activity(ledger, "A2", 2, "5000", "planned", 0)
    disburse(ledger, "X2", "A1", "2020-07-01", "2000")
    services.update_activity(ledger, ActivityUpdate(code="A1", status="completed", progress_pct=100))
    services.update_activity(ledger, ActivityUpdate(code="A1", budget_usd="250000", reason="revised work plan"))
    donor(ledger, "D1", "Donor One renamed", kind="foundation")  # a donor renamed after T
    donor(ledger, "D2", "Donor Two")  # and one created after T, with a pledge back-dated into the year
    pledge(ledger, "P3", "D2", "2020-08-01", "USD", {1: "7000"})
    reverse(ledger, first.entry_id, on=dt.date.today().isoformat())
    from ledger.clock import parse_moment

    export_workbook(ledger, tmp_path / "again.xlsx", dt.date(2020, 12, 31), recorded_at=parse_moment(moment))
    assert workbook_values(tmp_path / "again.xlsx") == before
    export_iati(ledger, tmp_path / "again.xml", dt.date(2020, 12, 31), recorded_at=parse_moment(moment))
    assert iati_text(tmp_path / "again.xml") == issued_iati
    export_iati(ledger, tmp_path / "now.xml", dt.date(2020, 12, 31))  # today: the rename, D2, the budget
    now = iati_text(tmp_path / "now.xml")
    assert "Donor One renamed" in now and "Donor Two" in now and "Donor One<" not in now
    assert budget_total(now) == Decimal("255000.00")  # A1 revised to 250,000 and A2's 5,000


def test_report_alerts_as_recorded_at_t_is_the_one_made_at_t(ledger):
    """``report alerts`` made at T, then a back-dated receipt, a new rate, spending and activity
    changes: the command it printed (``--as-recorded-at T``) gives it again, figure for figure."""
    args = ("--db", ledger.url, "--user", "officer")
    rate(ledger, "EUR", "2020-01-01", "0.90", through="2020-09")
    donor(ledger, "D1")
    activity(ledger, "A1", 1, "100000", "ongoing", 50)
    activity(ledger, "A2", 2, "30000", "planned", 0)
    pledge(ledger, "P1", "D1", "2020-02-01", "EUR", {1: "90000"}, due_on="2020-06-30")
    receipt(ledger, "R1", "P1", "2020-03-01", "45000")  # USD 50,000.00
    disburse(ledger, "X1", "A1", "2020-04-01", "10000")  # and PSC 1,300.00: 38,700.00 left
    code, out, _ = invoke_cli(*args, "report", "alerts", "--as-of", "2020-12-31", "--format", "json")
    assert code == 0
    issued = json.loads(out)
    assert issued["command"] == f"donor-ledger report alerts --as-of 2020-12-31 --as-recorded-at {issued['as_recorded_at']}"
    assert issued["closed_through"] is None and issued["journal_entries"] == 3
    assert (issued["overdue_pledges"], issued["overdue_usd"]) == (1, "50000.00")  # EUR 45,000 at 0.90
    assert issued["overdue"] == [{"pledge": "P1", "donor": "D1", "due_on": "2020-06-30", "days_late": 184,
                                  "currency": "EUR", "outstanding": "45000.00", "outstanding_usd": "50000.00"}]
    assert issued["cash_needs"] == [
        {"paragraph": 1, "title": issued["cash_needs"][0]["title"], "need_usd": "90000.00", "cash_usd": "38700.00",
         "shortfall_usd": "51300.00"},
        {"paragraph": 2, "title": issued["cash_needs"][1]["title"], "need_usd": "30000.00", "cash_usd": "0.00",
         "shortfall_usd": "30000.00"},
    ]
    assert issued["chain"]["ok"] and issued["chain"]["entries"] == 3 and issued["chain"]["head"] == issued["chain_head"]
    assert issued["stale_rates"] == [{"currency": "EUR", "effective_from": "2020-09-01", "age_days": 121}]
    receipt(ledger, "R2", "P1", "2020-07-15", "9000")  # back-dated into the period reported
    rate(ledger, "EUR", "2020-10-01", "0.75", through="2020-12")  # in force on the as-of date, recorded later
    disburse(ledger, "X2", "A1", "2020-08-01", "5000")
    services.update_activity(ledger, ActivityUpdate(code="A2", budget_usd="50000", reason="revised work plan"))
    services.update_activity(ledger, ActivityUpdate(code="A1", status="completed", progress_pct=100))
    code, out, _ = invoke_cli(*args, *issued["command"].split()[1:], "--format", "json")
    assert code == 0
    again = json.loads(out)
    del again["generated_at"], issued["generated_at"]
    assert again == issued
    from ledger.alerts import alerts_for
    from ledger.clock import parse_moment

    dashboard = alerts_for(ledger, dt.date(2020, 12, 31), limit=5, recorded_at=parse_moment(issued["as_recorded_at"]))
    assert [(a.reference, str(a.outstanding_usd)) for a in dashboard.overdue] == [("P1", "50000.00")]  # what the dashboard shows at T
    assert [(c.paragraph, str(c.need_usd)) for c in dashboard.cash_needs] == [(1, "90000.00"), (2, "30000.00")]
    code, out, _ = invoke_cli(*args, "report", "alerts", "--as-of", "2020-12-31", "--format", "json")
    now = json.loads(out)
    assert now["journal_entries"] == 5 and now["chain"]["entries"] == 5
    assert now["overdue_usd"] == "48000.00" and now["stale_rates"] == []  # EUR 36,000 at 0.75 (December's rate)
    assert [(c["paragraph"], c["need_usd"]) for c in now["cash_needs"]] == [(2, "50000.00")]  # A1 completed
    code, out, _ = invoke_cli(*args, *issued["command"].split()[1:])  # the table names the moment and the command
    text = " ".join(out.split())
    assert code == 0 and issued["command"] in text and "stale rates used: EUR from 2020-09-01 (121 days old)" in text
