"""Benchmark: ``report funding`` on a ledger of 1,000,000 journal lines against one hand-written
SQL GROUP BY on the same file.

    .venv/bin/python bench/bench_report.py [--lines 1000000] [--runs 5] [--db sqlite|URL]

The ledger comes from bench/synthetic.py (written straight with SQL, then verified). Timed,
median of ``--runs`` after one untimed warm-up, output to /dev/null:

- donor-ledger, whole process (Python start-up and imports included):
  ``donor-ledger --db ledger.db report funding --format json``, as of today and as of a past
  date (``--as-of 2014-12-31``: every line's entry date is then checked);
- the baseline, whole process too: a Python process that opens the file with sqlite3 and runs
  one hand-written GROUP BY of the same money columns per paragraph (pledged, outstanding,
  received, disbursed, PSC), what someone who knows the schema would type, without the
  per-allocation roundings, the as-of date, the activities or the rendering;
- the same query alone, in process, for orientation.

Goal (ours: no issue sets one): the whole report at most 2x the hand-written query's whole
process.

``--db URL`` (a PostgreSQL server whose user may create databases; bench/stores.py): the same
ledger is also loaded into a PostgreSQL database (COPY, then VACUUM ANALYZE as autovacuum would)
and ``report funding`` is timed on both, whole processes, median of ``--runs``. Goal (the issue):
on PostgreSQL at most 1.5x SQLite's time on the same ledger. The database is dropped after.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import synthetic  # noqa: E402
from stores import store_for  # noqa: E402

DONOR_LEDGER = str(Path(sys.executable).with_name("donor-ledger"))
LINES_PER_TRANSACTION = 3.15  # what synthetic.py generates, near enough
GOAL = 2.0
PG_GOAL = 1.5  # PostgreSQL's report over SQLite's, same ledger
GROUP_BY = """
select a.paragraph_id,
       sum(case when l.account = '4000' then -l.usd_cents else 0 end) as pledged,
       sum(case when l.account = '1100' then l.amount_minor else 0 end) as outstanding,
       sum(case when l.account = '1000' and l.flow = 'receipt' then l.usd_cents else 0 end) as received,
       sum(case when l.account = '5000' then l.usd_cents else 0 end) as disbursed,
       sum(case when l.account = '5100' then l.usd_cents else 0 end) as psc
from journal_lines l join allocations a on a.id = l.allocation_id
group by a.paragraph_id
"""
BASELINE = f"import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute({GROUP_BY!r}).fetchall())"


def median_of(command: list[str], runs: int) -> float:
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="journal lines, about")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, default=BENCH / ".data")
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL server URL: time the report on both")
    args = parser.parse_args()
    transactions = int(args.lines / LINES_PER_TRANSACTION) + 1
    files = synthetic.build(args.data / f"report-{args.lines}", transactions, peers=False)
    ledger = str(files["ledger"])
    done = subprocess.run([DONOR_LEDGER, "--db", ledger, "--user", synthetic.USER, "verify"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the generated ledger does not verify: {done.stderr}")
    conn = sqlite3.connect(ledger)
    lines = conn.execute("select count(*) from journal_lines").fetchone()[0]
    started = time.perf_counter()
    for _ in range(args.runs):
        conn.execute(GROUP_BY).fetchall()
    in_process = (time.perf_counter() - started) / args.runs
    conn.close()
    if args.db != "sqlite":  # the PostgreSQL run's RESULT is PostgreSQL's against SQLite's (bench/run_all.py)
        on_postgres(args.db, Path(ledger), lines, args.runs)
        return

    today = median_of([DONOR_LEDGER, "--db", ledger, "--user", synthetic.USER, "report", "funding", "--format", "json"], args.runs)
    dated = median_of([DONOR_LEDGER, "--db", ledger, "--user", synthetic.USER, "report", "funding", "--format", "json", "--as-of", "2014-12-31"],
                      args.runs)
    baseline = median_of([sys.executable, "-c", BASELINE, ledger], args.runs)

    print(f"\n{lines:,} journal lines, {transactions:,} entries; median of {args.runs}, whole processes")
    print(f"{'':<62}{'s':>8}{'ratio':>8}")
    print(f"{'donor-ledger report funding --format json (as of today)':<62}{today:>8.2f}{today / baseline:>8.2f}")
    print(f"{'donor-ledger report funding --as-of 2014-12-31':<62}{dated:>8.2f}{dated / baseline:>8.2f}")
    print(f"{'python + sqlite3: one hand-written GROUP BY (baseline)':<62}{baseline:>8.2f}{1:>8.2f}")
    print(f"{'  the GROUP BY alone, in process':<62}{in_process:>8.2f}")
    print(f"goal: at most {GOAL:g}x the hand-written query: {today / baseline:.2f}x, "
          f"{'met' if today / baseline <= GOAL else 'NOT met'}")
    print(f"RESULT name=report_1m_lines ratio={today / baseline:.2f} goal={GOAL:g} baseline=sql_group_by seconds={today:.2f}")
    print(f"RESULT name=report_1m_lines_as_of ratio={dated / baseline:.2f} goal=none baseline=sql_group_by "
          f"seconds={dated:.2f}")


def on_postgres(server: str, ledger: Path, lines: int, runs: int) -> None:
    """The same report on the same ledger loaded into PostgreSQL, against SQLite's time; the two
    are timed in turns (SQLite, PostgreSQL, SQLite, ...) so that both see the same machine."""
    store = store_for(server, ledger.parent)
    try:
        started = time.perf_counter()
        url = store.load_sqlite("report", ledger)
        print(f"\nloaded into PostgreSQL (COPY, VACUUM ANALYZE) in {time.perf_counter() - started:.1f} s")
        report = ["report", "funding", "--format", "json"]
        sqlite_seconds, seconds = medians_in_turn([[DONOR_LEDGER, "--db", str(ledger), "--user", synthetic.USER, *report],
                                                   [DONOR_LEDGER, "--db", url, *report]], runs)
    finally:
        store.close()
    print(f"{lines:,} journal lines; median of {runs}, whole processes, timed in turns")
    print(f"{'donor-ledger report funding --format json on PostgreSQL':<62}{seconds:>8.2f}{seconds / sqlite_seconds:>8.2f}")
    print(f"{'the same on SQLite (baseline)':<62}{sqlite_seconds:>8.2f}{1:>8.2f}")
    print(f"RESULT name=report_1m_lines_pg ratio={seconds / sqlite_seconds:.2f} goal={PG_GOAL:g} baseline=sqlite_report "
          f"seconds={seconds:.2f}")


def medians_in_turn(commands: list[list[str]], runs: int) -> list[float]:
    for command in commands:  # warm-up
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for command, timed in zip(commands, times, strict=True):
            started = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
            timed.append(time.perf_counter() - started)
    return [statistics.median(timed) for timed in times]


if __name__ == "__main__":
    main()
