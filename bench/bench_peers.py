"""Benchmark: donor-ledger's funding report against hledger and beancount on the same data.

    .venv/bin/python bench/bench_peers.py [--setup] [--transactions 100000] [--runs 5] [--db sqlite|URL]

The same transactions (bench/synthetic.py: pledges, receipts, disbursements with PSC, in
USD) as a donor-ledger SQLite ledger, an hledger journal and a beancount file, with one
account per chart account and funding row (``assets:cash:p1``, ``Income:Contributions:P3``,
...). Timed, whole process each (Python start-up and imports included for donor-ledger and
bean-query), output to /dev/null, one untimed warm-up, then the median of ``--runs``:

    donor-ledger --db ledger.db report funding --format json
    hledger -f ledger.journal balance
    bean-query ledger.beancount "SELECT account, sum(position) GROUP BY account"

Before timing, the three are checked to agree: every funding row's pledged, received,
disbursed, PSC and available equal the balances hledger prints for that row's accounts.
Goal (issue 6): donor-ledger at least 5x faster than hledger. ``--setup`` first installs
the peers (bench/setup_peers.sh: hledger from Debian, beancount + beanquery from PyPI into
bench/.peers).

``--db``: ``sqlite`` (the default: donor-ledger reads the generated file) or a PostgreSQL server
URL whose user may create databases: the file's rows are then loaded into a scratch database on
that server (bench/stores.py, dropped at the end), donor-ledger's report reads it there, and the
RESULT names end in ``_pg``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import synthetic  # noqa: E402
from stores import label, ledger_on, suffix  # noqa: E402

DONOR_LEDGER = str(Path(sys.executable).with_name("donor-ledger"))
BEAN_QUERY = BENCH / ".peers" / "bin" / "bean-query"
QUERY = "SELECT account, sum(position) GROUP BY account"
GOAL = 5.0


def donor_ledger(url: str) -> list[str]:
    """The command on the generated ledger, as its user (on PostgreSQL the server's login is the user)."""
    return [DONOR_LEDGER, "--db", url, "--user", synthetic.USER]


def timed(command: list[str], runs: int) -> tuple[float, list[float]]:
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def check_agreement(files: dict, url: str) -> None:
    """The three tools see the same money: funding rows against hledger's account balances."""
    report = json.loads(subprocess.run([*donor_ledger(url), "report", "funding", "--format", "json"],
                                       capture_output=True, text=True, check=True).stdout)
    out = subprocess.run(["hledger", "-f", str(files["hledger"]), "balance", "--flat", "-O", "csv"],
                         capture_output=True, text=True, check=True).stdout
    balances = {row[0]: Decimal(row[1].replace("USD", "").replace(",", "").strip() or "0")
                for row in csv.reader(io.StringIO(out)) if row and row[0] not in ("account", "total")}
    checked = 0
    for row in report["rows"]:
        key = "unearmarked" if row["paragraph"] is None else f"p{row['paragraph']}"
        expected = {
            f"revenue:contributions:{key}": -Decimal(row["pledged"]),
            f"assets:cash:{key}": Decimal(row["available"]),
            f"expenses:programme:{key}": Decimal(row["disbursed"]),
            f"expenses:psc:{key}": Decimal(row["psc"]),
            f"assets:receivable:{key}": Decimal(row["outstanding"]),
        }
        for account, value in expected.items():
            if value == 0 and account not in balances:
                continue
            if balances.get(account) != value:
                raise SystemExit(f"donor-ledger and hledger disagree on {account}: {value} vs {balances.get(account)}")
            checked += 1
    beans = subprocess.run([str(BEAN_QUERY), str(files["beancount"]), QUERY], capture_output=True, text=True,
                           check=True).stdout
    for row in report["rows"][:1]:
        if f"{Decimal(row['available']):.2f}" not in beans:
            raise SystemExit("bean-query does not show paragraph 1's cash balance")
    print(f"agreement: {checked} account balances equal in donor-ledger and hledger; bean-query shows the same cash")


def sql_baseline(ledger: Path, runs: int) -> float:
    """One hand-written aggregate over the same rows (in process, no start-up): for orientation."""
    query = ("select a.paragraph_id, l.account, sum(l.usd_cents) from journal_lines l "
             "join allocations a on a.id = l.allocation_id group by a.paragraph_id, l.account")
    conn = sqlite3.connect(ledger)
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        conn.execute(query).fetchall()
        times.append(time.perf_counter() - started)
    conn.close()
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setup", action="store_true", help="install hledger and beancount first")
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, default=BENCH / ".data")
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL server URL (a database made and dropped)")
    args = parser.parse_args()
    if args.setup:
        subprocess.run(["bash", str(BENCH / "setup_peers.sh")], check=True)
    missing = [name for name, found in (("hledger", shutil.which("hledger")), ("bean-query", BEAN_QUERY.exists()))
               if not found]
    if missing:
        print(f"missing {', '.join(missing)}: run with --setup (or bash bench/setup_peers.sh)")
        print(f"RESULT name=peers_hledger{suffix(args.db)} skipped=peers_not_installed")
        return
    files = synthetic.build(args.data / f"peers-{args.transactions}", args.transactions, peers=True)
    lines = sqlite3.connect(files["ledger"]).execute("select count(*) from journal_lines").fetchone()[0]
    with ledger_on(args.db, "peers", files["ledger"]) as url:
        done = subprocess.run([*donor_ledger(url), "verify"], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"the generated ledger does not verify: {done.stderr}")
        print(done.stdout.strip().splitlines()[0])
        check_agreement(files, url)
        ours, ours_all = timed([*donor_ledger(url), "report", "funding", "--format", "json"], args.runs)
    hledger, hledger_all = timed(["hledger", "-f", str(files["hledger"]), "balance"], args.runs)
    beans, beans_all = timed([str(BEAN_QUERY), str(files["beancount"]), QUERY], args.runs)
    sql = sql_baseline(files["ledger"], args.runs)

    print(f"\n{args.transactions:,} transactions, {lines:,} journal lines; whole-process wall times, "
          f"median of {args.runs} (each run: {', '.join(f'{t:.2f}' for t in ours_all)} s for donor-ledger)")
    print(f"{'tool':<58}{'median s':>10}{'vs donor-ledger':>17}")
    print(f"{'donor-ledger report funding --format json (' + label(args.db) + ')':<58}{ours:>10.2f}{'1.0x':>17}")
    print(f"{'hledger balance':<58}{hledger:>10.2f}{hledger / ours:>16.1f}x")
    print(f"{'bean-query ... GROUP BY account':<58}{beans:>10.2f}{beans / ours:>16.1f}x")
    print(f"{'(one SQL GROUP BY in SQLite, in process, for orientation)':<58}{sql:>10.2f}")
    verdict = "met" if hledger / ours >= GOAL else "NOT met"
    print(f"goal: donor-ledger at least {GOAL:g}x faster than hledger: {hledger / ours:.1f}x, {verdict}")
    print(f"RESULT name=peers_hledger{suffix(args.db)} ratio={hledger / ours:.2f} goal={GOAL:g} direction=min "
          f"baseline=hledger seconds={ours:.2f}")
    print(f"RESULT name=peers_beanquery{suffix(args.db)} ratio={beans / ours:.2f} goal=none direction=min baseline=bean-query "
          f"seconds={ours:.2f}")


if __name__ == "__main__":
    main()
