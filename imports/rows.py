"""The data rows of an import file, cleaned, validated by the input models, and placed among
the other rows of the file.

``checked_rows`` yields, per row, its line, its values by column (empty cells left out,
spreadsheet numbers and dates in text columns written as text), its input model or the list
of its problems, the earlier line holding the same key if any, and for a pledge row that
starts a new run of its reference, the lines of the earlier run. Reading and validating is work that needs no ledger, so for a large
file imported by a single-threaded process (the command line) it runs in a forked child while
this process applies the rules, the journal and the inserts: on two cores an import of 100,000
pledge rows takes a quarter less time (docs/imports.md). The child sends its rows in chunks
through a pipe, so memory stays that of a couple of chunks; it stops when this process goes
away. Elsewhere (the TUI's worker threads, small files) the rows are read right here.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Iterator
from itertools import islice

from pydantic import BaseModel, ValidationError

from ledger.errors import Problem, problems_of
from ledger.inputs import (
    ActivityIn,
    DisbursementIn,
    DonorIn,
    PledgeIn,
    RateIn,
    ReceiptIn,
    ScheduleIn,
    whole_number,
)

from .kinds import Kind
from .readers import TableFile

MODELS: dict[str, type[BaseModel]] = {
    "donors": DonorIn, "rates": RateIn, "activities": ActivityIn, "pledges": PledgeIn, "receipts": ReceiptIn,
    "disbursements": DisbursementIn, "instalments": ScheduleIn,
}
IMPORTED = "(import)"  # the reason of an instalment row without one: the importer names the file instead
CHUNK_ROWS = 5000  # rows per message from the child (an import batch: the child reads the next while this process applies one)
FIRST_CHUNK_ROWS = 500  # the first message, doubling up to CHUNK_ROWS: this process starts on the first rows at once
PARALLEL_FROM_BYTES = 256 * 1024  # smaller files are read here (a fork costs more than it saves)

# (line, data, its model or its problems, the first line of its key when earlier, the lines of
# an earlier run of its pledge reference)
Checked = tuple[int, dict, "BaseModel | list[Problem]", "int | None", "str | None"]


def as_text(value: object) -> str:
    """A spreadsheet number or date in a text column, as the spreadsheet shows it."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def clean(kind: Kind, raw: dict) -> dict:
    data = {}
    text = kind.text
    for name, value in raw.items():
        if value is None or value == "":
            continue
        if name in text and not isinstance(value, str):
            value = as_text(value)
        data[name] = value
    return data


def model_input(kind: Kind, data: dict) -> dict:
    """What the kind's model is given for a row: a pledge row is a pledge of one allocation, an
    instalment row a schedule of one instalment (the importer joins the rows of one pledge)."""
    if kind.name == "instalments":
        return {"pledge": data.get("pledge"), "reason": data.get("reason", IMPORTED),
                "instalments": [{k: data[k] for k in ("due_on", "amount") if k in data}]}
    if kind.name != "pledges":
        return data
    row = {k: v for k, v in data.items() if k not in ("amount", "paragraph")}
    row["allocations"] = [{k: data[k] for k in ("paragraph", "amount") if k in data}]
    return row


def validate(kind: Kind, data: dict) -> BaseModel | list[Problem]:
    problems = percent_cells(kind, data)
    try:
        model = MODELS[kind.name](**model_input(kind, data))
    except ValidationError as exc:
        return problems + problems_of(exc)
    return problems or model


def percent_cells(kind: Kind, data: dict) -> list[Problem]:
    """A spreadsheet cell typed as "13%" holds 0.13: in a column of numbers of percent, a number
    cell strictly between 0 and 1 is refused rather than read as 0.13 percent. (Text cells and
    CSV values are taken as written.)"""
    problems = []
    for name in kind.percents:
        value = data.get(name)
        if isinstance(value, float) and 0 < value < 1:
            shown = format(value * 100, ".15g")
            problems.append(Problem(name, f"{format(value, '.15g')} looks like a cell formatted as a percentage "
                                          f"({shown}%); {name} is a number of percent: write {shown}"))
    return problems


def key_part(kind: Kind, name: str, value: object) -> object:
    """A cell as part of a key: whole numbers as int (4, '4', 4.0), dates as text, currency and
    donor codes in capitals."""
    if value is None:
        return None
    if name in kind.whole_numbers:
        number = whole_number(value)  # the model's own reading ('4', 4.0, '4.0'; never 'inf' or '1e999999')
        if isinstance(number, int):
            return number
    if name in kind.dates and isinstance(value, dt.date):
        return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
    if (name == "currency" or (kind.name == "donors" and name == "code")) and isinstance(value, str):
        return value.strip().upper()  # stored in capitals: "nor" and "NOR" are one key
    return value if isinstance(value, str) else str(value)


def key_of(kind: Kind, data: dict) -> tuple | None:
    """The row's key (what may not appear twice in one file), or None when it is incomplete
    (the model reports a missing value)."""
    key = tuple(key_part(kind, name, data.get(name)) for name in kind.key)
    if key[0] is None or (kind.name == "rates" and None in key):
        return None
    return key


class FileKeys:
    """What the importer must know of the rows before each row: the first line of each key (a
    key twice in one file is an error naming both lines) and, for pledges, the lines of each
    reference's rows (they must be next to each other). Kept in a private temporary SQLite
    database (on disk, behind a small page cache), so that memory does not grow with the file."""

    def __init__(self, kind: Kind):
        self.kind = kind
        self.db = sqlite3.connect("")  # "": a temporary database, deleted when closed
        self.db.execute("create table keys (key text primary key, line integer not null) without rowid")
        self.db.execute("create table pledges (reference text primary key, lines text not null) without rowid")
        self.group: list | None = None  # [reference, first line, last line] of the rows being read

    def note(self, line: int, data: dict) -> tuple[int | None, str | None]:
        """(the first line of this row's key when that is an earlier line; for a row that starts
        a new run of a pledge reference, the lines of its earlier run)."""
        first = None
        key = key_of(self.kind, data)
        if key is not None:
            text = repr(key)
            if not self.db.execute("insert or ignore into keys values (?, ?)", (text, line)).rowcount:
                first = self.db.execute("select line from keys where key = ?", (text,)).fetchone()[0]
        earlier = None
        if self.kind.name == "pledges":
            reference, group = data.get("reference"), self.group
            if group is not None and reference == group[0]:
                group[2] = line
            else:
                if group is not None and group[0] is not None:
                    lines = str(group[1]) if group[1] == group[2] else f"{group[1]}-{group[2]}"
                    self.db.execute("insert or ignore into pledges values (?, ?)", (group[0], lines))
                if reference is not None:
                    found = self.db.execute("select lines from pledges where reference = ?", (reference,)).fetchone()
                    earlier = found[0] if found else None
                self.group = [reference, line, line]
        return first, earlier

    def close(self) -> None:
        self.db.close()


def _here(kind: Kind, table: TableFile) -> Iterator[Checked]:
    keys = FileKeys(kind)
    try:
        for line, raw in table.rows():
            data = clean(kind, raw)
            yield line, data, validate(kind, data), *keys.note(line, data)
    finally:
        keys.close()


def _parallel(table: TableFile) -> bool:
    forced = os.environ.get("DONOR_LEDGER_PARALLEL_FROM_BYTES")
    if forced is not None:
        return os.path.getsize(table.path) >= int(forced)
    return threading.active_count() == 1 and os.path.getsize(table.path) >= PARALLEL_FROM_BYTES


def checked_rows(kind: Kind, table: TableFile, keep: tuple[str, ...] = ()) -> Iterator[Checked]:
    """Every data row of ``table``, cleaned and validated; the reader's own problems end up in
    ``table.problems`` as with ``table.rows()``. Of a valid row read in the child, only the
    key columns and the columns in ``keep`` come back with its model."""
    import multiprocessing

    if not _parallel(table) or "fork" not in multiprocessing.get_all_start_methods():
        yield from _here(kind, table)
        return
    context = multiprocessing.get_context("fork")
    # a pipe, written by the child's only thread: the child is at most a chunk ahead, and a
    # side that goes away ends the other's wait (EOF here, a broken pipe there)
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(target=_produce, args=(kind, table, (*kind.key, *keep), writer, reader), daemon=True)
    child.start()
    writer.close()
    try:
        while True:
            try:
                message = reader.recv()
            except EOFError:
                message = ("failed", f"the reading process ended with status {child.exitcode}")
            if message[0] == "rows":
                yield from message[1]
            elif message[0] == "done":
                table.problems[:] = message[1]
                return
            else:  # the child failed (out of memory, killed): the import fails, nothing is written
                raise RuntimeError(f"reading {table.path} failed: {message[1]}")
    finally:
        reader.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _produce(kind: Kind, table: TableFile, key: tuple[str, ...], writer, reader) -> None:
    """In the child: read and validate, a chunk at a time (it ends when the parent is gone)."""
    reader.close()  # the parent's end: only the parent may hold it, or its death would go unnoticed
    try:
        rows = _here(kind, table)
        size = FIRST_CHUNK_ROWS
        while chunk := list(islice(rows, size)):
            size = min(2 * size, CHUNK_ROWS)
            # of a valid row the importer reads only its key columns and those it may look up
            # (the model has the rest): sending no more halves what is pickled and unpickled
            writer.send(("rows", [
                (line, data if isinstance(result, list) else {k: data[k] for k in key if k in data}, result, *rest)
                for line, data, result, *rest in chunk
            ]))
        writer.send(("done", list(table.problems)))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the importing process went away
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
        try:
            writer.send(("failed", f"{type(exc).__name__}: {exc}"))
        except OSError:
            pass
