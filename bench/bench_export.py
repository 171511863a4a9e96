"""Benchmark: export the audit workbook of a ledger of 100,000 transactions, against bare
openpyxl write-only writing the same cells, in the same run.

    .venv/bin/python bench/bench_export.py [--transactions 100000] [--db sqlite|URL] [--file bench/bench.db] [--rebuild]

The ledger is built once as an SQLite file (cached in ``--file``) through the ledger's own rule
functions, one unit of work per batch: pledges (one or two allocations), receipts, and
disbursements with a named funding pledge (the funding-candidate query is swapped for one that
gives the same answer faster; see ``_fast_candidates``). ``--db``: ``sqlite`` (the default: the export reads
that file) or a PostgreSQL server URL whose user may create databases: the file's rows are then
loaded into a scratch database on that server (bench/stores.py, dropped at the end) and the
export reads it there. Then, each in a fresh child process (so that peak memory is its own):
1. ``export``: ``reports.workbook.export_workbook`` (SQL, verification, every sheet);
2. bare openpyxl: the cells of that very workbook, read back beforehand into plain lists
   of (value, number format) pairs, written with ``Workbook(write_only=True)``, one sheet each.
Prints both times, their ratio (goal: at most 1.5; RESULT ``export``, ``export_pg`` on
PostgreSQL) and each child's peak RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from stores import label, ledger_on, suffix  # noqa: E402

CURRENCIES = {"USD": None, "EUR": "0.9", "NOK": "8.5", "JPY": "110", "GBP": "0.78", "KWD": "0.3"}
PARAGRAPHS = range(1, 8)


def _fast_candidates() -> None:
    """Generator speed-up, same answer: ``ledger.disbursements._candidates`` sums the cash of
    every allocation in the ledger before filtering (O(ledger) per disbursement, 68 ms at 34,000
    transactions); here the sum is restricted to the eligible allocations first."""
    from sqlalchemy import select

    from ledger import disbursements, figures
    from ledger.schema import Allocation, Donor, JournalLine, Pledge

    def candidates(uow, paragraph_id: int, pledge_id: int | None):
        eligible = select(Allocation.id).where(
            (Allocation.paragraph_id == paragraph_id) | Allocation.paragraph_id.is_(None))
        if pledge_id is not None:
            eligible = eligible.where(Allocation.pledge_id == pledge_id)
        cash = (
            select(JournalLine.allocation_id, figures.CASH_USD.alone().label("cash"))
            .where(figures.CASH_USD.condition(), JournalLine.allocation_id.in_(eligible))
            .group_by(JournalLine.allocation_id)
            .subquery()
        )
        statement = (
            select(Allocation.id, Allocation.paragraph_id, Pledge.reference, Pledge.psc_rate_bp, Donor.code)
            .join(Pledge, Pledge.id == Allocation.pledge_id)
            .join(Donor, Donor.id == Pledge.donor_id)
            .join(cash, cash.c.allocation_id == Allocation.id)
            .where((Allocation.paragraph_id == paragraph_id) | Allocation.paragraph_id.is_(None), cash.c.cash > 0)
            .order_by(Allocation.paragraph_id.is_(None), Pledge.pledged_on, Pledge.reference)
        )
        if pledge_id is not None:
            statement = statement.where(Allocation.pledge_id == pledge_id)
        return uow.rows(statement).all()

    disbursements._candidates = candidates


def build(db: Path, transactions: int, batch: int = 2_000) -> None:
    from ledger.database import Ledger
    from ledger.disbursements import disburse
    from ledger.inputs import ActivityIn, DisbursementIn, DonorIn, PledgeIn, RateIn, ReceiptIn
    from ledger.pledges import record_pledge
    from ledger.rates import add_rate
    from ledger.receipts import record_receipt
    from ledger.reference_data import upsert_activity as save_activity
    from ledger.reference_data import upsert_donor as save_donor
    from ledger.roles import Act

    _fast_candidates()
    rng = random.Random(20_07)
    if db.exists():
        db.unlink()
    ledger = Ledger(f"sqlite:///{db}", user="bench")
    with ledger.writing(Act.RECORD_MONEY) as uow:
        for currency, base in CURRENCIES.items():
            if base:
                for year in range(2010, 2026):  # a rate of every month (events need their month's rate)
                    for month in range(1, 13):
                        add_rate(uow, RateIn(currency=currency, effective_from=f"{year}-{month:02d}-01",
                                             units_per_usd=f"{float(base) * (1 + (year % 5) / 50):.4f}"))
        for i in range(60):
            save_donor(uow, DonorIn(code=f"D{i:03}", name=f"Donor {i}", kind="member-state"))
        for p in PARAGRAPHS:
            for i in range(30):
                save_activity(uow, ActivityIn(code=f"A{p}-{i:02}", paragraph=p, title=f"Activity {i} of paragraph {p}",
                                              budget_usd="5000000", status="ongoing", progress_pct=rng.randint(0, 100)))
    pledges_n = transactions * 3 // 10
    receipts_n = transactions * 4 // 10
    disbursements_n = transactions - pledges_n - receipts_n
    start = dt.date(2011, 6, 1)
    span = (dt.date(2025, 6, 30) - start).days
    # one plan: pledge i on day d, its receipts some days later, then spending from it
    plan: list[tuple] = []
    receipts_left, disbursements_left = receipts_n, disbursements_n
    for i in range(pledges_n):
        day = start + dt.timedelta(days=span * i // pledges_n)
        currency = rng.choice(list(CURRENCIES))
        digits = 0 if currency == "JPY" else 3 if currency == "KWD" else 2
        paragraph = rng.choice(PARAGRAPHS)
        scale = float(CURRENCIES[currency] or 1) * 1.2  # about the USD value, in this currency
        amount = int(rng.randint(200_000, 2_000_000) * scale) * 10**digits
        allocations = {paragraph: amount}
        if rng.random() < 0.5:
            allocations[None] = int(rng.randint(50_000, 500_000) * scale) * 10**digits
        plan.append(("pledge", i, day, currency, digits, allocations))
        total = sum(allocations.values())
        n_receipts = (receipts_left // (pledges_n - i)) + (1 if rng.random() < (receipts_left % (pledges_n - i)) / max(pledges_n - i, 1) else 0)
        n_receipts = min(n_receipts, receipts_left)
        receipts_left -= n_receipts
        for k in range(n_receipts):
            plan.append(("receipt", i, day + dt.timedelta(days=k + 1), currency, digits, total // (n_receipts + 1)))
        n_disb = disbursements_left // (pledges_n - i)
        n_disb = min(n_disb + (1 if rng.random() < (disbursements_left % (pledges_n - i)) / max(pledges_n - i, 1) else 0), disbursements_left)
        if n_receipts == 0:
            n_disb = 0
        disbursements_left -= n_disb
        for k in range(n_disb):
            plan.append(("disbursement", i, day + dt.timedelta(days=n_receipts + k + 1), paragraph, rng.randint(1_000, 20_000)))
    ids = {"disbursement": 0, "receipt": 0}
    today = dt.date.today()
    for offset in range(0, len(plan), batch):
        with ledger.writing(Act.RECORD_MONEY) as uow:
            uow.today = today
            for item in plan[offset:offset + batch]:
                kind = item[0]
                if kind == "pledge":
                    _, i, day, currency, digits, allocations = item
                    record_pledge(uow, PledgeIn(
                        reference=f"PL-{i:06}", donor=f"D{i % 60:03}", pledged_on=day, currency=currency,
                        allocations=[{"paragraph": p, "amount": f"{a / 10**digits:.{digits}f}"} for p, a in allocations.items()],
                        due_on=day + dt.timedelta(days=365), notes=f"agreement {i}"))
                elif kind == "receipt":
                    _, i, day, currency, digits, amount = item
                    ids["receipt"] += 1
                    record_receipt(uow, ReceiptIn(reference=f"RC-{ids['receipt']:06}", pledge=f"PL-{i:06}", received_on=day,
                                                  amount=f"{amount / 10**digits:.{digits}f}", bank_reference=f"BANK{i}"))
                else:
                    _, i, day, paragraph, amount = item
                    ids["disbursement"] += 1
                    disburse(uow, DisbursementIn(reference=f"DB-{ids['disbursement']:06}", activity=f"A{paragraph}-{i % 30:02}",
                                                 disbursed_on=day, amount=str(amount), pledge=f"PL-{i:06}",
                                                 payee=f"Payee {i % 97}", description="workshop"))
        if sys.stderr.isatty():
            print(f"\rbuilt {min(offset + batch, len(plan)):,} of {len(plan):,} transactions", end="", file=sys.stderr,
                  flush=True)
        elif (offset // batch) % 10 == 0:
            print(f"built {min(offset + batch, len(plan)):,} of {len(plan):,} transactions", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    ledger.close()


def run_export(url: str, out: str) -> dict:
    from ledger.database import Ledger
    from reports.workbook import export_workbook

    ledger = Ledger(url, user="bench")
    started = time.perf_counter()
    result = export_workbook(ledger, Path(out), dt.date.today())
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "journal_lines": result.journal_lines, "entries": result.entries}


def dump_cells(xlsx: str, cells_file: str) -> dict:
    """Read the exported workbook into plain (value, number format) rows, pickled per sheet."""
    import pickle

    import openpyxl

    wb = openpyxl.load_workbook(xlsx, read_only=True)
    count = 0
    with open(cells_file, "wb") as handle:
        for ws in wb:
            rows = []
            for row in ws.iter_rows():
                rows.append([(c.value, c.number_format if c.value is not None else None) for c in row])
                count += len(row)
            pickle.dump((ws.title, rows), handle)
            del rows
    return {"cells": count}


def run_bare(cells_file: str, out: str, styled: str = "yes") -> dict:
    """Bare openpyxl write-only writing the same cells (value and number format), sheet by sheet;
    with ``styled`` "no", the values alone (a lower bound: no number formats at all)."""
    import pickle

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    sheets = []
    with open(cells_file, "rb") as handle:
        while True:
            try:
                sheets.append(pickle.load(handle))
            except EOFError:
                break
    started = time.perf_counter()
    wb = Workbook(write_only=True)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            cells = []
            for value, number_format in row:
                if styled == "yes" and number_format and number_format != "General":
                    cell = WriteOnlyCell(ws, value)
                    cell.number_format = number_format
                    cells.append(cell)
                else:
                    cells.append(value)
            ws.append(cells)
    wb.save(out)
    return {"seconds": time.perf_counter() - started}


def entries(db: Path) -> int | None:
    if not db.exists():
        return None
    import sqlite3

    try:
        with sqlite3.connect(db) as connection:
            return connection.execute("select count(*) from journal_entries").fetchone()[0]
    except sqlite3.Error:
        return None


def child(mode: str, *args: str) -> dict:
    """Run one mode in a fresh interpreter; returns its result and peak RSS (MB)."""
    completed = subprocess.run([sys.executable, __file__, "--child", mode, *args], capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL server URL (a database made and dropped)")
    parser.add_argument("--file", default=str(ROOT / "bench" / "bench.db"), help="the SQLite ledger built (kept between runs)")
    parser.add_argument("--out", default="/tmp")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, *rest = args.child
        result = {"export": run_export, "dump": dump_cells, "bare": run_bare}[mode](*rest)
        result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    db = Path(args.file)
    if args.rebuild or entries(db) != args.transactions:  # one journal entry per transaction
        started = time.perf_counter()
        build(db, args.transactions)
        print(f"built a ledger of {args.transactions:,} transactions in {time.perf_counter() - started:.1f} s")
    exported = os.path.join(args.out, "bench-export.xlsx")
    bare = os.path.join(args.out, "bench-bare.xlsx")
    cells = os.path.join(args.out, "bench-cells.pickle")
    with ledger_on(args.db, "export", db) as url:
        result = child("export", url, exported)
    dumped = child("dump", exported, cells)
    baseline = child("bare", cells, bare)
    plain = child("bare", cells, bare, "no")
    ratio = result["seconds"] / baseline["seconds"]
    print(f"ledger: {args.transactions:,} transactions, {result['entries']:,} journal entries, "
          f"{result['journal_lines']:,} journal lines; workbook {dumped['cells']:,} cells, "
          f"{os.path.getsize(exported) / 1e6:.1f} MB")
    print(f"{'export (donor-ledger, ' + label(args.db) + '):':<30}{result['seconds']:7.1f} s   peak RSS {result['peak_mb']:6.0f} MB")
    print(f"bare openpyxl, same cells:    {baseline['seconds']:7.1f} s   peak RSS {baseline['peak_mb']:6.0f} MB"
          " (cells held in memory beforehand)")
    print(f"bare openpyxl, values only:   {plain['seconds']:7.1f} s   peak RSS {plain['peak_mb']:6.0f} MB"
          " (no number formats: a lower bound)")
    print(f"ratio export / bare: {ratio:.2f} (goal <= 1.5); export / values only: "
          f"{result['seconds'] / plain['seconds']:.2f}")
    print(f"RESULT name=export{suffix(args.db)} ratio={ratio:.2f} goal=1.5 baseline=bare_openpyxl "
          f"seconds={result['seconds']:.2f}")
    os.unlink(cells)


if __name__ == "__main__":
    main()
