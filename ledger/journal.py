"""The journal: balanced entries on a small chart of accounts, chained by SHA-256.

Each entry's hash is SHA-256 over the canonical JSON of every stored column of the entry
(its ``prev_hash`` included) and of its lines. ``verify`` recomputes the whole chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter

import orjson
from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from .schema import JournalEntry, JournalLine

GENESIS = "0" * 64

# Chart of accounts
RECEIVABLE = "1100"
CASH = "1000"
REVENUE = "4000"
EXPENDITURE = "5000"
PSC = "5100"
FX = "7900"

ACCOUNTS = {
    CASH: "Cash held for the trust fund",
    RECEIVABLE: "Contributions receivable",
    REVENUE: "Contribution revenue",
    EXPENDITURE: "Programme expenditure",
    PSC: "Programme support costs",
    FX: "Exchange differences",
}

# What a line carries (reports sum lines by account and flow)
PLEDGE, CANCEL, RECEIPT, FX_FLOW, SPEND, PSC_FLOW = "pledge", "cancel", "receipt", "fx", "spend", "psc"

LINE_COLUMNS = (
    "line_no", "account", "flow", "currency", "amount_minor", "usd_cents", "donor_id", "pledge_id",
    "allocation_id", "paragraph_id", "activity_id", "disbursement_id",
)
ENTRY_COLUMNS = ("id", "kind", "event_date", "posted_at", "user_name", "reference", "memo", "reverses_id", "prev_hash")


@dataclass
class Line:
    """A journal line: debit when positive, credit when negative."""

    account: str
    flow: str
    currency: str
    amount_minor: int
    usd_cents: int
    donor_id: int | None = None
    pledge_id: int | None = None
    allocation_id: int | None = None
    paragraph_id: int | None = None
    activity_id: int | None = None
    disbursement_id: int | None = None

    def negated(self) -> Line:
        return Line(**{**self.__dict__, "amount_minor": -self.amount_minor, "usd_cents": -self.usd_cents})


@dataclass
class EntryDraft:
    kind: str
    event_date: dt.date
    reference: str
    memo: str
    lines: list[Line] = field(default_factory=list)
    reverses_id: int | None = None


def _plain(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


_EVENT_DATE = ENTRY_COLUMNS.index("event_date")
_POSTED_AT = ENTRY_COLUMNS.index("posted_at")
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # the definition: json.dumps with these options
_entry_values = itemgetter(*ENTRY_COLUMNS)
_line_values = itemgetter(*LINE_COLUMNS)


def canonical(entry: dict, lines: Iterable[dict]) -> bytes:
    """The bytes that an entry's hash is computed over: compact UTF-8 JSON of
    ``[[entry columns in ENTRY_COLUMNS order], [[line columns in LINE_COLUMNS order], ...]]``,
    dates as ``YYYY-MM-DD`` and the posting time as ``YYYY-MM-DDTHH:MM:SS.ffffff``.
    """
    head = list(_entry_values(entry))
    head[_EVENT_DATE] = _plain(head[_EVENT_DATE])
    head[_POSTED_AT] = _plain(head[_POSTED_AT])
    document = [head, list(map(_line_values, lines))]  # tuples: JSON arrays like lists
    try:
        # orjson writes exactly these bytes, ten times faster (tests/test_properties.py compares
        # the two on arbitrary text, control characters and the largest amounts included)
        return orjson.dumps(document)
    except orjson.JSONEncodeError:  # what orjson refuses (integers beyond 64 bits, lone surrogates):
        return _COMPACT_JSON.encode(document).encode()  # the definition itself answers


def entry_hash(entry: dict, lines: Iterable[dict]) -> str:
    return hashlib.sha256(canonical(entry, lines)).hexdigest()


def imbalance(lines: Iterable[dict]) -> str | None:
    """Why an entry's lines do not balance, or None: debits = credits in USD and per currency."""
    usd = 0
    per_currency: dict[str, int] = defaultdict(int)
    count = 0
    for line in lines:
        count += 1
        usd += line["usd_cents"]
        per_currency[line["currency"]] += line["amount_minor"]
    if count == 0:
        return "has no lines"
    if usd != 0:
        return f"USD debits and credits differ by {usd} cents"
    for currency, total in sorted(per_currency.items()):
        if total != 0:
            return f"{currency} debits and credits differ by {total} minor units"
    return None


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    head_hash: str
    first_failure: int | None = None
    problem: str | None = None
    checkpoint_found: bool | None = None
    stored: tuple[int, str] | None = None  # on a failure: (entry count, head hash) as stored

    @property
    def intact(self) -> str:
        """On a failure, how much of the chain still verifies."""
        good = self.entries - 1 if self.first_failure else self.entries
        return f"the first {good} entries verify (up to head {self.head_hash})" if good else "no entry verifies"

    @property
    def message(self) -> str:
        if not self.ok:
            return f"journal entry {self.first_failure}: {self.problem}" if self.first_failure else str(self.problem)
        return self.verdict(head=True)

    def verdict(self, head: bool) -> str:
        """An intact chain in words, with its head hash or without (printed beside it)."""
        text = f"chain intact: {self.entries} entries" + (f", head {self.head_hash}" if head else "")
        if self.checkpoint_found:
            text += " (checkpoint found in the chain)"
        return text


def _entries_with_lines(
    session: Session, batch: int = 5000, orphans: list[int] | None = None
) -> Iterator[tuple[dict, list[dict]]]:
    """Entries in chain order with their lines; the entry ids of lines that belong to no entry
    are appended to ``orphans``."""
    orphans = [] if orphans is None else orphans
    # dates as stored (no parsing in the driver): a damaged one must name its entry, not crash
    entry_cols = [
        type_coerce(getattr(JournalEntry, c), String).label(c) if c in STORED_TIMES else getattr(JournalEntry, c)
        for c in (*ENTRY_COLUMNS, "hash")
    ]
    line_cols = [JournalLine.entry_id, *[getattr(JournalLine, c) for c in LINE_COLUMNS]]
    entries = session.execute(select(*entry_cols).order_by(JournalEntry.id).execution_options(yield_per=batch))
    lines = session.execute(
        select(*line_cols).order_by(JournalLine.entry_id, JournalLine.line_no).execution_options(yield_per=batch)
    )
    pending = next(lines, None)
    for row in entries:
        entry = row._asdict()
        own: list[dict] = []
        while pending is not None and pending.entry_id < entry["id"]:
            orphans.append(pending.entry_id)  # lines of no entry
            pending = next(lines, None)
        while pending is not None and pending.entry_id == entry["id"]:
            own.append(pending._asdict())
            pending = next(lines, None)
        yield entry, own
    while pending is not None:
        orphans.append(pending.entry_id)
        pending = next(lines, None)


STORED_TIMES = {"event_date": dt.date, "posted_at": dt.datetime}


def _read_stored_times(entry: dict) -> str | None:
    """Turn the dates as stored into values, in place; why one is not a stored date, or None.

    SQLite keeps them as text: only the exact form SQLAlchemy writes is accepted, so that
    no byte of it can change unseen.
    """
    for column, kind in STORED_TIMES.items():
        value = entry[column]
        if isinstance(value, str):
            try:
                parsed = kind.fromisoformat(value)
            except ValueError:
                parsed = None
            if kind is dt.datetime:
                stored_form = parsed and parsed.strftime("%Y-%m-%d %H:%M:%S.%f")
            else:
                stored_form = parsed and parsed.isoformat()
            if parsed is None or value != stored_form:
                return f"its stored {column} {value!r} is not a valid {'time' if kind is dt.datetime else 'date'}"
            entry[column] = parsed
        elif not isinstance(value, kind) or (kind is dt.date and isinstance(value, dt.datetime)):
            return f"its stored {column} {value!r} is not a valid {'time' if kind is dt.datetime else 'date'}"
    return None


def verify(session: Session, checkpoint: str | None = None) -> Verification:
    """Recompute every entry's hash and balance, in chain order; name the first failure."""
    prev = GENESIS
    count = 0
    found = checkpoint is None
    orphans: list[int] = []
    for entry, lines in _entries_with_lines(session, orphans=orphans):
        count += 1
        eid = entry["id"]
        problem = None
        if eid != count:
            problem = f"expected entry {count} here: the chain has a gap or a reordering"
        elif entry["prev_hash"] != prev:
            problem = "its previous-hash does not match the entry before it"
        elif problem := _read_stored_times(entry):
            pass
        elif entry_hash(entry, lines) != entry["hash"]:
            problem = "its content does not match its hash (changed after posting)"
        else:
            problem = imbalance(lines)
            if problem:
                problem = f"does not balance: {problem}"
            elif [line["line_no"] for line in lines] != list(range(1, len(lines) + 1)):
                problem = "its lines are not numbered 1..n"
        if problem:
            return Verification(False, count, prev, eid, problem, stored=head(session))
        prev = entry["hash"]
        if checkpoint is not None and prev == checkpoint:
            found = True
    if orphans:  # lines would count in balances without an entry in the chain
        return Verification(False, count, prev, None, f"journal lines of entry {orphans[0]}, which is not in the chain",
                            stored=head(session))
    if not found:
        return Verification(
            False, count, prev, None,
            f"checkpoint {checkpoint} is not in the chain: history was truncated or rewritten",
            checkpoint_found=False, stored=head(session),
        )
    return Verification(True, count, prev, checkpoint_found=None if checkpoint is None else True)


def head(session: Session) -> tuple[int, str]:
    """(entry count, head hash) as stored; GENESIS for an empty journal."""
    row = session.execute(select(JournalEntry.id, JournalEntry.hash).order_by(JournalEntry.id.desc()).limit(1)).first()
    return (row.id, row.hash) if row else (0, GENESIS)
