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
from tests.builders import donor, pledge, worked_example

# a copy of the official schema (tests/data/iati-2.03), so that the test never depends on the network
SCHEMA_DIR = Path(__file__).parent / "data" / "iati-2.03"


@pytest.fixture(scope="module")
def schema():
    path = SCHEMA_DIR / "iati-activities-schema.xsd"
    assert path.exists(), f"the IATI 2.03 schema is missing at {path}"
    return etree.XMLSchema(etree.parse(str(path)))


def export(ledger, tmp_path, as_of=dt.date(2016, 12, 31)):
    path = tmp_path / "activity.xml"
    export_iati(ledger, path, as_of, org_ref="XM-EXAMPLE-1", org_name="Trust fund")
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
        ("P1", "13", "2011-06-01", "NOK", "2011-06-01", "1500000.00"),
        ("P2", "13", "2011-07-01", "USD", "2011-07-01", "250000.00"),
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
        ("P2", "13", "2012-01-01", "USD", "2012-01-01", "-50000.00"),
        ("D1", "4", "2012-02-01", "USD", "2012-02-01", "-50000.00"),
    ]
    counts = {code: sum(1 for t in got if t[1] == code) for code in ("13", "1", "4")}
    assert counts == {"13": 3, "1": 2, "4": 2}
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
    result = CliRunner().invoke(cli, ["--db", db_url, "--user", "officer", "iati", "-o", str(target), "--as-of",
                                      "2016-12-31", "--org-ref", "XM-EXAMPLE-2"])
    assert result.exit_code == 0, result.output
    assert "5 transactions, 2 budgets" in result.output
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
