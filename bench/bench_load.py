"""Benchmark: many officers at once. 1, 2, 4 and 8 writer processes post a realistic mix of acts
into one ledger while two reader processes run ``report funding`` and the dashboard's queries.

    .venv/bin/python bench/bench_load.py [--db sqlite|URL] [--acts 2000] [--writers 1 2 4 8] [--readers 2]

``--db``: ``sqlite`` (a ledger file) or a PostgreSQL server URL whose user may create databases
(bench/stores.py: a database per run, dropped after).

For each writer count, a fresh copy of one prepared ledger (donors, a EUR rate, an activity per
paragraph, a funding pool received in full, and eight donors' pledges) gets ``--acts`` acts in
all, shared out among the writers. Each writer cycles through ten acts, each one business act of
its own unit of work through ``ledger.services`` as the TUI posts it: four receipts, three
disbursements with automatic funding, two cancellations of part of a pledge, and a reversal of
its last disbursement. The receipts and cancellations go to the eight pledges in turn, whatever
the number of writers: a pledge's balance is a sum of its lines, so one writer putting every
receipt on one pledge would make its own acts dearer than eight writers on eight pledges. Two readers loop meanwhile, each through ``ledger.reading()``:
one builds the funding report and renders it as JSON (``report funding``), the other runs the
dashboard's queries (the funding figures, overdue pledges, the activities).

Before the clock starts, every writer posts one act of each kind (not counted in the figures,
checked with the rest), as an officer's TUI that has posted before: its statements compiled and
its code loaded. Without it each writer's first receipt took 22 ms of the lock instead of 5, its
first disbursement 15 instead of 6, a cost paid once per process, that is eight times with
eight writers, and counted as contention.

Printed per writer count: acts per second (all acts over the time from the start signal, given
once every process has started Python, opened its ledger and posted its warm-up acts, to the
last writer done), the median and 99th-percentile latency of one act, the readers' runs and
their median and 99th-percentile latency. On PostgreSQL the parent also samples
``pg_stat_activity`` every 20 ms and counts the samples where a reader waited for a lock.
Afterwards every act is checked to be present exactly once (each receipt and disbursement
reference, the number of cancellations and reversals) and the chain is verified.

2,000 acts by default: an act now takes 2-3 ms on SQLite, so a run of 400 lasted 1.5 s, in
which the scheduling of 10 processes on 2 cores weighed as much as the lock (8 writers gave
0.78x to 0.94x one writer in three runs of 400 acts, 0.99x and 1.03x in two of 2,000).

Goal: with 8 writers, acts per second at least 0.8x that of one writer (the writer lock must
not collapse under contention); no reader ever waits for a lock; no act lost or doubled.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from stores import label, store_for  # noqa: E402

GOAL = 0.8
CYCLE = ("receipt", "disbursement", "receipt", "cancellation", "disbursement", "receipt", "disbursement",
         "cancellation", "receipt", "reversal")
PLEDGES = 8  # the donors' pledges the acts are spread over, whatever the number of writers
POOL = "1000000000"  # per allocation of the funding pool, USD: every disbursement is fundable


def prepare(url: str, pledges: int) -> None:
    """The ledger every run starts from."""
    from ledger import services
    from ledger.database import Ledger
    from ledger.inputs import ActivityIn, DonorIn, PledgeIn, RateIn, ReceiptIn

    ledger = Ledger(url, user="bench")
    for year in range(2011, 2017):  # a rate of every month (events need their month's rate)
        for month in range(1, 13):
            services.add_rate(ledger, RateIn(currency="EUR", effective_from=f"{year}-{month:02d}-01", units_per_usd="0.85"))
    services.save_donor(ledger, DonorIn(code="POOL", name="Funding pool", kind="member-state", currency="USD"))
    for paragraph in range(1, 8):
        services.save_activity(ledger, ActivityIn(code=f"A{paragraph}", paragraph=paragraph, title=f"Activity {paragraph}",
                                                  budget_usd="100000000", status="ongoing", progress_pct=10))
    services.record_pledge(ledger, PledgeIn(
        reference="POOL", donor="POOL", pledged_on="2011-01-01", currency="USD", psc_rate="13",
        allocations=[{"paragraph": p, "amount": POOL} for p in [*range(1, 8), None]]))
    services.record_receipt(ledger, ReceiptIn(reference="POOL-R", pledge="POOL", received_on="2011-02-01",
                                              amount=str(int(POOL) * 8)))
    for w in range(pledges):
        currency = "EUR" if w % 2 else "USD"
        services.save_donor(ledger, DonorIn(code=f"D{w}", name=f"Donor {w}", kind="member-state", currency=currency))
        services.record_pledge(ledger, PledgeIn(
            reference=f"W{w}", donor=f"D{w}", pledged_on="2012-01-01", currency=currency, psc_rate="13",
            due_on="2013-01-01", allocations=[{"paragraph": 1 + w % 7, "amount": "50000000"},
                                              {"paragraph": None, "amount": "50000000"}]))
    ledger.close()


WARM_UP = ("receipt", "disbursement", "cancellation", "reversal")  # one of each kind, before the clock


def post(ledger, w: int, i: int, act: str, reference: str, day: dt.date, last_disbursement: int | None) -> int | None:
    """Act ``i`` of writer ``w``, through ledger.services as the TUI posts it; the entry of the
    last disbursement (the next reversal's)."""
    from ledger import services
    from ledger.inputs import CancellationIn, DisbursementIn, ReceiptIn, ReversalIn

    if act == "receipt":
        services.record_receipt(ledger, ReceiptIn(reference=f"R{reference}", pledge=f"W{(w + i) % PLEDGES}",
                                                  received_on=day.isoformat(), amount="100.00"))
    elif act == "disbursement":
        return services.disburse(ledger, DisbursementIn(
            reference=f"X{reference}", activity=f"A{1 + (w + i) % 7}", disbursed_on=day.isoformat(),
            amount="250.00", payee="Payee")).entry_id
    elif act == "cancellation":
        services.cancel_pledge(ledger, CancellationIn(pledge=f"W{(w + i) % PLEDGES}", amount="10.00",
                                                      cancelled_on=day.isoformat(), reason="written off"))
    else:
        services.reverse(ledger, ReversalIn(entry_id=last_disbursement, reason="entered in error"))
    return last_disbursement


def writer(url: str, w: int, acts: int, ready, start, results) -> None:
    from ledger.database import Ledger

    ledger = Ledger(url, user="bench")
    latencies, last_disbursement = [], None
    for act in WARM_UP:  # as an officer's TUI that has posted before: statements compiled, code loaded
        last_disbursement = post(ledger, w, 0, act, f"warm-{w}", dt.date(2016, 1, 1), last_disbursement)
    ready.release()
    start.wait(300)
    try:
        for i in range(acts):
            act = CYCLE[i % len(CYCLE)]
            day = dt.date(2016, 1, 1) + dt.timedelta(days=i % 300)
            began = time.perf_counter()
            last_disbursement = post(ledger, w, i, act, f"{w}-{i}", day, last_disbursement)
            latencies.append(time.perf_counter() - began)
        results.put(("writer", w, latencies, None))
    except Exception as exc:  # reported to the parent, which fails the run
        results.put(("writer", w, latencies, f"{type(exc).__name__}: {exc}"))
    finally:
        ledger.close()


def reader(url: str, which: str, ready, start, stop, results) -> None:
    from ledger.alerts import alerts_for
    from ledger.database import Ledger
    from reports.funding import funding_report_for
    from reports.render import funding_json

    ledger = Ledger(url, user="bench")
    latencies = []
    ready.release()
    start.wait(300)
    try:
        while not stop.is_set():
            began = time.perf_counter()
            if which == "report":
                funding_json(funding_report_for(ledger))
            else:
                funding_report_for(ledger)
                alerts_for(ledger, dt.date.today(), limit=5)  # what the dashboard reads
            latencies.append(time.perf_counter() - began)
        results.put(("reader", which, latencies, None))
    except Exception as exc:
        results.put(("reader", which, latencies, f"{type(exc).__name__}: {exc}"))
    finally:
        ledger.close()


def reader_url(url: str) -> str:
    """On PostgreSQL the readers' connections carry an application name the parent looks for."""
    if not url.startswith("postgresql"):
        return url
    return url + ("&" if "?" in url else "?") + "application_name=dl_bench_reader"


def lock_waits(url: str, stop: threading.Event, found: list[int]) -> None:
    """Count the samples in which a reader's backend waited for a lock (PostgreSQL)."""
    import psycopg
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        while not stop.is_set():
            waiting = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                   "'dl_bench_reader' AND wait_event_type = 'Lock'").fetchone()[0]
            found[0] += 1
            found[1] += waiting > 0
            time.sleep(0.02)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def check(url: str, writers: int, acts: int) -> str:
    """Every act present exactly once and the chain whole; '' when so, else what is wrong."""
    from sqlalchemy import func, select

    from ledger import services
    from ledger.database import Ledger
    from ledger.schema import Disbursement, JournalEntry, Receipt

    shares = shares_of(acts, writers)
    expected = {"receipt": set(), "disbursement": set(), "cancellation": 0, "reversal": 0}
    for w, count in enumerate(shares):
        expected["receipt"].add(f"Rwarm-{w}")
        expected["disbursement"].add(f"Xwarm-{w}")
        expected["cancellation"] += 1
        expected["reversal"] += 1
        for i in range(count):
            act = CYCLE[i % len(CYCLE)]
            if act in ("receipt", "disbursement"):
                expected[act].add(f"{'R' if act == 'receipt' else 'X'}{w}-{i}")
            else:
                expected[act] += 1
    ledger = Ledger(url, user="bench")
    try:
        with ledger.reading() as session:
            receipts = session.execute(select(Receipt.reference).where(Receipt.reference != "POOL-R")).scalars().all()
            paid = session.execute(select(Disbursement.reference)).scalars().all()
            kinds = dict(session.execute(select(JournalEntry.kind, func.count()).group_by(JournalEntry.kind)).all())
        problems = []
        if sorted(receipts) != sorted(expected["receipt"]):
            problems.append(f"receipts: {len(receipts)} stored, {len(expected['receipt'])} posted")
        if sorted(paid) != sorted(expected["disbursement"]):
            problems.append(f"disbursements: {len(paid)} stored, {len(expected['disbursement'])} posted")
        for kind in ("cancellation", "reversal"):
            if kinds.get(kind, 0) != expected[kind]:
                problems.append(f"{kind}s: {kinds.get(kind, 0)} stored, {expected[kind]} posted")
        verified = services.verify_chain(ledger)
        if not verified.ok:
            problems.append(f"verify: {verified.message}")
        return "; ".join(problems)
    finally:
        ledger.close()


def shares_of(acts: int, writers: int) -> list[int]:
    return [acts // writers + (1 if w < acts % writers else 0) for w in range(writers)]


def run(store, writers: int, acts: int, reader_count: int = 2) -> dict:
    name = f"load-{writers}"
    store.copy("prepared", name)
    url = store.url(name)
    context = multiprocessing.get_context("spawn")
    ready, start, stop, results = context.Semaphore(0), context.Event(), context.Event(), context.Queue()
    workers = [context.Process(target=writer, args=(url, w, n, ready, start, results))
               for w, n in enumerate(shares_of(acts, writers))]
    readers = [context.Process(target=reader, args=(reader_url(url), which, ready, start, stop, results))
               for which in ("report", "dashboard")[:reader_count]]
    for process in workers + readers:
        process.start()
    for _ in workers + readers:  # every process started Python and opened its ledger: the clock starts after
        if not ready.acquire(timeout=300):
            sys.exit("FAILED: a writer or reader did not open its ledger within 300 s")
    sampling, samples = threading.Event(), [0, 0]
    sampler = threading.Thread(target=lock_waits, args=(url, sampling, samples)) if store.name == "postgresql" else None
    if sampler:
        sampler.start()
    began = time.perf_counter()
    start.set()
    latencies, failures, done = [], [], 0
    while done < len(workers):
        role, who, times, failure = results.get(timeout=1800)
        if role == "writer":
            done += 1
            latencies += times
        if failure:
            failures.append(f"{role} {who}: {failure}")
    seconds = time.perf_counter() - began
    stop.set()
    reads = {}
    for _ in readers:
        role, who, times, failure = results.get(timeout=300)
        reads[who] = times
        if failure:
            failures.append(f"{role} {who}: {failure}")
    sampling.set()
    if sampler:
        sampler.join()
    for process in workers + readers:
        process.join(60)
    problem = check(url, writers, acts)
    store.drop(name)
    all_reads = reads.get("report", []) + reads.get("dashboard", [])
    return {"writers": writers, "acts": len(latencies), "seconds": seconds, "per_second": len(latencies) / seconds,
            "p50": statistics.median(latencies) if latencies else float("nan"), "p99": percentile(latencies, 0.99),
            "reads": len(all_reads), "read_p50": statistics.median(all_reads) if all_reads else float("nan"),
            "read_p99": percentile(all_reads, 0.99), "lock_samples": samples[0], "lock_waits": samples[1],
            "failures": failures, "problem": problem}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL server URL (databases made and dropped)")
    parser.add_argument("--acts", type=int, default=2000, help="acts per writer count, shared out among the writers")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--readers", type=int, choices=(0, 1, 2), default=2,
                        help="reader processes beside the writers (the goal is with 2; fewer to tell the lock from the CPU)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="dl-load-"))
    store = store_for(args.db, folder)
    try:
        prepare(store.url("prepared"), max(PLEDGES, *args.writers))
        results = [run(store, writers, args.acts, args.readers) for writers in args.writers]
    finally:
        store.close()

    db = label(args.db)
    print(f"\non {db}: {args.acts} acts per run ({', '.join(CYCLE)}), {args.readers} readers")
    print(f"{'writers':>8}{'acts':>6}{'s':>8}{'acts/s':>8}{'x 1':>6}{'p50 ms':>8}{'p99 ms':>8}"
          f"{'reads':>7}{'read p50':>10}{'read p99':>10}{'lock waits':>12}  check")
    one = results[0]["per_second"]
    for r in results:
        waits = f"{r['lock_waits']}/{r['lock_samples']}" if db == "postgresql" else "-"
        verdict = "; ".join(r["failures"]) or r["problem"] or "every act once, chain verifies"
        print(f"{r['writers']:>8}{r['acts']:>6}{r['seconds']:>8.2f}{r['per_second']:>8.1f}{r['per_second'] / one:>6.2f}"
              f"{r['p50'] * 1000:>8.1f}{r['p99'] * 1000:>8.1f}{r['reads']:>7}{r['read_p50'] * 1000:>10.0f}"
              f"{r['read_p99'] * 1000:>10.0f}{waits:>12}  {verdict}")
    bad = [r for r in results if r["failures"] or r["problem"] or r["lock_waits"]]
    most = results[-1]
    suffix = "" if db == "sqlite" else "_pg"
    # the line bench/run_all.py reads (bench/README.md): the baseline is one writer, in the same run
    if args.readers != 2:  # not the goal's setting: shown, not judged
        suffix, goal = f"_{args.readers}_readers{suffix}", "none"
    else:
        goal = f"{GOAL:g}"
    print(f"RESULT name=load_{most['writers']}_writers{suffix} ratio={most['per_second'] / one:.2f} goal={goal} "
          f"direction=min baseline=one_writer seconds={most['seconds']:.2f}")
    if bad:
        print("FAILED: " + " | ".join(f"{r['writers']} writers: {'; '.join(r['failures']) or r['problem'] or 'readers waited for a lock'}"
                                      for r in bad))
        sys.exit(1)


if __name__ == "__main__":
    main()
