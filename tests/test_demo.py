"""``donor-ledger demo``: the shipped data set loads through the importers, on both databases,
and its funding report is the one written out below.

Figures checked by hand (rates from imports/demo/rates.csv, one on the 1st of every month
2011-01 through 2026-12):
- requirements: paragraph 1 = A1-01 1,200,000 + A1-02 800,000; paragraph 5 = A5-01 600,000 +
  A5-02 900,000 (A5-03, cancelled, does not count); total 4,360,000.
- paragraph 7 pledged: GBP 20,000 at 0.626 (2012-10-01) = 31,948.88; programmable at PSC 7 %:
  31,948.88 * 100 / 107 = 29,858.77; its cash went entirely to D-2016-003 (30,294.31 + PSC 7 %
  2,120.60 = 32,414.91 received), the rest of the 45,000 came from unearmarked money.
- outstanding as of 2016-12-31: paragraph 1 = JPY 10,000,000 of JPN-2015-01 at 113.84 = 87,842.59;
  paragraph 5 = USD 150,000 of USA-2015-01 + AUD 100,000 of AUS-2014-01 (250,000 - 100,000
  received - 50,000 cancelled) at 1.380 = 72,463.77, together 222,463.77; unearmarked = EUR 50,000
  of NWS-2016-01 at 0.946 = 52,854.12.
- spent on paragraph 4: 100,000 + EUR 50,000 at 0.741 (2013-07-01) = 67,476.38, + 30,000 - 30,000
  reversed = 167,476.38. Paragraph 5: 200,000 + 250,000 + 120,000 = 570,000, all from paragraph-5
  money at PSC 13 % = 74,100.00.
- progress of paragraph 1: (1,200,000 x 100 + 800,000 x 60) / 2,000,000 = 84.0; of all:
  (120 + 48 + 45 + 17.5 + 21 + 0 + 6) / 436 = 59.1.
- paragraph 5 pledged: AUS-2014-01's cancellation of AUD 50,000 (after 100,000 received) is USD
  exactly the carrying value it moves at the pledge's 1.178, round(150,000 / 1.178) -
  round(100,000 / 1.178) = 127,334.47 - 84,889.64 = 42,444.83 (round(50,000 / 1.178) would be
  42,444.82): pledged 1,397,413.73, programmable 1,236,649.31.
- total gap: 321,674.33 + 105,881.86 + 29,737.52 + 263,350.69 + 30,141.23 = 750,785.63, less the
  unearmarked programmable 549,558.03 = 201,227.60.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

import cli.commands  # noqa: F401  (registers the sub-commands)
from cli.main import cli

KEYS = ("requirement", "pledged", "programmable", "received", "outstanding", "fx_difference", "disbursed", "psc",
        "available", "spent_on_activities", "coverage_pct", "delivery_pct", "progress_pct", "gap",
        "activities_total", "activities_completed")
EXPECTED = {
    1: ("2000000.00", "1896508.00", "1678325.67", "1789315.75", "87842.59", "-19349.66", "1583465.26", "205850.49",
        "0.00", "1680000.00", "83.9", "84.0", "84.0", "321674.33", 2, 1),
    2: ("0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", None, None, None, "0.00", 0, 0),
    3: ("450000.00", "388853.50", "344118.14", "383317.78", "0.00", "-5535.72", "339219.27", "44098.51", "0.00",
        "450000.00", "76.5", "100.0", "100.0", "105881.86", 1, 1),
    4: ("350000.00", "348460.15", "320262.48", "352361.83", "0.00", "3901.68", "167476.38", "11723.35",
        "173162.10", "167476.38", "91.5", "47.9", "50.0", "29737.52", 1, 0),
    5: ("1500000.00", "1397413.73", "1236649.31", "1119790.99", "222463.77", "-55158.97", "570000.00", "74100.00",
        "475690.99", "570000.00", "82.4", "38.0", "14.0", "263350.69", 2, 0),
    6: ("0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", None, None, None, "0.00", 0, 0),
    7: ("60000.00", "31948.88", "29858.77", "32414.91", "0.00", "466.03", "30294.31", "2120.60", "0.00",
        "45000.00", "49.8", "75.0", "100.0", "30141.23", 1, 1),
    None: ("0.00", "621000.57", "549558.03", "563010.97", "52854.12", "-5135.48", "222021.16", "28862.74",
           "312127.07", "0.00", None, None, None, "0.00", 0, 0),
    "totals": ("4360000.00", "4684184.83", "4158772.40", "4240212.23", "363160.48", "-80812.12", "2912476.38",
               "366755.69", "960980.16", "2912476.38", "95.4", "66.8", "59.1", "201227.60", 7, 3),
}


def run(url: str, *args: str):
    return CliRunner().invoke(cli, ["--db", url, "--user", "officer", *args])


def funding(url: str, *extra: str) -> dict:
    result = run(url, "report", "funding", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rows = {row["paragraph"]: tuple(row[k] for k in KEYS) for row in report["rows"]}
    rows["totals"] = tuple(report["totals"][k] for k in KEYS)
    return {"rows": rows, "entries": report["journal_entries"], "head": report["chain_head"]}


def announced(url: str, *extra: str) -> tuple:
    """The announced USD of paragraph 2, the unearmarked row and the totals."""
    report = json.loads(run(url, "report", "funding", "--format", "json", *(("--as-of", extra[0]) if extra else ())).stdout)
    rows = {row["paragraph"]: row["announced"] for row in report["rows"]}
    return rows[2], rows[None], report["totals"]["announced"]


def test_demo_loads_verifies_and_reports_the_figures_written_out(db_url):
    result = run(db_url, "demo", "--no-tui")
    assert result.exit_code == 0, result.output
    assert result.stderr == ("demo loaded: 1221 rows (donors 8, rates 1152, activities 8, pledges 18, receipts 14, "
                             "disbursements 18, instalments 3), one cancellation, one reversal, the periods closed "
                             "through 2015-12-31, one pledge announced and one announced then signed, and in 2017 one "
                             "reallocation, one refund and one closed pledge\n")
    assert "Funding vs implementation" in result.stdout
    verify = run(db_url, "verify")
    assert verify.exit_code == 0, verify.output
    # 12 pledges, 14 receipts, 18 disbursements, 2, the close; NOR-2017-01 announced, CAN-2017-01 announced and
    # signed; the schedule of NWS-2016-01; the reallocation, the refund, the closing (2017)
    assert verify.stdout.startswith("OK: chain intact: 54 entries")
    # NWS-2016-01 re-planned in three instalments: the first (EUR 20,000.00, due 2016-12-31) is overdue today
    alerts = json.loads(run(db_url, "report", "alerts", "--format", "json").stdout)
    nws = [(a["due_on"], a["outstanding"]) for a in alerts["overdue"] if a["pledge"] == "NWS-2016-01"]
    assert nws == [("2016-12-31", "20000.00")]
    as_of_2016 = funding(db_url, "--as-of", "2016-12-31")
    assert as_of_2016["rows"] == EXPECTED
    # after 2016 only the stages: NOR-2017-01, NOK 2,000,000 to paragraph 2 announced 2017-03-01 at 8.3332 =
    # 240,003.84 announced; CAN-2017-01, CAD 400,000 unearmarked announced 2017-06-01 at 1.2948 = 308,928.02,
    # signed 2018-03-01 at 1.3052 = 306,466.44 pledged, programmable 306,466.44 * 100 / 113 = 271,209.24
    assert announced(db_url, "2016-12-31") == ("0.00", "0.00", "0.00")
    assert announced(db_url, "2017-12-31") == ("240003.84", "308928.02", "548931.86")
    assert announced(db_url) == ("240003.84", "0.00", "240003.84")
    # monthly rates through 2026-12 (the last, of that month: JPY 148.00, AUD 1.52, EUR 0.86, CAD 1.38):
    # today's report differs in the outstanding valued at them and in CAN-2017-01
    # paragraph 1: JPY 10,000,000 / 148 = 67,567.57; paragraph 5: USD 150,000.00 + AUD 100,000 / 1.52
    # = 65,789.47; unearmarked: EUR 50,000 / 0.86 = 58,139.53 + CAD 400,000 / 1.38 = 289,855.07;
    # fx_difference = received + outstanding - pledged
    today = {key: dict(zip(KEYS, row, strict=True)) for key, row in EXPECTED.items()}
    for key, outstanding, fx in ((5, "215789.47", "-61833.27"), (None, "347994.60", "-16461.44")):
        today[key] |= {"outstanding": outstanding, "fx_difference": fx}
    today[None] |= {"pledged": "927467.01", "programmable": "820767.27"}  # 621,000.57 + 306,466.44; 549,558.03 + 271,209.24
    # 2017: JPY 2,000,000 of JPN-2015-01 moved from paragraph 1 to 3 (at its rate 120.25: paragraph 1's
    # carrying value 83,160.08 -> round(8,000,000 / 120.25) = 66,528.07, a move of 16,632.01; the new
    # paragraph-3 allocation round(2,000,000 / 120.25) = 16,632.02: the pledge's pledged USD rises a cent);
    # valued today at 148: 8,000,000 -> 54,054.05, 2,000,000 -> 13,513.51.
    # GBR-2012-01's unspent paragraph-4 cash, USD 63,912.10 (GBP 49,653.31), refunded, then the pledge closed:
    # paragraph 4 pledged 348,460.15 - 63,912.10 = 284,548.05, programmable 175,704.51 / 1.07 = 164,209.82 +
    # ONF 96,321.72 = 260,531.54, available 173,162.10 - 63,912.10 = 109,250.00 (ONF's), fx unchanged.
    today[1] |= {"pledged": "1879875.99", "programmable": "1663607.08", "outstanding": "54054.05",
                 "fx_difference": "-36506.19", "coverage_pct": "83.2", "gap": "336392.92"}
    today[3] |= {"pledged": "405485.52", "programmable": "358836.74", "outstanding": "13513.51",
                 "fx_difference": "-8654.23", "coverage_pct": "79.7", "gap": "91163.26"}
    today[4] |= {"pledged": "284548.05", "programmable": "260531.54", "available": "109250.00", "coverage_pct": "74.4",
                 "gap": "89468.46"}
    # totals: the stages' 4,990,651.27 less the refund's 63,912.10 plus the reallocation's cent; the unearmarked
    # programmable 820,767.27 exceeds the paragraphs' gaps (810,516.56): no total gap
    today["totals"] |= {"pledged": "4926739.18", "programmable": "4370250.71", "outstanding": "631351.63",
                        "fx_difference": "-119087.42", "available": "897068.06", "coverage_pct": "100.2",
                        "gap": "0.00"}
    assert funding(db_url)["rows"] == {key: tuple(row.values()) for key, row in today.items()}
    refunded = json.loads(run(db_url, "report", "funding", "--format", "json").stdout)
    assert [(row["paragraph"], row["refunded"]) for row in refunded["rows"] if row["refunded"] != "0.00"] == [
        (4, "63912.10")]
    assert refunded["totals"]["refunded"] == "63912.10"


def test_demo_twice_just_opens_it(db_url):
    assert run(db_url, "demo", "--no-tui").exit_code == 0
    before = funding(db_url)
    again = run(db_url, "demo", "--no-tui")
    assert again.exit_code == 0, again.output
    assert again.stderr == "the demo is already loaded; opening it\n"
    assert funding(db_url) == before


def test_demo_refuses_a_ledger_with_other_entries(sqlite_url, tmp_path):
    from ledger.database import Ledger
    from tests.builders import worked_example

    ledger = Ledger(sqlite_url, user="officer")
    worked_example(ledger)
    ledger.close()
    result = run(sqlite_url, "demo", "--no-tui")
    assert result.exit_code == 1
    assert result.stderr == ("error: this ledger already holds journal entries that are not the demo; load the "
                             "demo into a new ledger, e.g. donor-ledger --db demo.db demo\n")
    assert funding(sqlite_url)["entries"] == 5
