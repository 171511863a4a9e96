"""Two finance officers posting receipts at the same moment, from two OS processes.

The chain head is taken under a lock in each writing transaction, so the chain never forks:
every receipt is present once, entry ids are 1..n without a gap, and verify passes.
"""

from __future__ import annotations

import multiprocessing

from sqlalchemy import select

from ledger import services
from ledger.database import Ledger
from ledger.inputs import ReceiptIn
from ledger.schema import JournalEntry, Receipt
from tests.builders import donor, pledge

PER_PROCESS = 25


def post_receipts(url: str, worker: str, start, results) -> None:
    ledger = Ledger(url, user="officer")
    start.wait(30)
    try:
        for i in range(PER_PROCESS):
            services.record_receipt(ledger, ReceiptIn(
                reference=f"{worker}-{i:03d}", pledge="P", received_on="2020-02-01", amount="1.00"))
        results.put((worker, "ok"))
    except Exception as exc:  # reported to the parent, which fails the test
        results.put((worker, f"{type(exc).__name__}: {exc}"))
    finally:
        ledger.close()


def test_two_processes_posting_receipts_at_once_keep_the_chain_whole(ledger, db_url):
    donor(ledger, "AAA")
    pledge(ledger, "P", "AAA", "2020-01-01", "USD", {1: "1000", None: "1000"})
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=post_receipts, args=(db_url, name, start, results)) for name in ("A", "B")]
    for process in workers:
        process.start()
    start.set()
    outcomes = dict(results.get(timeout=120) for _ in workers)
    for process in workers:
        process.join(60)
    assert outcomes == {"A": "ok", "B": "ok"}

    with ledger.reading() as session:
        ids = session.execute(select(JournalEntry.id).order_by(JournalEntry.id)).scalars().all()
        references = session.execute(select(Receipt.reference)).scalars().all()
        kinds = session.execute(select(JournalEntry.kind).order_by(JournalEntry.id)).scalars().all()
    assert ids == list(range(1, 2 * PER_PROCESS + 2))  # the pledge and every receipt, contiguous
    assert sorted(references) == sorted(f"{w}-{i:03d}" for w in "AB" for i in range(PER_PROCESS))
    assert kinds.count("receipt") == 2 * PER_PROCESS
    result = services.verify_chain(ledger)
    assert result.ok and result.entries == 2 * PER_PROCESS + 1, result.message
