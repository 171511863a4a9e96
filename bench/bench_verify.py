"""``donor-ledger verify`` against its limit: a plain process that reads the same rows and
recomputes the same hashes with the standard library (json, hashlib).

    .venv/bin/python bench/bench_verify.py [--db URL] [--transactions N] [--runs R]

The ledger is bench/synthetic.py's (format-3 entries: every hash covers the posted rows), built
or reused; ``--db`` with a PostgreSQL server URL loads its rows into a scratch database made on
that server and dropped after (bench/stores.py::ledger_on), as every benchmark does. Both sides
run as whole processes; the best of ``--runs`` is kept. donor-ledger's time
includes the row reconciliation (ledger/reconcile.py); the limit checks every hash it
recomputes against the stored one (a limit that hashed other bytes would not count).
Goal: verify at most 2x the limit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 2.0
DONOR_LEDGER = str(Path(sys.executable).with_name("donor-ledger"))

# the limit's own reading of the stored rows, table by table, in entry order
ENTRIES = ("select id, kind, event_date, posted_at, user_name, reference, memo, reverses_id, prev_hash, hash, "
           "format_version, corrects_id from journal_entries order by id")
LINES = ("select entry_id, line_no, account, flow, currency, amount_minor, usd_cents, donor_id, pledge_id, "
         "allocation_id, paragraph_id, activity_id, disbursement_id from journal_lines order by entry_id, line_no")
POSTED = {  # table: select of (entry id, the row's columns)
    "allocations": "select p.entry_id, a.* from allocations a join pledges p on p.id = a.pledge_id "
                   "order by p.entry_id, a.id",
    **{table: f"select t.entry_id, t.* from {table} t order by t.entry_id, t.id"
       for table in ("cancellations", "disbursements", "pledges", "receipts")},
}


def _text(value):
    """Dates as SQLite stores them; PostgreSQL's date and time values as the same text."""
    if isinstance(value, bool):
        return int(value)
    if value is None or isinstance(value, str | int):
        return value
    if hasattr(value, "hour"):
        return value.isoformat(" ", "microseconds")
    return value.isoformat()


def limit(url: str) -> int:
    """Read every entry, line and posted row once, recompute every hash; the number checked."""
    if url.startswith("postgresql"):
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        conn.execute("begin isolation level repeatable read read only")

        def stream(sql):
            cursor = conn.cursor(name=f"c{abs(hash(sql))}")
            cursor.itersize = 5000
            cursor.execute(sql)
            names = [d.name for d in cursor.description]
            return names, iter(cursor)
    else:
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))

        def stream(sql):
            cursor = conn.execute(sql)
            return [d[0] for d in cursor.description], iter(cursor)

    line_names, lines = stream(LINES)
    line_names = line_names[1:]
    tables = []
    for name, sql in POSTED.items():
        names, rows = stream(sql)
        tables.append((name, names[1:], rows, [next(rows, None)]))
    _, entries = stream(ENTRIES)
    pending_line = next(lines, None)
    encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
    checked = 0
    for eid, kind, day, posted_at, user, reference, memo, reverses, prev, stored, version, corrects in entries:
        own = []
        while pending_line is not None and pending_line[0] == eid:
            own.append(pending_line[1:])
            pending_line = next(lines, None)
        posted_at = _text(posted_at).replace(" ", "T")
        head = [eid, kind, _text(day), posted_at, user, reference, memo, reverses, prev]
        document = [head, own]
        if version != 1:
            head.append(version)
            if version >= 3:
                head.append(corrects)
            rows = {}
            for name, names, stream_rows, pending in tables:
                found = []
                while pending[0] is not None and pending[0][0] == eid:
                    found.append({k: _text(v) for k, v in sorted(zip(names, pending[0][1:], strict=True))
                                  if v is not None})
                    pending[0] = next(stream_rows, None)
                if found:
                    rows[name] = found
            document.append(rows)
        if hashlib.sha256(encoder.encode(document).encode()).hexdigest() != stored:
            raise SystemExit(f"limit: entry {eid} hashes differently: the limit does not compute the same bytes")
        checked += 1
    conn.close()
    return checked


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL server URL (a database made and dropped)")
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--limit-only", metavar="URL", help=argparse.SUPPRESS)  # the limit's own process
    args = parser.parse_args()
    if args.limit_only:
        print(limit(args.limit_only))
        return
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    import synthetic
    from stores import label, ledger_on, suffix

    built = synthetic.build(ROOT / "bench" / ".data" / f"verify-t{args.transactions}", args.transactions, peers=False)
    with ledger_on(args.db, "verify", built["ledger"]) as url:
        measure(url, label(args.db), suffix(args.db), args.runs)


def measure(url: str, kind: str, name_suffix: str, runs: int) -> None:
    user = ["--user", "bench"] if kind == "sqlite" else []  # on PostgreSQL the login is the user
    ours, base = [], []
    for _ in range(runs):
        seconds, out = timed([DONOR_LEDGER, "--db", url, *user, "verify"])
        assert out.startswith("OK: chain intact"), out
        ours.append(seconds)
        seconds, out = timed([sys.executable, __file__, "--limit-only", url])
        base.append(seconds)
    entries = int(out)
    ratio = min(ours) / min(base)
    print(f"verify of {entries:,} entries ({kind}): donor-ledger {min(ours):.2f} s, "
          f"limit (json + hashlib) {min(base):.2f} s")
    print(f"ratio verify / limit: {ratio:.2f}x (goal: at most {GOAL:g}x)")
    print(f"RESULT name=verify{name_suffix} ratio={ratio:.2f} goal={GOAL:g} baseline=limit_json_hashlib "
          f"seconds={min(ours):.2f}")


if __name__ == "__main__":
    main()
