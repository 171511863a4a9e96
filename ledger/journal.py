"""The journal: balanced entries on a small chart of accounts, chained by SHA-256.

Each entry's hash is SHA-256 over the canonical JSON of every stored column of the entry
(its ``prev_hash`` included), of its lines and (format version 2) of every row posted with
it in the posted tables (``POSTED_TABLES``, discovered from the schema), and (format 3) the
reversed entry it corrects. ``verify``
recomputes the whole chain in one streamed pass per table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter

import orjson
from sqlalchemy import Boolean, Date, DateTime, Integer, String, Table, func, select, type_coerce
from sqlalchemy.orm import Session

from .schema import PERIOD_KINDS, Base, JournalEntry, JournalLine

GENESIS = "0" * 64

# Chart of accounts
RECEIVABLE = "1100"
CASH = "1000"
REVENUE = "4000"
EXPENDITURE = "5000"
PSC = "5100"
FX = "7900"
MEMO_ANNOUNCED = "9000"  # memorandum: pledges announced, not yet signed (no receivable, no revenue)
MEMO_CONTRA = "9100"  # memorandum: its contra account

ACCOUNTS = {
    CASH: "Cash held for the trust fund",
    RECEIVABLE: "Contributions receivable",
    REVENUE: "Contribution revenue",
    EXPENDITURE: "Programme expenditure",
    PSC: "Programme support costs",
    FX: "Exchange differences",
    MEMO_ANNOUNCED: "Pledges announced (memorandum)",
    MEMO_CONTRA: "Pledges announced, contra (memorandum)",
}

# What a line carries (reports sum lines by account and flow)
PLEDGE, CANCEL, RECEIPT, FX_FLOW, SPEND, PSC_FLOW = "pledge", "cancel", "receipt", "fx", "spend", "psc"
ANNOUNCE, REALLOCATE, REFUND = "announce", "realloc", "refund"

LINE_COLUMNS = (
    "line_no", "account", "flow", "currency", "amount_minor", "usd_cents", "donor_id", "pledge_id",
    "allocation_id", "paragraph_id", "activity_id", "disbursement_id",
)
# Entries without money lines: a period closed or reopened (ledger/periods.py), a schedule of
# instalments re-planned, a pledge closed
PERIOD_CLOSE, PERIOD_REOPEN = PERIOD_KINDS
SCHEDULE, PLEDGE_CLOSE = "schedule", "pledge-close"
WITHOUT_MONEY = frozenset({PERIOD_CLOSE, PERIOD_REOPEN, SCHEDULE, PLEDGE_CLOSE})  # and their reversals: without_money

ENTRY_COLUMNS = ("id", "kind", "event_date", "posted_at", "user_name", "reference", "memo", "reverses_id", "prev_hash")
FORMAT = 3  # the format version of the entries posted now (``format_version``; 1 = written before it existed)
FORMATS = (1, 2, FORMAT)  # the versions ``verify`` knows
LATER_COLUMNS = ("corrects_id",)  # format 3: appended to the entry columns after the format version


@dataclass(frozen=True)
class PostedTable:
    """A table whose rows are written with a journal entry and never changed: each row names its
    entry by ``entry_id`` (``parent`` None) or by the column ``via`` naming a row of ``parent``."""

    table: Table
    parent: str | None
    via: str
    dates: tuple[str, ...]  # columns read as stored (text on SQLite), like an entry's dates
    flags: tuple[str, ...]  # booleans, read as the stored integer (0/1) on SQLite
    own: bool = False  # a row naming a parent row may name an entry of its own (a nullable entry_id), which then owns it


def _posted_tables() -> dict[str, PostedTable]:
    """Every table written beside an entry, from the schema, in a fixed order (by name): the tables
    with an ``entry_id`` naming a journal entry, and those with exactly one foreign key to one of them
    (allocations name their pledge). A row of such a child table with a nullable ``entry_id`` set belongs
    to that entry instead (an allocation created by a reallocation). A table added to the schema later is
    covered without code changes."""
    entries, lines = JournalEntry.__table__, JournalLine.__table__
    found: dict[str, PostedTable] = {}

    def describe(table: Table, parent: str | None, via: str) -> PostedTable:
        dates = tuple(c.name for c in table.columns if isinstance(c.type, Date | DateTime))
        flags = tuple(c.name for c in table.columns if isinstance(c.type, Boolean))
        return PostedTable(table, parent, via, dates, flags, parent is not None and "entry_id" in table.c)

    for table in Base.metadata.sorted_tables:  # parents before children
        if table is lines or table is entries:
            continue
        names_entry = "entry_id" in table.c and any(fk.column.table is entries for fk in table.c.entry_id.foreign_keys)
        if names_entry and not table.c.entry_id.nullable:
            found[str(table.name)] = describe(table, None, "entry_id")
            continue
        parents = [(str(fk.column.table.name), str(fk.parent.name)) for fk in table.foreign_keys if fk.column.table.name in found]
        if len(parents) > 1:
            raise RuntimeError(f"table {table.name} names more than one posted row: give it an entry_id")
        if parents:
            found[str(table.name)] = describe(table, *parents[0])
    return dict(sorted(found.items()))


POSTED_TABLES = _posted_tables()


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
    corrects_id: int | None = None  # the reversed entry whose reference this event uses again
    reverses_kind: str | None = None  # the kind of the entry a reversal reverses (not stored: checks only)


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


def _posted_value(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat(" ", "microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def posted_row(row: dict) -> dict:
    """A posted row as its entry's hash covers it: its columns in name order, those that are NULL
    left out (so a nullable column added later leaves the entries written before it intact),
    dates as ``YYYY-MM-DD``, times as ``YYYY-MM-DD HH:MM:SS.ffffff``, booleans as 0/1 (the forms
    SQLite stores)."""
    # most values are integers and text, stored as they are (bool, a subclass of int, is not)
    names = tuple(row)
    order = _NAME_ORDER.get(names)
    if order is None:  # rows of one table come with the same columns: sorted once
        order = _NAME_ORDER[names] = sorted(names)
    return {name: value if type(value) in _AS_STORED else _posted_value(value)
            for name in order if (value := row[name]) is not None}


_AS_STORED = frozenset((int, str))
_NAME_ORDER: dict[tuple[str, ...], list[str]] = {}  # a row's column names -> in name order


def canonical(entry: dict, lines: Iterable[dict], rows: dict[str, list[dict]] | None = None) -> bytes:
    """The bytes that an entry's hash is computed over: compact UTF-8 JSON of
    ``[[entry columns in ENTRY_COLUMNS order], [[line columns in LINE_COLUMNS order], ...]]``,
    dates as ``YYYY-MM-DD`` and the posting time as ``YYYY-MM-DDTHH:MM:SS.ffffff`` (format 1).
    Format 2 appends the format version to the entry columns and, as a third element, the rows
    posted with the entry: ``{table: [posted_row, ...]}``, tables by name (those with no row left
    out), rows by id; ``rows`` holds them as ``posted_row`` gives them. Format 3 appends
    ``LATER_COLUMNS`` (``corrects_id``) after the format version.
    """
    return _canonical(entry, list(map(_line_values, lines)), rows)


def _canonical(entry: dict, line_values: list, rows: dict[str, list[dict]] | None) -> bytes:
    head = list(_entry_values(entry))
    head[_EVENT_DATE] = _plain(head[_EVENT_DATE])
    head[_POSTED_AT] = _plain(head[_POSTED_AT])
    document = [head, line_values]  # tuples: JSON arrays like lists
    version = entry.get("format_version") or 1
    if version != 1:
        head.append(version)
        if version >= 3:
            head.append(entry.get("corrects_id"))
        document.append({name: rows[name] for name in POSTED_TABLES if rows and rows.get(name)})
    try:
        # orjson writes exactly these bytes, ten times faster (tests/test_properties.py compares
        # the two on arbitrary text, control characters and the largest amounts included)
        return orjson.dumps(document)
    except orjson.JSONEncodeError:  # what orjson refuses (integers beyond 64 bits, lone surrogates):
        return _COMPACT_JSON.encode(document).encode()  # the definition itself answers


def entry_hash(entry: dict, lines: Iterable[dict], rows: dict[str, list[dict]] | None = None) -> str:
    return hashlib.sha256(canonical(entry, lines, rows)).hexdigest()


def without_money(kind: str, reversed_kind: str | None = None) -> bool:
    """Entries that may have no line: the kinds ``WITHOUT_MONEY``, and the reversal of one of them
    (a schedule reversed: ledger/instalments.py)."""
    return kind in WITHOUT_MONEY or (kind == "reversal" and reversed_kind in WITHOUT_MONEY)


def imbalance(lines: Iterable[dict], kind: str = "", reversed_kind: str | None = None) -> str | None:
    """Why an entry's lines do not balance, or None: debits = credits in USD and per currency.
    Only entries :func:`without_money` may have no line."""
    return _imbalance(map(_money_of_line, lines), without_money(kind, reversed_kind))


_money_of_line = itemgetter("currency", "amount_minor", "usd_cents")
_money_of_values = itemgetter(*(LINE_COLUMNS.index(c) for c in ("currency", "amount_minor", "usd_cents")))


def _imbalance(money: Iterable[tuple], may_be_empty: bool = False) -> str | None:
    """``imbalance`` of the lines' (currency, amount_minor, usd_cents)."""
    usd = 0
    per_currency: dict[str, int] = defaultdict(int)
    count = 0
    for currency, amount, cents in money:
        count += 1
        usd += cents
        per_currency[currency] += amount
    if count == 0 and not may_be_empty:
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


class _ByEntry:
    """A stream of rows ordered by entry id (the first value), taken entry by entry; the entry ids
    of rows that belong to no entry of the chain are appended to ``orphans``."""

    def __init__(self, rows: Iterable, orphans: list[tuple[str, int]], what: str):
        self._rows = iter(rows)
        self._pending = next(self._rows, None)
        self._orphans = orphans
        self._what = what

    def take(self, entry_id: int) -> list:
        pending = self._pending
        if pending is None or pending[0] > entry_id:  # most entries: no row of this table
            return []
        own = []
        rows = self._rows
        while pending is not None and pending[0] < entry_id:
            self._orphans.append((self._what, pending[0]))
            pending = next(rows, None)
        while pending is not None and pending[0] == entry_id:
            own.append(pending)
            pending = next(rows, None)
        self._pending = pending
        return own

    def finish(self) -> None:
        while self._pending is not None:
            self._orphans.append((self._what, self._pending[0]))
            self._pending = next(self._rows, None)


def _posted_rows(connection, posted: PostedTable, batch: int):
    """(entry id, row as stored) of every row of a posted table, by entry id and row id; dates as
    stored, booleans as the stored integer; a row that names no posted row is left out (its own
    entry then misses it)."""
    table = posted.table
    columns = [type_coerce(c, String) if c.name in posted.dates else type_coerce(c, Integer)
               if c.name in posted.flags else c for c in table.columns]
    if posted.parent is None:
        owner, statement = table.c.entry_id, select(table.c.entry_id, *columns)
    else:  # the entry of the row it names, parent by parent
        owner, joined, child = None, table, posted
        while child.parent is not None:
            parent = POSTED_TABLES[child.parent]
            target = next(iter(child.table.c[child.via].foreign_keys)).column
            joined = joined.join(parent.table, parent.table.c[target.name] == child.table.c[child.via])
            owner, child = parent.table.c.entry_id, parent
        if posted.own:  # a row naming an entry of its own belongs to it
            owner = func.coalesce(table.c.entry_id, owner)
        statement = select(owner, *columns).select_from(joined)
    return _stream(connection, statement.order_by(owner, *table.primary_key.columns), batch)


def _stream(connection, statement, batch: int) -> Iterator[tuple]:
    """The rows of ``statement`` as the driver gives them, ``batch`` at a time (a server-side cursor
    on PostgreSQL): verify reads every row once, without a result object per row."""
    sql = str(statement.compile(dialect=connection.dialect))
    raw = connection.connection.dbapi_connection
    if connection.dialect.name == "postgresql":
        cursor = raw.cursor(name=f"verify_{next(_cursor_numbers)}")
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()


_cursor_numbers = itertools.count(1)


def _row_reader(posted: PostedTable):
    """A function turning a row as ``_posted_rows`` reads it into ``posted_row``'s form."""
    names = [str(c.name) for c in posted.table.columns]  # plain str: orjson refuses SQLAlchemy's quoted_name
    order = sorted(range(len(names)), key=names.__getitem__)
    typed = {names.index(c) for c in (*posted.dates, *posted.flags)}  # not yet text or 0/1 on PostgreSQL

    def read(found) -> dict:
        values = found[1:]
        plain = {}
        for i in order:
            value = values[i]
            if value is not None:
                plain[names[i]] = _posted_value(value) if i in typed else value
        return plain

    return read


def _stored(session: Session, batch: int, orphans: list[tuple[str, int]]) -> Iterator[tuple[dict, list, dict]]:
    """Entries in chain order (dates as stored), each with its lines' values in LINE_COLUMNS order
    and its posted rows (``{table: [posted_row]}``); one streamed query per table."""
    connection = session.connection() if isinstance(session, Session) else session
    # dates as stored (no parsing in the driver): a damaged one must name its entry, not crash
    names = (*ENTRY_COLUMNS, "format_version", *LATER_COLUMNS, "hash")
    entry_cols = [type_coerce(getattr(JournalEntry, c), String) if c in STORED_TIMES else getattr(JournalEntry, c)
                  for c in names]
    line_cols = [JournalLine.entry_id, *[getattr(JournalLine, c) for c in LINE_COLUMNS]]
    entries = _stream(connection, select(*entry_cols).order_by(JournalEntry.id), batch)
    lines = _ByEntry(_stream(connection, select(*line_cols).order_by(JournalLine.entry_id, JournalLine.line_no), batch),
                     orphans, "journal lines")
    tables = [(name, _row_reader(posted), _ByEntry(_posted_rows(connection, posted, batch), orphans, f"posted {name}"))
              for name, posted in POSTED_TABLES.items()]
    for row in entries:
        eid = row[0]
        rows = {}
        for name, read, stream in tables:
            taken = stream.take(eid)
            if taken:
                rows[name] = list(map(read, taken))
        yield dict(zip(names, row, strict=True)), [line[1:] for line in lines.take(eid)], rows
    lines.finish()
    for _, _, stream in tables:
        stream.finish()


def stored_entries(session: Session, batch: int = 5000) -> Iterator[tuple[dict, list[dict], dict[str, list[dict]]]]:
    """Entries in chain order as stored (dates as stored: ``read_stored_times`` reads them), with
    their lines and their posted rows (``{table: [posted_row]}``): what ``entry_hash`` takes."""
    for entry, lines, rows in _stored(session, batch, []):
        yield entry, [dict(zip(LINE_COLUMNS, line, strict=True)) for line in lines], rows


STORED_TIMES = {"event_date": dt.date, "posted_at": dt.datetime}


def read_stored_times(entry: dict) -> str | None:
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
            if kind is dt.datetime:  # "YYYY-MM-DD HH:MM:SS.ffffff"
                stored_form = parsed and parsed.isoformat(" ", "microseconds")
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
    orphans: list[tuple[str, int]] = []
    moneyless: dict[int, str] = {}  # id -> kind of the entries WITHOUT_MONEY (their reversals have no line either)
    for entry, lines, rows in _stored(session, 5000, orphans):
        count += 1
        eid = entry["id"]
        problem = None
        if eid != count:
            problem = f"expected entry {count} here: the chain has a gap or a reordering"
        elif entry["prev_hash"] != prev:
            problem = "its previous-hash does not match the entry before it"
        elif problem := read_stored_times(entry):
            pass
        elif entry["format_version"] not in FORMATS:
            problem = f"its format version {entry['format_version']!r} is not one this program knows"
        elif hashlib.sha256(_canonical(entry, lines, rows)).hexdigest() != entry["hash"]:
            problem = "its content does not match its hash (changed after posting)"
        else:
            if entry["kind"] in WITHOUT_MONEY:
                moneyless[eid] = entry["kind"]
            problem = _imbalance(map(_money_of_values, lines),
                                 without_money(entry["kind"], moneyless.get(entry["reverses_id"])))
            if problem:
                problem = f"does not balance: {problem}"
            elif [line[0] for line in lines] != list(range(1, len(lines) + 1)):  # line_no
                problem = "its lines are not numbered 1..n"
        if problem:
            return Verification(False, count, prev, eid, problem, stored=head(session))
        prev = entry["hash"]
        if checkpoint is not None and prev == checkpoint:
            found = True
    if orphans:  # lines would count in balances without an entry in the chain
        what, entry_id = orphans[0]
        return Verification(False, count, prev, None, f"{what} of journal entry {entry_id}, which is not in the chain",
                            stored=head(session))
    if not found:
        return Verification(
            False, count, prev, None,
            f"checkpoint {checkpoint} is not in the chain: history was truncated or rewritten",
            checkpoint_found=False, stored=head(session),
        )
    return Verification(True, count, prev, checkpoint_found=None if checkpoint is None else True)


_HEAD = select(JournalEntry.id, JournalEntry.hash).order_by(JournalEntry.id.desc()).limit(1)  # built once


def head(session: Session) -> tuple[int, str]:
    """(entry count, head hash) as stored; GENESIS for an empty journal."""
    row = session.execute(_HEAD).first()
    return (row.id, row.hash) if row else (0, GENESIS)
