"""A large, valid donor-ledger ledger written straight with SQL, and the same transactions
as an hledger journal and a beancount file.

The transactions are generated in date order (a clock that only moves forward), all in USD:
pledges (one allocation, or a paragraph and an unearmarked one), receipts against pledges
with something outstanding (split pro rata by the largest remainder, as the ledger does),
and disbursements for activities paid from an allocation that holds the cash (13 % PSC on
top), so every balance the ledger's rules would check holds on every date. Rows go in with
``sqlite3.executemany``; each entry's hash is ``ledger.journal.entry_hash`` over exactly
what is stored (format 2: the posted rows included), so ``verify`` passes.

    .venv/bin/python bench/synthetic.py --transactions 100000 --out bench/.data/t100k
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger import journal  # noqa: E402
from ledger.balances import psc_of  # noqa: E402
from ledger.money import largest_remainder  # noqa: E402

USER = "bench"
PSC_BP = 1300
DONORS = 60
ACTIVITIES_PER_PARAGRAPH = 10
ACCOUNT_NAMES = {  # chart of accounts -> peer account stem (hledger, beancount)
    journal.RECEIVABLE: ("assets:receivable", "Assets:Receivable"),
    journal.REVENUE: ("revenue:contributions", "Income:Contributions"),
    journal.CASH: ("assets:cash", "Assets:Cash"),
    journal.EXPENDITURE: ("expenses:programme", "Expenses:Programme"),
    journal.PSC: ("expenses:psc", "Expenses:Psc"),
}


COLUMNS = {  # the posted rows as generated
    "pledges": ("id", "reference", "donor_id", "pledged_on", "currency", "rate_micros", "psc_rate_bp", "due_on", "notes",
                "entry_id"),
    "allocations": ("id", "pledge_id", "position", "paragraph_id", "amount_minor", "pledged_cents"),
    "receipts": ("id", "reference", "pledge_id", "received_on", "amount_minor", "usd_cents", "usd_given",
                 "bank_reference", "entry_id"),
    "disbursements": ("id", "reference", "activity_id", "disbursed_on", "currency", "amount_minor", "usd_cents", "payee",
                      "description", "pledge_id", "entry_id"),
}


@dataclass
class Allocation:
    id: int
    pledge_id: int
    donor_id: int
    paragraph_id: int | None
    paragraph: int | None  # number; None = unearmarked
    amount: int
    outstanding: int
    cash: int = 0


@dataclass
class Generated:
    transactions: int = 0
    entries: list[tuple] = field(default_factory=list)
    lines: list[tuple] = field(default_factory=list)
    peer_postings: list[tuple[str, str, list[tuple[str, int]]]] = field(default_factory=list)


def _paragraphs(conn: sqlite3.Connection) -> dict[int, int]:
    return dict(conn.execute("select number, id from paragraphs order by number"))


def generate(path: Path, transactions: int, seed: int = 2011, with_peers: bool = True) -> dict:
    """Write a migrated SQLite ledger at ``path`` holding ``transactions`` money events."""
    from sqlalchemy import create_engine

    from ledger.migrate import upgrade

    if path.exists():
        path.unlink()
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    rng = random.Random(seed)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    paragraphs = _paragraphs(conn)
    now = dt.datetime(2016, 12, 31, 12, 0, 0)
    conn.execute("insert into users (name, role, created_at, created_by) values (?, 'admin', ?, ?)",
                 (USER, now.strftime("%Y-%m-%d %H:%M:%S.%f"), USER))
    conn.executemany("insert into donors (id, code, name, kind, country, currency) values (?, ?, ?, 'member-state', null, 'USD')",
                     [(i, f"D{i:03d}", f"Donor {i}") for i in range(1, DONORS + 1)])
    activities: dict[int, list[int]] = {}
    rows = []
    for number, pid in paragraphs.items():
        for k in range(ACTIVITIES_PER_PARAGRAPH):
            aid = len(rows) + 1
            rows.append((aid, f"A{number}-{k:02d}", pid, f"Activity {k} of paragraph {number}",
                         rng.randrange(50_000, 2_000_000) * 100, "ongoing", rng.randrange(0, 101)))
            activities.setdefault(number, []).append(aid)
    conn.executemany("insert into activities (id, code, paragraph_id, title, budget_cents, planned_start, planned_end, "
                     "status, progress_pct) values (?, ?, ?, ?, ?, null, null, ?, ?)", rows)
    activity_paragraph = {aid: (number, paragraphs[number]) for number, ids in activities.items() for aid in ids}

    pledges, allocations_rows, receipts, disbursements, entries, lines = [], [], [], [], [], []
    peers: list[tuple[str, str, list[tuple[str, int]]]] = []
    open_allocations: list[Allocation] = []  # with something outstanding
    funded: list[Allocation] = []  # holding cash
    by_pledge: dict[int, list[Allocation]] = {}
    day = dt.date(2011, 1, 3)
    last_day = dt.date(2016, 12, 30)
    step = (last_day - day).days / transactions
    clock = 0.0
    prev = journal.GENESIS

    posted_tables = {"pledges": pledges, "allocations": allocations_rows, "receipts": receipts,
                     "disbursements": disbursements}
    marks = dict.fromkeys(posted_tables, 0)

    def post(kind: str, reference: str, memo: str, entry_lines: list[dict]) -> None:
        nonlocal prev
        eid = len(entries) + 1
        posted = now + dt.timedelta(microseconds=eid)
        entry = {"id": eid, "kind": kind, "event_date": day, "posted_at": posted, "user_name": USER,
                 "reference": reference, "memo": memo, "reverses_id": None, "prev_hash": prev,
                 "format_version": journal.FORMAT}
        numbered = [{"line_no": i, **line} for i, line in enumerate(entry_lines, start=1)]
        rows = {}  # the rows appended since the entry before: posted with this one
        for name, table_rows in posted_tables.items():
            if len(table_rows) > marks[name]:
                rows[name] = [journal.posted_row(dict(zip(COLUMNS[name], row, strict=True)))
                              for row in table_rows[marks[name]:]]
                marks[name] = len(table_rows)
        entry["hash"] = journal.entry_hash(entry, numbered, rows)
        entries.append((eid, kind, day.isoformat(), posted.strftime("%Y-%m-%d %H:%M:%S.%f"), USER, reference, memo,
                        None, prev, entry["hash"], journal.FORMAT))
        for line in numbered:
            lines.append((eid, *(line[c] for c in journal.LINE_COLUMNS)))
        prev = entry["hash"]
        if with_peers:
            peers.append((day.isoformat(), f"{kind} {reference}", [
                (line["account"] + ":" + (f"P{line['_row']}" if line["_row"] else "Unearmarked"), line["usd_cents"])
                for line in entry_lines
            ]))

    def line(account, flow, cents, a: Allocation, **extra) -> dict:
        return {"account": account, "flow": flow, "currency": "USD", "amount_minor": cents, "usd_cents": cents,
                "donor_id": a.donor_id, "pledge_id": a.pledge_id, "allocation_id": a.id,
                "paragraph_id": extra.pop("paragraph_id", a.paragraph_id), "activity_id": extra.pop("activity_id", None),
                "disbursement_id": extra.pop("disbursement_id", None), "_row": a.paragraph}

    while len(entries) < transactions:
        clock += step
        day = dt.date(2011, 1, 3) + dt.timedelta(days=min(int(clock), (last_day - dt.date(2011, 1, 3)).days))
        roll = rng.random()
        if roll < 0.10 or not open_allocations:  # a pledge
            pid = len(pledges) + 1
            donor = rng.randrange(1, DONORS + 1)
            number = rng.randrange(1, 8)
            amounts = [rng.randrange(20_000, 2_000_000) * 100]
            targets = [number]
            if rng.random() < 0.3:
                amounts.append(rng.randrange(10_000, 500_000) * 100)
                targets.append(None)
            reference = f"PL-{pid:07d}"
            pledges.append((pid, reference, donor, day.isoformat(), "USD", 1_000_000, PSC_BP, None, "", len(entries) + 1))
            entry_lines = []
            for position, (para, amount) in enumerate(zip(targets, amounts, strict=True), start=1):
                a = Allocation(len(allocations_rows) + 1, pid, donor, paragraphs.get(para), para, amount, amount)
                allocations_rows.append((a.id, pid, position, a.paragraph_id, amount, amount))
                by_pledge.setdefault(pid, []).append(a)
                open_allocations.append(a)
                entry_lines += [line(journal.RECEIVABLE, journal.PLEDGE, amount, a),
                                line(journal.REVENUE, journal.PLEDGE, -amount, a)]
            post("pledge", reference, f"pledge of D{donor:03d}", entry_lines)
        elif roll < 0.60 or not funded:  # a receipt
            a0 = rng.choice(open_allocations)
            allocs = by_pledge[a0.pledge_id]
            outstanding = [a.outstanding for a in allocs]
            total = sum(outstanding)
            amount = total if rng.random() < 0.1 else max(1, min(total, rng.randrange(1_000, 300_000) * 100))
            shares = largest_remainder(amount, outstanding)
            rid = len(receipts) + 1
            reference = f"RC-{rid:07d}"
            receipts.append((rid, reference, a0.pledge_id, day.isoformat(), amount, amount, 0, "", len(entries) + 1))
            entry_lines = []
            for a, share in zip(allocs, shares, strict=True):
                if not share:
                    continue
                a.outstanding -= share
                if a.cash == 0:
                    funded.append(a)
                a.cash += share
                entry_lines += [line(journal.CASH, journal.RECEIPT, share, a),
                                line(journal.RECEIVABLE, journal.RECEIPT, -share, a)]
                if a.outstanding == 0:
                    open_allocations.remove(a)
            post("receipt", reference, f"receipt on pledge PL-{a0.pledge_id:07d}", entry_lines)
        else:  # a disbursement, paid by one allocation holding cash
            a = rng.choice(funded)
            number = a.paragraph or rng.randrange(1, 8)
            activity = rng.choice(activities[number])
            x = max(1, min(a.cash * 10_000 // (10_000 + PSC_BP), rng.randrange(500, 200_000) * 100))
            psc = psc_of(x, PSC_BP)
            while x + psc > a.cash:
                x -= 1
                psc = psc_of(x, PSC_BP)
            did = len(disbursements) + 1
            reference = f"DB-{did:07d}"
            _, paragraph_id = activity_paragraph[activity]
            disbursements.append((did, reference, activity, day.isoformat(), "USD", x, x, "", "", None, len(entries) + 1))
            a.cash -= x + psc
            if a.cash == 0:
                funded.remove(a)
            tags = {"paragraph_id": paragraph_id, "activity_id": activity, "disbursement_id": did}
            entry_lines = [line(journal.EXPENDITURE, journal.SPEND, x, a, **tags), line(journal.CASH, journal.SPEND, -x, a, **tags)]
            if psc:
                entry_lines += [line(journal.PSC, journal.PSC_FLOW, psc, a, **tags),
                                line(journal.CASH, journal.PSC_FLOW, -psc, a, **tags)]
            if x:
                post("disbursement", reference, f"disbursement for A{number}", entry_lines)
            else:  # a cent or two left: nothing to pay with, no transaction
                disbursements.pop()
                if a in funded:
                    funded.remove(a)

    conn.executemany("insert into journal_entries (id, kind, event_date, posted_at, user_name, reference, memo, "
                     "reverses_id, prev_hash, hash, format_version) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", entries)
    for name, table_rows in posted_tables.items():
        conn.executemany(f"insert into {name} ({', '.join(COLUMNS[name])}) values ({', '.join('?' * len(COLUMNS[name]))})",
                         table_rows)
    conn.executemany(f"insert into journal_lines (entry_id, {', '.join(journal.LINE_COLUMNS)}) "
                     f"values ({', '.join('?' * (len(journal.LINE_COLUMNS) + 1))})", lines)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()
    return {"entries": len(entries), "lines": len(lines), "pledges": len(pledges), "receipts": len(receipts),
            "disbursements": len(disbursements), "peers": peers}


def peer_account(code_and_row: str, flavour: int) -> str:
    code, row = code_and_row.split(":")
    return f"{ACCOUNT_NAMES[code][flavour]}:{row.lower() if flavour == 0 else row}"


def money(cents: int) -> str:
    return f"{'-' if cents < 0 else ''}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def write_hledger(path: Path, peers) -> None:
    with open(path, "w") as f:
        f.write("; the same transactions as the donor-ledger ledger beside this file\n")
        for day, description, postings in peers:
            f.write(f"{day} {description}\n")
            for account, cents in postings:
                f.write(f"    {peer_account(account, 0)}  {money(cents)} USD\n")
            f.write("\n")


def write_beancount(path: Path, peers) -> None:
    accounts = sorted({peer_account(account, 1) for _, _, postings in peers for account, _ in postings})
    with open(path, "w") as f:
        f.write('option "operating_currency" "USD"\n\n')
        for account in accounts:
            f.write(f"2011-01-01 open {account} USD\n")
        f.write("\n")
        for day, description, postings in peers:
            f.write(f'{day} * "{description}"\n')
            for account, cents in postings:
                f.write(f"  {peer_account(account, 1)}  {money(cents)} USD\n")
            f.write("\n")


def hash_format() -> str:
    """A fingerprint of the chain's hash format: data generated under another one is stale."""
    entry = {"id": 1, "kind": "pledge", "event_date": dt.date(2011, 1, 3), "posted_at": dt.datetime(2016, 12, 31),
             "user_name": USER, "reference": "X", "memo": "", "reverses_id": None, "prev_hash": journal.GENESIS,
             "format_version": journal.FORMAT}
    line = dict.fromkeys(journal.LINE_COLUMNS, 1)
    return journal.entry_hash(entry, [line], {"pledges": [{"id": 1}]})[:10]


def build(folder: Path, transactions: int, peers: bool = True, seed: int = 2011) -> dict:
    """The ledger (and the peer files) in ``folder``, reused when already there."""
    folder.mkdir(parents=True, exist_ok=True)
    ledger = folder / "ledger.db"
    from ledger.migrate import HEAD

    marker = folder / f"complete-{transactions}-{seed}-schema{HEAD}-hash{hash_format()}{'-peers' if peers else ''}"
    if marker.exists():
        return {"ledger": ledger, "hledger": folder / "ledger.journal", "beancount": folder / "ledger.beancount",
                "reused": True}
    for stale in folder.glob("complete-*"):
        stale.unlink()
    started = time.perf_counter()
    info = generate(ledger, transactions, seed, with_peers=peers)
    if peers:
        write_hledger(folder / "ledger.journal", info["peers"])
        write_beancount(folder / "ledger.beancount", info["peers"])
    print(f"generated {transactions:,} transactions ({info['entries']:,} entries, {info['lines']:,} journal lines) "
          f"in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    marker.write_text("")
    return {"ledger": ledger, "hledger": folder / "ledger.journal", "beancount": folder / "ledger.beancount",
            "reused": False, "lines": info["lines"]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / ".data" / "t100k")
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    print(build(args.out, args.transactions, not args.no_peers))
