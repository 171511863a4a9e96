"""Four officers posting a mix of acts at the same moment, from four OS processes, on each database.

Each writer posts receipts on its own pledge, disbursements with automatic funding from a shared
pool, a cancellation of part of its pledge and a reversal of its own disbursement; on PostgreSQL
the rows go in by COPY (ledger/unit_of_work.py) inside the writer's locked transaction. Afterwards
every act is present exactly once, entry ids run 1..n without a gap, the pool's cash is what the
acts left, and the chain verifies. (bench/bench_load.py measures the same under load.)
"""

from __future__ import annotations

import multiprocessing

from sqlalchemy import func, select

from ledger import journal, services
from ledger.database import Ledger
from ledger.inputs import CancellationIn, DisbursementIn, ReceiptIn, ReversalIn
from ledger.schema import Disbursement, JournalEntry, JournalLine, Pledge, Receipt
from tests.builders import activity, donor, pledge, receipt

WRITERS = 4
# one writer's acts, in order: (kind, amount)
ACTS = [("receipt", "100.00"), ("disbursement", "250.00"), ("cancellation", "10.00"), ("receipt", "100.00"),
        ("disbursement", "250.00"), ("reversal", None)]


def post_acts(url: str, w: int, start, results) -> None:
    ledger = Ledger(url, user="officer")
    start.wait(60)
    try:
        last_disbursement = None
        for i, (kind, amount) in enumerate(ACTS):
            if kind == "receipt":
                services.record_receipt(ledger, ReceiptIn(reference=f"R{w}-{i}", pledge=f"W{w}",
                                                          received_on="2020-03-01", amount=amount))
            elif kind == "disbursement":
                last_disbursement = services.disburse(ledger, DisbursementIn(
                    reference=f"X{w}-{i}", activity="A1", disbursed_on="2020-04-01", amount=amount)).entry_id
            elif kind == "cancellation":
                services.cancel_pledge(ledger, CancellationIn(pledge=f"W{w}", amount=amount,
                                                              cancelled_on="2020-03-15", reason="written off"))
            else:
                services.reverse(ledger, ReversalIn(entry_id=last_disbursement, reason="entered in error"))
        results.put((w, "ok"))
    except Exception as exc:  # reported to the parent, which fails the test
        results.put((w, f"{type(exc).__name__}: {exc}"))
    finally:
        ledger.close()


def test_four_writers_posting_a_mix_at_once_lose_and_double_nothing(ledger, db_url):
    donor(ledger, "POOL")
    activity(ledger, "A1", 1, "1000000", "ongoing", 10)
    pledge(ledger, "POOL", "POOL", "2020-01-01", "USD", {1: "100000"}, psc="10")
    receipt(ledger, "POOL-R", "POOL", "2020-01-15", "100000")
    for w in range(WRITERS):
        donor(ledger, f"D{w}")
        pledge(ledger, f"W{w}", f"D{w}", "2020-02-01", "USD", {None: "5000"})
    setup_entries = 2 + WRITERS
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=post_acts, args=(db_url, w, start, results)) for w in range(WRITERS)]
    for process in workers:
        process.start()
    start.set()
    outcomes = dict(results.get(timeout=180) for _ in workers)
    for process in workers:
        process.join(60)
    assert outcomes == {w: "ok" for w in range(WRITERS)}

    with ledger.reading() as session:
        ids = session.execute(select(JournalEntry.id).order_by(JournalEntry.id)).scalars().all()
        kinds = dict(session.execute(select(JournalEntry.kind, func.count()).group_by(JournalEntry.kind)).all())
        receipts = session.execute(select(Receipt.reference).where(Receipt.reference != "POOL-R")).scalars().all()
        paid = session.execute(select(Disbursement.reference)).scalars().all()
        pool_cash = session.execute(select(func.sum(JournalLine.usd_cents)).where(
            JournalLine.account == journal.CASH,
            JournalLine.pledge_id == select(Pledge.id).where(Pledge.reference == "POOL").scalar_subquery())).scalar_one()
    assert ids == list(range(1, setup_entries + WRITERS * len(ACTS) + 1))
    assert sorted(receipts) == sorted(f"R{w}-{i}" for w in range(WRITERS) for i in (0, 3))
    assert sorted(paid) == sorted(f"X{w}-{i}" for w in range(WRITERS) for i in (1, 4))
    assert (kinds["receipt"], kinds["disbursement"], kinds["cancellation"], kinds["reversal"]) == (
        1 + 2 * WRITERS, 2 * WRITERS, WRITERS, WRITERS)
    # 100,000.00 received; each writer spent 2 x (250.00 + 10 % PSC) and reversed one of them
    assert pool_cash == 10_000_000 - WRITERS * 27_500
    result = services.verify_chain(ledger)
    assert result.ok and result.entries == len(ids), result.message
