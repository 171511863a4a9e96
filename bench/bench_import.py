"""Benchmark: ``donor-ledger import`` against the limit measured in the same run, on SQLite
or PostgreSQL.

    .venv/bin/python bench/bench_import.py [--rows 100000] [--keep DIR] [--db URL]

``--db``: ``sqlite`` (the default: ledger files in the folder) or a PostgreSQL server URL
(``postgresql+psycopg://USER:PASSWORD@HOST:PORT/postgres``) whose user may create databases:
the ledgers are databases created on it (``CREATE DATABASE ... TEMPLATE``) and dropped after.

Generates ROWS pledge rows (a pledge per row, a quarter of the pledges with two allocations),
ROWS receipts (about: one pledge in three paid at once, one in two instalments, one in part;
fewer when the pledges run out) and ROWS disbursements against the activities, as CSV, and the pledges also as .xlsx. Each file is imported in
a child process (``import_file``, as the command does: parsing, validation, business rules,
journal and hash chain). Then the limit for that file is measured: reading it (``csv.reader``
/ python-calamine-plus's row stream) plus raw ``sqlite3.executemany`` of exactly the rows the import stored
(every new row of every table, journal and allocations included, values precomputed, read
back from the ledger after the import) into a copy of the ledger as it was before the import;
on PostgreSQL the limit writes them with binary ``COPY`` (psycopg 3), the fastest way in.
Prints rows/s, the ratio import / limit (goal: at most 3), the importing process's peak memory
(VmHWM) and that of the process that read and validated the file beside it, when the import
used one (imports/rows.py; ru_maxrss of its children); the pledges (.csv and .xlsx) are imported at
ROWS/10 rows too, and a tenth of the disbursements into the same ledger, to show memory does not
grow with the file.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from stores import store_for  # noqa: E402

CURRENCIES = {"AUD": 1.2, "CAD": 1.15, "JPY": 105.0, "NOK": 7.0, "GBP": 0.68, "EUR": 0.85, "USD": 1.0}
APPEND_ONLY = ("journal_entries", "journal_lines", "pledges", "allocations", "receipts", "disbursements",
               "cancellations", "audit_trail", "rates")


# --- generating the files ----------------------------------------------------------------------


def write_reference_files(folder: Path, rng: random.Random) -> dict[str, Path]:
    donors = folder / "donors.csv"
    with open(donors, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["code", "name", "kind", "currency"])
        for i, currency in enumerate(list(CURRENCIES) * 6):
            w.writerow([f"D{i:03d}", f"Donor {i}", "member-state", currency])
    rates = folder / "rates.csv"
    with open(rates, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["currency", "effective_from", "units_per_usd"])
        for currency, base in CURRENCIES.items():
            if currency == "USD":
                continue
            for year in range(2011, 2017):
                for month in range(1, 13):
                    value = base * (1 + 0.05 * rng.uniform(-1, 1))
                    w.writerow([currency, f"{year}-{month:02d}-01", f"{value:.{2 if currency == 'JPY' else 4}f}"])
    activities = folder / "activities.csv"
    with open(activities, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["code", "paragraph", "title", "budget_usd", "status", "progress_pct"])
        for paragraph in range(1, 8):
            for i in range(10):
                w.writerow([f"A{paragraph}-{i:02d}", paragraph, f"Activity {paragraph}.{i}", "5000000", "ongoing", 10])
    return {"donors": donors, "rates": rates, "activities": activities}


def pledge_rows(rows: int, rng: random.Random):
    """(reference, donor, date, currency, amount, paragraph) with rows in all; some pledges have two."""
    donors = [(f"D{i:03d}", c) for i, c in enumerate(list(CURRENCIES) * 6)]
    start = dt.date(2011, 1, 1)
    made = n = 0
    while made < rows:
        n += 1
        code, currency = donors[n % len(donors)]
        day = start + dt.timedelta(days=rng.randrange(0, 5 * 365))
        allocations = 2 if n % 4 == 0 and made + 2 <= rows else 1
        paragraphs = rng.sample([1, 2, 3, 4, 5, 6, 7, None], allocations)
        for paragraph in paragraphs:
            whole = rng.randrange(10_000, 2_000_000) * (100 if currency == "JPY" else 1)
            amount = f"{whole}" if currency == "JPY" else f"{whole}.{rng.randrange(100):02d}"
            yield f"P{n:07d}", code, day, currency, amount, paragraph
            made += 1


LAST_RATE_MONTH_END = dt.date(2016, 12, 31)  # the rates file's last month: money is converted at its month's rate
PLEDGE_HEADER = ["reference", "donor", "pledged_on", "currency", "amount", "paragraph", "psc_rate", "due_on", "notes"]


def write_money_files(folder: Path, rows: int, rng: random.Random, xlsx: bool) -> dict[str, Path]:
    from decimal import Decimal

    pledges_csv = folder / f"pledges-{rows}.csv"
    totals: dict[str, tuple[dt.date, str, Decimal]] = {}
    generated = list(pledge_rows(rows, rng))
    with open(pledges_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(PLEDGE_HEADER)
        for ref, donor, day, currency, amount, paragraph in generated:
            w.writerow([ref, donor, day.isoformat(), currency, amount, paragraph or "", "", "", ""])
            old = totals.get(ref, (day, currency, Decimal(0)))
            totals[ref] = (day, currency, old[2] + Decimal(amount))
    files = {"pledges": pledges_csv}
    if xlsx:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("pledges")
        ws.append(PLEDGE_HEADER)
        for ref, donor, day, currency, amount, paragraph in generated:
            ws.append([ref, donor, day, currency, float(amount), paragraph, None, None, None])
        files["pledges.xlsx"] = folder / f"pledges-{rows}.xlsx"
        wb.save(files["pledges.xlsx"])
    receipts = folder / f"receipts-{rows}.csv"
    with open(receipts, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["reference", "pledge", "received_on", "amount", "usd_amount", "bank_reference"])
        made = 0
        for i, (ref, (day, currency, total)) in enumerate(totals.items()):
            # one pledge in three paid at once, one in two instalments (60% then the rest), one in part (60%)
            part = total if i % 3 == 0 else (total * Decimal("0.6")).quantize(Decimal(1) if currency == "JPY" else Decimal("0.01"))
            parts = [part, total - part] if i % 3 == 1 else [part]
            received = day
            for amount in parts:
                if made == rows:
                    break
                received = min(received + dt.timedelta(days=rng.randrange(10, 200)), LAST_RATE_MONTH_END)
                w.writerow([f"R{made:07d}", ref, received.isoformat(), f"{amount}", "", f"BANK{made}"])
                made += 1
    disbursements = folder / f"disbursements-{rows}.csv"
    with open(disbursements, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["reference", "activity", "disbursed_on", "amount", "currency", "pledge", "payee", "description"])
        for i in range(rows):
            day = dt.date(2016, 7, 1) + dt.timedelta(days=i % 150)
            w.writerow([f"X{i:07d}", f"A{1 + i % 7}-{i % 10:02d}", day.isoformat(), f"{rng.randrange(100, 5000)}.00",
                        "", "", "Payee", ""])
    files["receipts"] = receipts
    files["disbursements"] = disbursements
    return files


# --- measuring ----------------------------------------------------------------------------------


def child_import(kind: str, path: str, url: str) -> None:
    """Run in a child process: import one file and print seconds and peak memory as JSON."""
    from imports.importer import import_file
    from ledger.database import Ledger

    ledger = Ledger(url, user="bench")
    started = time.perf_counter()
    result = import_file(ledger, kind, path)
    seconds = time.perf_counter() - started
    ledger.close()
    peak = peak_kib()
    # the process that read and validated the file beside it (imports/rows.py), when there was one
    reader = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": seconds, "rows": result.rows, "peak_kib": peak, "reader_peak_kib": reader,
                      "summary": result.summary()}))


def peak_kib() -> int:
    """This process's peak resident memory. VmHWM starts afresh at exec; ru_maxrss would carry
    the parent's high-water mark over into the child on Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_child(kind: str, path: Path, url: str, profile: Path | None = None) -> dict:
    command = [sys.executable]
    if profile:
        command += ["-m", "cProfile", "-o", str(profile)]
    command += [__file__, "--child", kind, str(path), url]
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"importing {path} failed:\n{out.stdout[-3000:]}{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# Rows an import adds to a table: those whose key is beyond the largest before it (append-only tables).
ROW_KEY = {table: "entry_id" if table == "journal_lines" else "id" for table in APPEND_ONLY}


def new_rows(store, before: str, after: str) -> dict[str, tuple[list[str], list[tuple]]]:
    """Rows the import added to every append-only table."""
    old = store.connect(before)
    new = store.connect(after)
    rows = {}
    for table, key in ROW_KEY.items():
        last = old.execute(f"SELECT coalesce(max({key}), 0) FROM {table}").fetchone()[0]
        columns = store.columns(new, table)
        order = "entry_id, line_no" if table == "journal_lines" else "id"
        found = new.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE {key} > {store.mark} ORDER BY {order}",
                            (last,)).fetchall()
        if found:
            rows[table] = (columns, found)
    old.close()
    new.close()
    return rows


def read_file(kind: str, path: Path) -> int:
    if path.suffix == ".xlsx":
        from python_calamine_plus import CalamineWorkbook

        count = 0
        with CalamineWorkbook.from_path(str(path)) as wb:
            for _ in wb.stream_sheet_by_index(0):  # the fastest reader of an .xlsx (0.3 s per 100,000 rows)
                count += 1
        return count - 1
    with open(path, newline="", encoding="utf-8") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def baseline(store, kind: str, path: Path, before: str, rows: dict) -> float:
    """Reading the file + the fastest bulk write of exactly what the import stored, one transaction."""
    store.copy(before, "baseline")
    conn = store.connect("baseline")
    started = time.perf_counter()
    read_file(kind, path)
    store.write(conn, rows)
    seconds = time.perf_counter() - started
    conn.close()
    store.drop("baseline")
    return seconds


def measure(store, label: str, kind: str, path: Path, db: str, scratch: Path, profile: bool) -> dict:
    slug = "".join(ch if ch.isalnum() else "-" for ch in label)
    before = f"before-{slug}"
    store.copy(db, before)
    prof = scratch / f"{slug}.prof" if profile else None
    child = run_child(kind, path, store.url(db), prof)
    stored = new_rows(store, before, db)
    limit = baseline(store, kind, path, before, stored)
    store.drop(before)
    rows = child["rows"]
    stored_count = sum(len(v[1]) for v in stored.values())
    return {"label": label, "rows": rows, "seconds": child["seconds"], "limit": limit, "ratio": child["seconds"] / limit,
            "peak_mib": child["peak_kib"] / 1024, "reader_mib": child.get("reader_peak_kib", 0) / 1024, "stored_rows": stored_count, "summary": child["summary"],
            "profile": str(prof) if prof else None}


def run_imports(store, folder: Path, reference: dict, small: dict, files: dict, profile: bool) -> list[dict]:
    from ledger.database import Ledger

    Ledger(store.url("ledger"), user="bench").close()
    for kind, path in reference.items():
        run_child(kind, path, store.url("ledger"))
    store.copy("ledger", "reference")
    results = []
    store.copy("reference", "small")
    results.append(measure(store, "pledges csv (rows/10)", "pledges", small["pledges"], "small", folder, profile))
    store.drop("small")
    for label, kind, key in (("pledges csv", "pledges", "pledges"), ("receipts csv", "receipts", "receipts"),
                             ("disbursements csv", "disbursements", "disbursements")):
        if kind == "disbursements":  # a tenth of them into the same ledger: memory follows the ledger, not the file
            store.copy("ledger", "small-disbursements")
            results.append(measure(store, f"{label} (rows/10)", kind, small[key], "small-disbursements", folder, profile))
            store.drop("small-disbursements")
        results.append(measure(store, label, kind, files[key], "ledger", folder, profile))
    if "pledges.xlsx" in files:
        store.copy("reference", "small-xlsx")
        results.append(measure(store, "pledges xlsx (rows/10)", "pledges", small["pledges.xlsx"], "small-xlsx", folder,
                               profile))
        store.drop("small-xlsx")
        store.copy("reference", "xlsx")
        results.append(measure(store, "pledges xlsx", "pledges", files["pledges.xlsx"], "xlsx", folder, profile))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="keep the generated files and ledgers in this folder")
    parser.add_argument("--no-xlsx", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile each import (slower) into the folder")
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL server URL (databases made and dropped)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_import(*args.child)
        return

    folder = args.keep or Path(tempfile.mkdtemp(prefix="dl-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20_07)
    print(f"generating {args.rows:,} pledge rows in {folder} ...", flush=True)
    reference = write_reference_files(folder, rng)
    small = write_money_files(folder, args.rows // 10, random.Random(1), xlsx=not args.no_xlsx)
    files = write_money_files(folder, args.rows, rng, xlsx=not args.no_xlsx)

    store = store_for(args.db, folder)
    try:
        results = run_imports(store, folder, reference, small, files, args.profile)
    finally:
        store.close()
    print(f"\non {store.name}")
    print(f"\n{'file':<24}{'rows':>9}{'stored':>10}{'import s':>10}{'rows/s':>10}{'limit s':>9}{'rows/s':>10}"
          f"{'ratio':>7}{'peak MiB':>10}{'reader MiB':>12}")
    for r in results:
        print(f"{r['label']:<24}{r['rows']:>9,}{r['stored_rows']:>10,}{r['seconds']:>10.2f}{r['rows'] / r['seconds']:>10,.0f}"
              f"{r['limit']:>9.2f}{r['rows'] / r['limit']:>10,.0f}{r['ratio']:>7.2f}{r['peak_mib']:>10.0f}"
              f"{r['reader_mib']:>12.0f}")
    for r in results:
        print(f"  {r['summary']}")
    suffix = "" if store.name == "sqlite" else "_pg"
    baseline_name = "read_plus_executemany" if store.name == "sqlite" else "read_plus_copy"
    names = {"pledges csv": "import_pledges_csv", "receipts csv": "import_receipts_csv",
             "disbursements csv": "import_disbursements_csv", "pledges xlsx": "import_pledges_xlsx"}
    for r in results:  # the line bench/run_all.py reads (bench/README.md)
        if r["label"] in names:
            print(f"RESULT name={names[r['label']]}{suffix} ratio={r['ratio']:.2f} goal=3 baseline={baseline_name} "
                  f"seconds={r['seconds']:.2f}")
    if not args.keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
