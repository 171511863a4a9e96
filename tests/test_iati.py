"""The IATI 2.03 activity file: valid against the official schema, with the right transactions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from ledger import services
from ledger.inputs import CancellationIn, ReversalIn
from reports.iati import export_iati
from tests.builders import donor, pledge, receipt, refused, worked_example

# a copy of the official schema (tests/data/iati-2.03), so that the test never depends on the network
SCHEMA_DIR = Path(__file__).parent / "data" / "iati-2.03"


@pytest.fixture(scope="module")
def schema():
    path = SCHEMA_DIR / "iati-activities-schema.xsd"
    assert path.exists(), f"the IATI 2.03 schema is missing at {path}"
    return etree.XMLSchema(etree.parse(str(path)))


IATI_SETTINGS = {
    "iati_reporting_org_ref": "XM-EXAMPLE-1", "iati_reporting_org_name": "Trust fund", "iati_reporting_org_type": "40",
    "iati_activity_identifier": "XM-EXAMPLE-1-CCPCJ-20-7", "iati_sector": "15210", "iati_recipient_region": "998",
}


def publish_settings(ledger, **changes) -> None:
    for name, value in {**IATI_SETTINGS, **changes}.items():
        if value is not None:  # None: left as it is
            services.set_setting(ledger, name, value)


def export(ledger, tmp_path, as_of=dt.date(2016, 12, 31), publish=True):
    path = tmp_path / "activity.xml"
    if publish:
        publish_settings(ledger)
    export_iati(ledger, path, as_of)
    return etree.parse(str(path))


def transactions(tree):
    return [
        (t.get("ref"), t.find("transaction-type").get("code"), t.find("transaction-date").get("iso-date"),
         t.find("value").get("currency"), t.find("value").get("value-date"), t.findtext("value"))
        for t in tree.getroot().iter("transaction")
    ]


def test_worked_example_validates_and_has_every_event(ledger, tmp_path, schema):
    worked_example(ledger)
    tree = export(ledger, tmp_path)
    schema.assertValid(tree)
    activity = tree.getroot()[0]
    assert tree.getroot().get("version") == "2.03"
    assert activity.findtext("iati-identifier") == "XM-EXAMPLE-1-CCPCJ-20-7"
    assert transactions(tree) == [
        ("P1", "11", "2011-06-01", "NOK", "2011-06-01", "1500000.00"),
        ("P2", "11", "2011-07-01", "USD", "2011-07-01", "250000.00"),
        ("R1", "1", "2011-08-01", "NOK", "2011-08-01", "750000.00"),
        ("R2", "1", "2011-08-15", "USD", "2011-08-15", "100000.00"),
        ("D1", "4", "2011-09-01", "USD", "2011-09-01", "50000.00"),
    ]
    funders = [(o.get("role"), o.get("type"), o.findtext("narrative")) for o in activity.iter("participating-org")]
    assert funders == [("1", "10", "Norway"), ("1", "10", "United States"), ("4", "40", "Trust fund")]
    budgets = [(b.find("period-start").get("iso-date"), b.find("period-end").get("iso-date"), b.findtext("value"),
                b.find("value").get("currency")) for b in activity.iter("budget")]
    # A1 (USD 500,000) and A4 (200,000) have no planned dates: a year from the adoption, 2011-04-15 to
    # 2012-04-13, 261 days in 2011 and 104 in 2012. A1: 500,000 x 261/365 = 357,534.2466 -> 357,534.25
    # (the larger remainder takes the cent), 142,465.75 in 2012; A4: 200,000 x 261/365 = 143,013.70
    # and 56,986.30. Per calendar year: 500,547.95 and 199,452.05 (together 700,000.00).
    assert budgets == [("2011-01-01", "2011-12-31", "500547.95", "USD"), ("2012-01-01", "2012-12-31", "199452.05", "USD")]
    provider = activity.find("transaction").find("provider-org")
    assert provider.findtext("narrative") == "Norway"


def test_as_of_cancellations_and_reversals(ledger, tmp_path, schema):
    worked_example(ledger)
    services.cancel_pledge(ledger, CancellationIn(pledge="P2", amount="50000", cancelled_on="2012-01-01",
                                                  reason="budget cut"))
    services.reverse(ledger, ReversalIn(entry_id=5, reason="wrong activity", reversed_on="2012-02-01"))
    tree = export(ledger, tmp_path)
    schema.assertValid(tree)
    got = transactions(tree)
    assert got[-2:] == [
        ("P2", "11", "2012-01-01", "USD", "2012-01-01", "-50000.00"),
        ("D1", "4", "2012-02-01", "USD", "2012-02-01", "-50000.00"),
    ]
    counts = {code: sum(1 for t in got if t[1] == code) for code in ("11", "1", "4")}
    assert counts == {"11": 3, "1": 2, "4": 2}
    early = transactions(export(ledger, tmp_path, dt.date(2011, 8, 10)))
    assert [t[0] for t in early] == ["P1", "P2", "R1"]


def test_hostile_and_unusual_text_still_validates(ledger, tmp_path, schema):
    worked_example(ledger)
    donor(ledger, "X", "<&> \"quoted\" =HYPERLINK() ünïcödé", kind="foundation")
    pledge(ledger, "P<9>", "X", "2012-01-01", "USD", {None: "1"})
    tree = export(ledger, tmp_path)
    schema.assertValid(tree)
    org = [o for o in tree.getroot().iter("participating-org") if o.get("type") == "60"]
    assert org[0].findtext("narrative") == "<&> \"quoted\" =HYPERLINK() ünïcödé"


def test_iati_command(ledger, db_url, tmp_path, schema):
    from cli import commands  # noqa: F401
    from cli.main import cli

    worked_example(ledger)
    target = tmp_path / "a.xml"
    args = ["--db", db_url, "--user", "officer", "iati", "-o", str(target), "--as-of", "2016-12-31"]
    result = CliRunner().invoke(cli, [*args, "--org-ref", "XM-EXAMPLE-2"])
    assert result.exit_code == 1 and "--org-ref: the reporting organisation is a ledger setting now" in result.output
    assert "donor-ledger settings set iati_reporting_org_ref VALUE" in result.output and not target.exists()
    publish_settings(ledger)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "5 transactions, 2 budgets, 0 planned disbursements" in result.output
    schema.assertValid(etree.parse(str(target)))
    result = CliRunner().invoke(cli, ["--db", db_url, "--user", "officer", "iati", "-o", str(tmp_path / "a.json")])
    assert result.exit_code == 1 and "must end in .xml" in result.output


# -- donors' IATI organisation identifiers ------------------------------------------------------
def test_donor_iati_ref_is_imported_versioned_and_a_bad_shape_is_refused(ledger, db_url, tmp_path):
    from ledger import queries
    from tests.builders import invoke_cli

    good = tmp_path / "donors.csv"
    good.write_text("code,name,kind,iati_ref\nNOR,Norway,member-state,XM-DAC-8\nONF,Open Networks,foundation,\n")
    code, out, err = invoke_cli("--db", db_url, "--user", "officer", "import", "donors", str(good))
    assert code == 0, err
    assert {d.code: d.iati_ref for d in queries.donors(ledger)} == {"NOR": "XM-DAC-8", "ONF": None}
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,iati_ref\nNOR,Norway,XM-DAC-5\nGER,Germany,DAC 5\n")
    code, out, err = invoke_cli("--db", db_url, "--user", "officer", "import", "donors", str(bad))
    assert code == 1
    assert f"{bad}:3: iati_ref: 'DAC 5' is not an IATI organisation identifier such as XM-DAC-41119" in err
    assert {d.code: d.iati_ref for d in queries.donors(ledger)} == {"NOR": "XM-DAC-8", "ONF": None}  # nothing written
    donor(ledger, "NOR", "Norway", iati_ref="XM-DAC-5")  # a change is a version
    trail = queries.history(ledger, "donors", "NOR")
    assert [(c.field, c.old, c.new) for c in trail[-1].changes] == [("iati_ref", "XM-DAC-8", "XM-DAC-5")]


def test_a_missing_setting_is_refused_naming_it_and_the_command(ledger, tmp_path):
    worked_example(ledger)
    path = tmp_path / "activity.xml"
    message = refused(export_iati, ledger, path, dt.date(2016, 12, 31))
    for name in ("iati_reporting_org_ref", "iati_reporting_org_name", "iati_reporting_org_type",
                 "iati_activity_identifier", "iati_sector"):
        assert f"{name}: not set" in message and f"`donor-ledger settings set {name} VALUE`" in message
    assert "iati_recipient_region: not set, nor iati_recipient_country" in message
    publish_settings(ledger, iati_sector=None)
    assert refused(export_iati, ledger, path, dt.date(2016, 12, 31)) == (
        "iati_sector: not set (the DAC 5-digit purpose code, e.g. 15210): an admin sets it with "
        "`donor-ledger settings set iati_sector VALUE`")
    assert not path.exists()


def test_commitments_refs_sector_recipient_and_planned_disbursements(ledger, tmp_path, schema):
    """P3 (GER, XM-DAC-5) is due on 2016-06-30 and 40,000.00 of its 100,000.00 is unpaid: one
    planned disbursement from GER to the trust fund."""
    worked_example(ledger)
    donor(ledger, "GER", "Germany", iati_ref="XM-DAC-5")
    pledge(ledger, "P3", "GER", "2016-01-10", "USD", {1: "100000"}, due_on="2016-06-30")
    receipt(ledger, "R3", "P3", "2016-03-01", "60000")
    publish_settings(ledger, iati_recipient_region=None, iati_recipient_country="KE")
    tree = export(ledger, tmp_path, publish=False)
    schema.assertValid(tree)
    activity = tree.getroot()[0]
    assert activity.find("recipient-country").get("code") == "KE" and activity.find("recipient-region") is None
    assert (activity.find("sector").get("code"), activity.find("sector").get("vocabulary")) == ("15210", "1")
    assert [(o.get("ref"), o.get("role"), o.get("type")) for o in activity.iter("participating-org")] == [
        ("XM-DAC-5", "1", "10"), (None, "1", "10"), (None, "1", "10"), ("XM-EXAMPLE-1", "4", "40")]
    planned = activity.findall("planned-disbursement")
    assert [(p.find("period-start").get("iso-date"), p.find("value").get("currency"), p.findtext("value"),
             p.find("provider-org").get("ref"), p.find("receiver-org").get("ref")) for p in planned] == [
        ("2016-06-30", "USD", "40000.00", "XM-DAC-5", "XM-EXAMPLE-1")]
    p3 = [t for t in activity.iter("transaction") if t.get("ref") in ("P3", "R3")]
    assert [(t.get("ref"), t.find("transaction-type").get("code"), t.find("provider-org").get("ref")) for t in p3] == [
        ("P3", "11", "XM-DAC-5"), ("R3", "1", "XM-DAC-5")]
    # the ledger refuses money events dated after today, and a file as of a later date says it
    # holds those dated on or before today (IATI refuses dates in the future)
    later = export(ledger, tmp_path, dt.date.today() + dt.timedelta(days=30), publish=False)
    schema.assertValid(later)
    assert f"on or before {dt.date.today().isoformat()}." in later.getroot()[0].find("description").findtext("narrative")


def test_planned_disbursements_are_the_unpaid_instalments_of_the_schedule_in_force(ledger, tmp_path, schema):
    """P3, USD 90,000 due 2016-06-30, re-planned as 30,000 due 2016-03-31, 2016-06-30 and 2016-09-30;
    40,000 received on 2016-05-01 pays the first instalment and 10,000 of the second: two planned
    disbursements, 20,000.00 on 2016-06-30 and 30,000.00 on 2016-09-30."""
    from ledger.inputs import ScheduleIn

    worked_example(ledger)
    donor(ledger, "GER", "Germany", iati_ref="XM-DAC-5")
    pledge(ledger, "P3", "GER", "2016-01-10", "USD", {1: "90000"}, due_on="2016-06-30")
    services.schedule_pledge(ledger, ScheduleIn(pledge="P3", reason="re-planned with the donor", instalments=[
        {"due_on": "2016-03-31", "amount": "30000"}, {"due_on": "2016-06-30", "amount": "30000"},
        {"due_on": "2016-09-30", "amount": "30000"}]))
    receipt(ledger, "R3", "P3", "2016-05-01", "40000")
    tree = export(ledger, tmp_path)
    schema.assertValid(tree)
    planned = tree.getroot()[0].findall("planned-disbursement")
    assert [(p.find("period-start").get("iso-date"), p.findtext("value"), p.find("provider-org").get("ref"))
            for p in planned] == [("2016-06-30", "20000.00", "XM-DAC-5"), ("2016-09-30", "30000.00", "XM-DAC-5")]


def test_the_demo_publishes_a_valid_file_with_its_transactions_by_type(db_url, tmp_path, schema):
    """The demo sets its (fictitious) publisher, so `iati` works on it: 12 pledges committed and
    one cancellation (type 11), 14 receipts (1), 18 disbursements and one reversed (4); the unpaid
    instalments of four pledges are planned disbursements."""
    from tests.builders import invoke_cli

    code, _out, err = invoke_cli("--db", db_url, "--user", "officer", "demo", "--no-tui")
    assert code == 0, err
    target = tmp_path / "demo.xml"
    code, out, err = invoke_cli("--db", db_url, "--user", "officer", "iati", "-o", str(target), "--as-of", "2016-12-31")
    assert code == 0, err
    tree = etree.parse(str(target))
    schema.assertValid(tree)
    activity = tree.getroot()[0]
    assert activity.findtext("iati-identifier") == "XM-EXAMPLE-TRUSTFUND-CCPCJ-20-7"
    types = [t.find("transaction-type").get("code") for t in activity.iter("transaction")]
    assert {code: types.count(code) for code in sorted(set(types))} == {"1": 14, "11": 13, "4": 19}
    negative = [(t.get("ref"), t.find("transaction-type").get("code")) for t in activity.iter("transaction")
                if t.findtext("value").startswith("-")]
    assert negative == [("D-2013-004", "4"), ("AUS-2014-01", "11")]
    refs = {o.findtext("narrative"): o.get("ref") for o in activity.iter("participating-org") if o.get("role") == "1"}
    assert refs["Norway"] == "XM-DAC-8" and refs["Japan"] == "XM-DAC-701" and refs["Open Networks Foundation"] is None
    planned = [(p.find("provider-org").get("ref"), p.find("period-start").get("iso-date"), p.findtext("value"))
               for p in activity.iter("planned-disbursement")]
    # the unpaid instalments: AUS-2014-01 AUD 250,000 - 100,000 received - 50,000 cancelled;
    # JPN-2015-01 JPY 20,000,000 - 10,000,000; USA-2015-01 USD 350,000 - 200,000; NWS-2016-01 EUR 50,000,
    # re-planned with the donor as 20,000 due 2016-12-31 and 15,000 due 2027-03-31 and 2027-09-30
    assert planned == [("XM-DAC-801", "2015-06-30", "100000.00"), ("XM-DAC-701", "2016-03-31", "10000000"),
                       ("XM-DAC-302", "2016-09-30", "150000.00"), (None, "2016-12-31", "20000.00"),
                       (None, "2027-03-31", "15000.00"), (None, "2027-09-30", "15000.00")]


def test_announced_pledges_are_incoming_pledges_until_signed_or_withdrawn(ledger, tmp_path, schema):
    """A3 announced and still announced: 13 at its date; A4 announced, signed on 2016-03-01: 11 at
    the signing (no 13); A5 announced then withdrawn: nothing."""
    from ledger.inputs import SigningIn, WithdrawalIn

    worked_example(ledger)
    for reference, day in (("A3", "2016-01-05"), ("A4", "2016-01-06"), ("A5", "2016-01-07")):
        pledge(ledger, reference, "USA", day, "USD", {4: "1000"}, stage="announced")
    services.sign_pledge(ledger, SigningIn(pledge="A4", signed_on="2016-03-01"))
    services.withdraw_pledge(ledger, WithdrawalIn(pledge="A5", withdrawn_on="2016-03-02", reason="no budget"))
    tree = export(ledger, tmp_path)
    schema.assertValid(tree)
    assert [t for t in transactions(tree) if t[0] in ("A3", "A4", "A5")] == [
        ("A3", "13", "2016-01-05", "USD", "2016-01-05", "1000.00"),
        ("A4", "11", "2016-03-01", "USD", "2016-03-01", "1000.00"),
    ]
    early = transactions(export(ledger, tmp_path, dt.date(2016, 2, 1), publish=False))  # all three announced then
    assert [(t[0], t[1]) for t in early if t[0] in ("A3", "A4", "A5")] == [("A3", "13"), ("A4", "13"), ("A5", "13")]


def test_a_refund_is_negative_incoming_funds_from_the_donor(ledger, tmp_path, schema):
    """P2 (USA) refunds USD 10,000.00 of its unspent cash on 2012-03-01: a type 1 transaction of
    -10000.00 on that date, the donor as provider; reversed on 2012-04-01: +10000.00 again."""
    from ledger.inputs import RefundIn

    worked_example(ledger)
    posted = services.refund(ledger, RefundIn(pledge="P2", amount="10000", refunded_on="2012-03-01", reason="unspent"))
    tree = export(ledger, tmp_path)
    schema.assertValid(tree)
    refund = [t for t in tree.getroot().iter("transaction") if t.find("transaction-date").get("iso-date") == "2012-03-01"]
    assert [(t.get("ref"), t.find("transaction-type").get("code"), t.findtext("value"),
             t.find("provider-org").findtext("narrative")) for t in refund] == [("P2", "1", "-10000.00", "United States")]
    services.reverse(ledger, ReversalIn(entry_id=posted.entry_id, reason="paid twice", reversed_on="2012-04-01"))
    assert transactions(export(ledger, tmp_path, publish=False))[-2:] == [
        ("P2", "1", "2012-03-01", "USD", "2012-03-01", "-10000.00"),
        ("P2", "1", "2012-04-01", "USD", "2012-04-01", "10000.00"),
    ]
