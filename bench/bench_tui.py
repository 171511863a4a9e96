"""How fast the TUI opens on a large ledger.

1. Generates (once, cached in ``--file``) a migrated SQLite ledger of 100,000 pledges (``--pledges``)
   and 1,000,000 journal lines with raw sqlite3 executemany: valid documents, balanced entries and a correct hash
   chain (``ledger.journal.entry_hash``), so ``verify`` passes.
2. Times, in fresh processes and in the same run, from the launch of ``donor-ledger`` (the path of
   ``donor-ledger --db FILE``, headless) to the dashboard painted and ready for input, and on to
   its figures on screen, against the launch of a bare Textual app to a painted static screen.
   Goal: ready for input <= 2x. The dashboard paints first and opens the ledger in a worker
   (the figures follow, shown with "loading…" until then).
3. Times opening the pledges table on the 100,000 pledges (count and first page) and moving
   to its last row (End, until that row's page is on screen).

    .venv/bin/python bench/bench_tui.py [--db sqlite|URL] [--file PATH] [--pledges 100000] [--runs 3]

``--db``: ``sqlite`` (the default: the app opens that file) or a PostgreSQL server URL whose user
may create databases: the file's rows are then loaded into a scratch database on that server
(bench/stores.py, dropped at the end) and the app opens that database; the RESULT names end in
``_pg``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from stores import ledger_on, suffix  # noqa: E402

PLEDGES = 100_000
LINES_PER_PLEDGE = 10  # pledge 2 + two receipts 2+2 + one disbursement 4


def default_file(pledges: int) -> Path:
    return Path(tempfile.gettempdir()) / ("donor-ledger-bench-tui-1m.db" if pledges == PLEDGES
                                          else f"donor-ledger-bench-tui-{pledges}.db")


def generate(path: Path, count: int = PLEDGES) -> None:
    from ledger.database import Ledger
    from ledger.journal import GENESIS, entry_hash

    if path.exists():
        path.unlink()
    Ledger(f"sqlite:///{path}", user="bench").close()  # migrated, seeded, first user
    con = sqlite3.connect(path)
    paragraph_ids = [row[0] for row in con.execute("select id from paragraphs order by number")]
    now = dt.datetime(2017, 1, 2, 9, 0, 0)
    donors = [(i + 1, f"D{i:03d}", f"Donor {i:03d}", "member-state", None, "USD") for i in range(50)]
    con.executemany("insert into donors (id, code, name, kind, country, currency) values (?,?,?,?,?,?)", donors)
    activities = [(i + 1, f"A{i + 1}", paragraph_ids[i % len(paragraph_ids)], f"Activity {i + 1}", 10**12, None, None,
                   "ongoing", 10 * (i % 10)) for i in range(14)]
    con.executemany("insert into activities (id, code, paragraph_id, title, budget_cents, planned_start, planned_end, "
                    "status, progress_pct) values (?,?,?,?,?,?,?,?,?)", activities)
    entries, lines, pledges, allocations, receipts, disbursements = [], [], [], [], [], []
    prev = GENESIS
    entry_id = receipt_id = disbursement_id = 0
    base = dt.date(2011, 1, 1)

    def post(kind, day, reference, memo, entry_lines):
        nonlocal entry_id, prev
        entry_id += 1
        entry = {"id": entry_id, "kind": kind, "event_date": day, "posted_at": now, "user_name": "bench",
                 "reference": reference, "memo": memo, "reverses_id": None, "prev_hash": prev}
        numbered = [{"line_no": n, **line} for n, line in enumerate(entry_lines, start=1)]
        prev = entry_hash(entry, numbered)
        entries.append((entry_id, kind, day.isoformat(), now.strftime("%Y-%m-%d %H:%M:%S.%f"), "bench", reference, memo, None,
                        entry["prev_hash"], prev))
        for line in numbered:
            lines.append((entry_id, line["line_no"], line["account"], line["flow"], line["currency"],
                          line["amount_minor"], line["usd_cents"], line["donor_id"], line["pledge_id"],
                          line["allocation_id"], line["paragraph_id"], line["activity_id"], line["disbursement_id"]))
        return entry_id

    def line(account, flow, amount, donor, pledge, allocation, paragraph, activity=None, disbursement=None):
        return {"account": account, "flow": flow, "currency": "USD", "amount_minor": amount, "usd_cents": amount,
                "donor_id": donor, "pledge_id": pledge, "allocation_id": allocation, "paragraph_id": paragraph,
                "activity_id": activity, "disbursement_id": disbursement}

    for p in range(1, count + 1):
        donor = (p % 50) + 1
        earmarked = p % 8 != 0
        activity = 1 + (p % 14)
        paragraph = activities[activity - 1][2] if earmarked else None
        pledged_on = base + dt.timedelta(days=p % 1500)
        amount = 1_000_000 + (p % 997) * 100  # cents
        tags = (donor, p, p, paragraph)
        e = post("pledge", pledged_on, f"P{p:06d}", f"pledge of D{donor - 1:03d}", [
            line("1100", "pledge", amount, *tags), line("4000", "pledge", -amount, *tags)])
        due = pledged_on + dt.timedelta(days=365)
        pledges.append((p, f"P{p:06d}", donor, pledged_on.isoformat(), "USD", 1_000_000, 1300, due.isoformat(), "", e))
        allocations.append((p, p, 1, paragraph, amount, amount))
        for share, days in ((amount * 4 // 10, 30), (amount * 3 // 10, 90)):
            receipt_id += 1
            day = pledged_on + dt.timedelta(days=days)
            e = post("receipt", day, f"R{receipt_id:07d}", f"receipt on pledge P{p:06d}", [
                line("1000", "receipt", share, *tags), line("1100", "receipt", -share, *tags)])
            receipts.append((receipt_id, f"R{receipt_id:07d}", p, day.isoformat(), share, share, 0, "", e))
        disbursement_id += 1
        spend = amount // 10
        psc = (spend * 1300 + 5000) // 10_000
        day = pledged_on + dt.timedelta(days=120)
        spend_tags = (*tags[:3], activities[activity - 1][2], activity, disbursement_id)
        e = post("disbursement", day, f"X{disbursement_id:07d}", f"disbursement for A{activity}", [
            line("5000", "spend", spend, *spend_tags), line("1000", "spend", -spend, *spend_tags),
            line("5100", "psc", psc, *spend_tags), line("1000", "psc", -psc, *spend_tags)])
        disbursements.append((disbursement_id, f"X{disbursement_id:07d}", activity, day.isoformat(), "USD", spend, spend,
                              "", "", None, e))
    with con:
        con.executemany("insert into journal_entries (id, kind, event_date, posted_at, user_name, reference, memo, "
                        "reverses_id, prev_hash, hash) values (?,?,?,?,?,?,?,?,?,?)", entries)
        con.executemany("insert into journal_lines (entry_id, line_no, account, flow, currency, amount_minor, usd_cents, "
                        "donor_id, pledge_id, allocation_id, paragraph_id, activity_id, disbursement_id) "
                        "values (?,?,?,?,?,?,?,?,?,?,?,?,?)", lines)
        con.executemany("insert into pledges (id, reference, donor_id, pledged_on, currency, rate_micros, psc_rate_bp, "
                        "due_on, notes, entry_id) values (?,?,?,?,?,?,?,?,?,?)", pledges)
        con.executemany("insert into allocations (id, pledge_id, position, paragraph_id, amount_minor, pledged_cents) "
                        "values (?,?,?,?,?,?)", allocations)
        con.executemany("insert into receipts (id, reference, pledge_id, received_on, amount_minor, usd_cents, usd_given, "
                        "bank_reference, entry_id) values (?,?,?,?,?,?,?,?,?)", receipts)
        con.executemany("insert into disbursements (id, reference, activity_id, disbursed_on, currency, amount_minor, "
                        "usd_cents, payee, description, pledge_id, entry_id) values (?,?,?,?,?,?,?,?,?,?,?)",
                        disbursements)
    con.execute("analyze")
    con.close()


# -- the processes timed ------------------------------------------------------------------

# Each process is given the wall-clock time of its launch (argv[1]) and prints the seconds from
# then to each moment, so interpreter start-up counts as the user waits for it too.
BARE = """
import sys, time
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("A static screen")
    def on_mount(self):
        self.call_after_refresh(lambda: self.exit(time.time() - float(sys.argv[1])))
print(f"ready {Bare().run(headless=True, size=(120, 40))}")
"""

# The path of `donor-ledger --db URL`: the app paints the dashboard, then opens the ledger in a
# worker and loads the figures.
LEDGER = """
import sys, time
import cli.main  # what the console script loads before the app (click, the commands' frame)
from tui.app import DonorLedgerApp
launched = float(sys.argv[1])
class Timed(DonorLedgerApp):
    async def on_mount(self):
        await super().on_mount()
        self.call_after_refresh(lambda: print(f"ready {time.time() - launched}", flush=True))
    def on_dashboard_screen_ready(self, _message):
        self.call_after_refresh(lambda: self.exit(time.time() - launched))
def opener():
    from ledger.services import open_ledger
    return open_ledger(sys.argv[2], "bench")
print(f"figures {Timed(opener).run(headless=True, size=(120, 40))}")
"""


def timed_process(code: str, *args: str) -> dict[str, float]:
    """Seconds from the launch of a fresh Python process to each moment it reports."""
    launched = time.time()
    done = subprocess.run([sys.executable, "-c", code, repr(launched), *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode != 0:
        raise SystemExit(f"benchmark process failed:\n{done.stdout}\n{done.stderr}")
    moments = dict(line.split() for line in done.stdout.splitlines() if line.startswith(("ready ", "figures ")))
    return {name: float(seconds) for name, seconds in moments.items()}


async def pledges_table(url: str) -> tuple[float, float, int]:
    from ledger.services import open_ledger
    from tui.app import DonorLedgerApp
    from tui.tables import LazyTable

    ledger = open_ledger(url, "bench")
    app = DonorLedgerApp(ledger, start="pledges")
    start = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        while True:
            await asyncio.sleep(0.005)
            tables = app.screen.query(LazyTable)
            if tables and tables.first().loaded:
                break
        opened = time.perf_counter() - start
        table = tables.first()
        table.focus()
        start = time.perf_counter()
        await pilot.press("end")
        last = table.row_count - 1
        while table.cursor_row != last or table.row_key(last) is None:
            await asyncio.sleep(0.005)
        await pilot.pause()
        moved = time.perf_counter() - start
        rows = table.row_count
    ledger.close()
    return opened, moved, rows


def first_entry_verifies(path: Path) -> bool:
    """False for a cached ledger written by an older version of the canonical form (regenerate)."""
    import datetime as dt

    from ledger.journal import ENTRY_COLUMNS, LINE_COLUMNS, entry_hash

    con = sqlite3.connect(path)
    try:
        entry = con.execute(f"select {', '.join(ENTRY_COLUMNS)}, hash from journal_entries where id = 1").fetchone()
        lines = con.execute(f"select {', '.join(LINE_COLUMNS)} from journal_lines where entry_id = 1 order by line_no")
        lines = [dict(zip(LINE_COLUMNS, row, strict=True)) for row in lines]
    except sqlite3.Error:
        return False
    finally:
        con.close()
    if entry is None:
        return False
    values = dict(zip(ENTRY_COLUMNS, entry[:-1], strict=True))
    values["event_date"] = dt.date.fromisoformat(values["event_date"])
    values["posted_at"] = dt.datetime.fromisoformat(values["posted_at"])
    return entry_hash(values, lines) == entry[-1]


def pledges_in(path: Path) -> int | None:
    """How many pledges a cached ledger holds (None: no ledger there)."""
    if not path.exists():
        return None
    con = sqlite3.connect(path)
    try:
        return con.execute("select count(*) from pledges").fetchone()[0]
    except sqlite3.Error:
        return None
    finally:
        con.close()


def measure(url: str, runs: int, suffix: str) -> None:
    """The launch times against the bare app's, then the pledges table, on the ledger at ``url``."""
    bare, ready, figures = [], [], []
    timed_process(BARE)  # warm the file cache once
    timed_process(LEDGER, url)
    for _ in range(runs):
        bare.append(timed_process(BARE)["ready"])
        moments = timed_process(LEDGER, url)
        ready.append(moments["ready"])
        figures.append(moments["figures"])
    b, r, f = statistics.median(bare), statistics.median(ready), statistics.median(figures)
    print(f"launch to a static screen, bare Textual app:  {b:.2f} s (median of {runs})")
    print(f"launch to the dashboard ready for input:      {r:.2f} s (median of {runs})")
    print(f"launch to the dashboard's figures on screen:  {f:.2f} s (median of {runs})")
    print(f"ratio, ready for input: {r / b:.2f}x (goal: at most 2x)")
    print(f"ratio, figures:         {f / b:.2f}x")
    print(f"RESULT name=tui_start{suffix} ratio={r / b:.2f} goal=2 baseline=bare_textual seconds={r:.2f}")
    print(f"RESULT name=tui_figures{suffix} ratio={f / b:.2f} goal=none baseline=bare_textual seconds={f:.2f}")
    opened, moved, rows = asyncio.run(pledges_table(url))
    print(f"pledges table ({rows:,} rows): open the app on it (count + first page on screen) {opened:.2f} s; "
          f"End to the last row, its page on screen {moved:.2f} s")


def main() -> None:
    if os.environ.get("BENCH_FAULTHANDLER"):
        import faulthandler
        import signal
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL server URL (a database made and dropped)")
    parser.add_argument("--file", type=Path, help="the generated SQLite ledger, kept between runs (default: in the "
                                                  "temporary folder, named by --pledges)")
    parser.add_argument("--pledges", type=int, default=PLEDGES, help="pledges generated (10 journal lines each)")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    file = args.file or default_file(args.pledges)
    if args.regenerate or pledges_in(file) != args.pledges or not first_entry_verifies(file):
        start = time.perf_counter()
        generate(file, args.pledges)
        print(f"generated {file} in {time.perf_counter() - start:.1f} s")
    con = sqlite3.connect(file)
    lines, entries, pledges = (con.execute(f"select count(*) from {t}").fetchone()[0]
                               for t in ("journal_lines", "journal_entries", "pledges"))
    con.close()
    print(f"ledger: {lines:,} journal lines, {entries:,} entries, {pledges:,} pledges")
    with ledger_on(args.db, "tui", file) as url:
        measure(url, args.runs, suffix(args.db))


if __name__ == "__main__":
    main()
