"""How cost grows: an import and ``report funding`` timed at growing sizes, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_scale.py [--sizes 10000 100000 1000000] [--db URL] [--runs 3]

For each size N:

- import: N pledge rows (bench/bench_import.py's generator: a quarter of the pledges with two
  allocations), one ``import_file`` in a child process into a ledger holding only the reference
  data, as the command does; its time and the child's peak memory (VmHWM);
- report: the funding report (what ``report funding`` and the dashboard compute) on a ledger of
  about N journal lines (bench/synthetic.py), in process, median of ``--runs`` after a warm-up.

On SQLite, or on PostgreSQL when ``--db`` names a server (bench/stores.py; databases made and
dropped; the report's ledger is the SQLite one loaded by COPY). Printed: the seconds, microseconds per row or line, and for each step up in size
how the time grew against the size ("1.00" = exactly linear). RESULT lines (goal none) give the
growth from the smallest to the largest size.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import bench_import  # noqa: E402
import synthetic  # noqa: E402
from bench_report import LINES_PER_TRANSACTION  # noqa: E402
from stores import store_for  # noqa: E402


def time_import(store, folder: Path, reference: dict, rows: int) -> dict:
    from ledger.database import Ledger

    files = bench_import.write_money_files(folder, rows, random.Random(rows), xlsx=False)
    name = f"import-{rows}"
    url = store.url(name)
    Ledger(url, user="bench").close()
    for kind, path in reference.items():
        bench_import.run_child(kind, path, url)
    child = bench_import.run_child("pledges", files["pledges"], url)
    store.drop(name)
    for path in files.values():
        path.unlink()
    return {"seconds": child["seconds"], "peak_mib": child["peak_kib"] / 1024}


def time_report(store, data: Path, lines: int, runs: int) -> tuple[float, int]:
    """The funding report computed on an open ledger (``reports.funding.funding_report_for``, what
    ``report funding`` and the dashboard run), median of ``runs`` after one warm-up: the process's
    start-up (about 0.5 s, whatever the size) is left out so the curve shows how the work grows."""
    from ledger.database import Ledger
    from reports.funding import funding_report_for

    built = synthetic.build(data / f"report-{lines}", int(lines / LINES_PER_TRANSACTION) + 1, peers=False)
    with sqlite3.connect(built["ledger"]) as conn:
        counted = conn.execute("select count(*) from journal_lines").fetchone()[0]
    url = f"sqlite:///{built['ledger']}" if store.name == "sqlite" else store.load_sqlite(f"report-{lines}", built["ledger"])
    ledger = Ledger(url, user="bench")
    funding_report_for(ledger)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        funding_report_for(ledger)
        times.append(time.perf_counter() - started)
    ledger.close()
    if store.name != "sqlite":
        store.drop(f"report-{lines}")
    return statistics.median(times), counted


def growth(points: list[tuple[int, float]]) -> list[str]:
    """For each step up: (time ratio) / (size ratio); 1.00 is linear."""
    out = ["-"]
    for (n0, t0), (n1, t1) in zip(points, points[1:], strict=False):
        out.append(f"{(t1 / t0) / (n1 / n0):.2f}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL server URL (databases made and dropped)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=BENCH / ".data")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--skip-report", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="dl-scale-"))
    reference = bench_import.write_reference_files(folder, random.Random(20_07))
    store = store_for(args.db, folder)
    table = []
    try:
        if not args.skip_import:
            points = []
            for rows in args.sizes:
                found = time_import(store, folder, reference, rows)
                points.append((rows, found["seconds"]))
                table.append([store.name, "import pledges", rows, found["seconds"], found["peak_mib"]])
                print(f"{store.name} import {rows:,} rows: {found['seconds']:.2f} s, peak {found['peak_mib']:.0f} MiB",
                      flush=True)
            for row, grew in zip(table[-len(points):], growth(points), strict=True):
                row.append(grew)
        if not args.skip_report:
            points = []
            for lines in args.sizes:
                seconds, counted = time_report(store, args.data, lines, args.runs)
                points.append((counted, seconds))
                table.append([store.name, "report funding", counted, seconds, None])
                print(f"{store.name} report on {counted:,} lines: {seconds:.2f} s", flush=True)
            for row, grew in zip(table[-len(points):], growth(points), strict=True):
                row.append(grew)
    finally:
        store.close()

    print(f"\n{'database':<12}{'what':<16}{'rows/lines':>12}{'s':>9}{'us each':>9}{'peak MiB':>10}{'growth':>8}")
    for db, what, n, seconds, peak, grew in table:
        print(f"{db:<12}{what:<16}{n:>12,}{seconds:>9.2f}{seconds / n * 1e6:>9.1f}"
              f"{'-' if peak is None else f'{peak:.0f}':>10}{grew:>8}")
    print("growth: (time ratio) / (size ratio) against the size before; 1.00 = linear")
    for what in ("import pledges", "report funding"):
        rows = [r for r in table if r[1] == what]
        if len(rows) > 1:
            (n0, t0), (n1, t1) = (rows[0][2], rows[0][3]), (rows[-1][2], rows[-1][3])
            slug = f"scale_{what.split()[0]}{'' if store.name == 'sqlite' else '_pg'}"
            print(f"RESULT name={slug} ratio={(t1 / t0) / (n1 / n0):.2f} goal=none baseline=linear_from_{n0} "
                  f"seconds={t1:.2f}")


if __name__ == "__main__":
    main()
