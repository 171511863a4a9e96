"""A write transaction: the session, the acting user, id allocation and journal posting.

Rows of money documents and journal entries are buffered and inserted in bulk, each database
by its fastest path: a driver-level ``executemany`` on SQLite, binary ``COPY`` on PostgreSQL
(in the same transaction, so the writer lock and all-or-nothing imports hold). Every read
through :meth:`UnitOfWork.rows` or :meth:`UnitOfWork.scalar` flushes the buffer first, so
reads always see what was written.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from functools import cache
from operator import itemgetter

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Integer, String, func, insert, select
from sqlalchemy.orm import Session

from . import journal
from .balances import note_posted
from .clock import utcnow
from .lookups import Lookups
from .recorded import latest_stamp
from .roles import Actor
from .schema import Base, JournalEntry, JournalLine

ONE_MICROSECOND = dt.timedelta(microseconds=1)


def fast_bind_processor(column_type, dialect):
    """The column type's bind processor for ``dialect``; on SQLite, dates and times go through
    ``isoformat`` (C) instead: the very text SQLAlchemy's own processors write (``YYYY-MM-DD``,
    ``YYYY-MM-DD HH:MM:SS.ffffff``; tests/test_properties.py compares them), three times faster."""
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if process is None or dialect.name != "sqlite":
        return process
    if isinstance(column_type, DateTime):
        return lambda value: value.isoformat(" ", "microseconds") if type(value) is dt.datetime else process(value)
    if isinstance(column_type, Date):
        return lambda value: value.isoformat() if type(value) is dt.date else process(value)
    return process


def copy_type(column_type) -> str:
    """The PostgreSQL type whose binary format COPY sends for a column of ``column_type``
    (varchar and text share one format)."""
    for kind, name in ((BigInteger, "int8"), (Integer, "int4"), (Boolean, "bool"), (DateTime, "timestamp"),
                       (Date, "date"), (String, "text")):
        if isinstance(column_type, kind):
            return name
    raise TypeError(f"no COPY type for {column_type!r}")


@cache
def _largest_id(model):
    """``select max(id)`` of a table, built once (docs/architecture.md "Statements built once")."""
    return select(func.max(model.id))


class Reader:
    """What the rule functions need to read: a session, the actor, today and the look-ups read so far.

    Used as is for previews (a funding plan before saving); UnitOfWork adds writing.
    """

    def __init__(self, session: Session, actor: Actor):
        self.session = session
        self.actor = actor
        self.today = dt.date.today()
        self.recorded_at: dt.datetime | None = None  # as recorded at this moment (None: now)
        self.lookups = Lookups()

    def flush(self) -> None:
        pass

    def rows(self, statement, parameters: dict | None = None):
        self.flush()
        return self.session.execute(statement, parameters)

    def scalar(self, statement):
        return self.rows(statement).scalar()


class UnitOfWork(Reader):
    def __init__(self, session: Session, actor: Actor):
        super().__init__(session, actor)
        self._pending: dict[type[Base], list[dict]] = defaultdict(list)
        self._pending_order: list[type[Base]] = []
        self._next_ids: dict[type[Base], int] = {}
        self._head: tuple[int, str] | None = None
        self._open: tuple[dict, list[dict], dict[str, list[dict]]] | None = None  # the entry not hashed yet
        self._last_stamp: dt.datetime | None = None

    # -- stamps ----------------------------------------------------------------------------
    def stamp(self) -> dt.datetime:
        """A naive-UTC time later than every stamp stored or taken before (docs/rules.md#stamps):
        max(now, latest stamp + 1 µs). Units of work hold the writer lock, so stamps increase in
        commit order and nothing committed later can carry an earlier stamp."""
        if self._last_stamp is None:
            self._last_stamp = latest_stamp(self.session)
        now = utcnow()
        self._last_stamp = now if self._last_stamp is None or now > self._last_stamp else self._last_stamp + ONE_MICROSECOND
        return self._last_stamp

    # -- buffered writes -----------------------------------------------------------------
    def next_id(self, model: type[Base]) -> int:
        if model not in self._next_ids:  # the buffer stays: an entry just posted is not hashed yet
            self.session.flush()
            stored = self.session.execute(_largest_id(model)).scalar() or 0
            self._next_ids[model] = max([stored, *(row["id"] for row in self._pending.get(model, ()))]) + 1
        value = self._next_ids[model]
        self._next_ids[model] = value + 1
        return value

    def add(self, model: type[Base], row: dict) -> None:
        self.add_all(model, [row])

    def add_all(self, model: type[Base], rows: list[dict]) -> None:
        if model.__tablename__ in journal.POSTED_TABLES:
            self._attach(model.__tablename__, rows)
        if model not in self._pending_order:
            self._pending_order.append(model)
        self._pending[model].extend(rows)

    def flush(self) -> None:
        self._seal()
        if not self._pending:
            self.session.flush()
            return
        self.session.flush()
        # parents before children: journal entries, then documents in first-use order, lines last
        order = sorted(self._pending_order, key=lambda m: (m is not JournalEntry, m is JournalLine))
        for model in order:
            rows = self._pending.pop(model, None)
            if rows:
                self._insert(model, rows)
        self._pending_order.clear()

    def _insert(self, model: type[Base], rows: list[dict]) -> None:
        """Insert buffered rows by the database's fastest path. SQLite: one driver-level
        executemany with the columns' own bind processors (the same stored values as Core,
        without its per-row overhead). PostgreSQL: one binary COPY in the session's transaction."""
        connection = self.session.connection()
        keys = tuple(rows[0])
        values = self._values_in_order(rows, keys)
        if values is None:  # rows with different columns: Core sorts them out
            connection.execute(insert(model.__table__), rows)
        elif connection.dialect.name == "postgresql":
            self._copy(connection, model, keys, values)
        else:
            self._executemany(connection, model, keys, values)

    def _executemany(self, connection, model: type[Base], keys: tuple[str, ...], values: list[tuple]) -> None:
        sql, processors = self._insert_sql(model, keys, connection.dialect)
        converting = [(i, p) for i, p in enumerate(processors) if p is not None]
        if converting:  # column by column (dates, times, booleans); the others pass as they are
            columns = list(zip(*values, strict=True))
            for i, process in converting:
                columns[i] = [None if value is None else process(value) for value in columns[i]]
            values = list(zip(*columns, strict=True))
        connection.exec_driver_sql(sql, values)

    @staticmethod
    def _copy(connection, model: type[Base], keys: tuple[str, ...], values: list[tuple]) -> None:
        table = model.__table__
        quote = connection.dialect.identifier_preparer.quote
        sql = f"COPY {table.name} ({', '.join(quote(k) for k in keys)}) FROM STDIN (FORMAT BINARY)"
        with connection.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
            copy.set_types([copy_type(table.c[k].type) for k in keys])
            for row in values:
                copy.write_row(row)

    @staticmethod
    def _values_in_order(rows: list[dict], keys: tuple[str, ...]) -> list[tuple] | None:
        """Each row's values in the order of ``keys``; None unless every row has exactly them."""
        width = len(keys)
        if any(len(row) != width for row in rows):
            return None
        pick = itemgetter(*keys)
        try:
            values = [pick(row) for row in rows]
        except KeyError:
            return None
        return values if width > 1 else [(value,) for value in values]

    _insert_sqls: dict = {}

    @classmethod
    def _insert_sql(cls, model: type[Base], keys: tuple[str, ...], dialect) -> tuple[str, list]:
        found = cls._insert_sqls.get((model, keys))
        if found is None:
            table = model.__table__
            columns = ", ".join(dialect.identifier_preparer.quote(k) for k in keys)
            sql = f"INSERT INTO {table.name} ({columns}) VALUES ({', '.join('?' for _ in keys)})"
            processors = [fast_bind_processor(table.c[k].type, dialect) for k in keys]
            found = cls._insert_sqls[(model, keys)] = (sql, processors)
        return found

    # -- the journal ---------------------------------------------------------------------
    def head(self) -> tuple[int, str]:
        self._seal()
        if self._head is None:
            self.flush()
            self._head = journal.head(self.session)
        return self._head

    def post(self, draft: journal.EntryDraft) -> int:
        """Append one balanced entry to the chain; returns its id."""
        count, prev = self.head()
        entry_id = count + 1
        lines = [{"entry_id": entry_id, "line_no": i, **line.__dict__} for i, line in enumerate(draft.lines, start=1)]
        problem = journal.imbalance(lines, draft.kind, draft.reverses_kind)
        if problem:  # a programming error, never user input
            raise AssertionError(f"unbalanced entry {draft.kind} {draft.reference}: {problem}")
        entry = {
            "id": entry_id,
            "kind": draft.kind,
            "event_date": draft.event_date,
            "posted_at": self.stamp(),
            "user_name": self.actor.name,
            "reference": draft.reference,
            "memo": draft.memo,
            "reverses_id": draft.reverses_id,
            "corrects_id": draft.corrects_id,
            "prev_hash": prev,
            "format_version": journal.FORMAT,
        }
        self.add(JournalEntry, entry)
        self.add_all(JournalLine, lines)
        # hashed once the rows posted with it are added: before the next entry, a read or the commit
        self._open = (entry, lines, {})
        note_posted(self.lookups, draft.lines, draft.event_date)
        return entry_id

    def _attach(self, table: str, rows: list[dict]) -> None:
        """Rows of a posted table belong to the entry just posted (naming it, or a row posted with it)."""
        posted = journal.POSTED_TABLES[table]
        if self._open is None:
            raise AssertionError(f"{table} rows are added with the entry they belong to, right after posting it")
        entry, _, attached = self._open
        owners = ({entry["id"]} if posted.parent is None
                  else {row["id"] for row in attached.get(posted.parent, [])})
        for row in rows:
            if posted.own and row.get("entry_id") is not None:
                if row["entry_id"] != entry["id"]:
                    raise AssertionError(f"a {table} row of another entry than {entry['id']}")
            elif row.get(posted.via) not in owners:
                raise AssertionError(f"a {table} row of another entry than {entry['id']}")
            attached.setdefault(table, []).append(row)

    def _seal(self) -> None:
        """Hash the open entry, with the rows posted beside it."""
        if self._open is None:
            return
        entry, lines, attached = self._open
        self._open = None
        rows = {table: [journal.posted_row(row) for row in sorted(found, key=itemgetter("id"))]
                for table, found in attached.items()}
        entry["hash"] = journal.entry_hash(entry, lines, rows)
        self._head = (entry["id"], entry["hash"])
