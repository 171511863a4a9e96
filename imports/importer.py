"""Importing one file of one kind: every row through the input models of ``ledger.inputs`` and
the per-row rule functions of ``ledger``, inside one unit of work (all of the file or none).

Every problem of the file is collected as a :class:`FileProblem` (``FILE:LINE: COLUMN:
message``); a row with a problem is not applied and the rows after it are still checked. Any
problem makes the import raise :class:`ImportFileError`, which rolls the unit of work back.

Importing again (docs/rules.md#imports): a money event identical to the stored one (compared as parsed
input models) is skipped; rows of reversed and corrected events case by case (``FileImport._again``,
docs/rules.md#corrections); a different one under a stored reference is an error. Donors and
activities are updated (each change a version, reason "import of FILE", by ``ledger.reference_data``); the same rate is skipped.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from ledger.database import Ledger
from ledger.disbursements import disburse, stored_disbursement
from ledger.errors import InputProblems, LedgerError, Problem
from ledger.events import free_references, note_free_references, reference_holders
from ledger.inputs import PledgeIn, ScheduleIn
from ledger.instalments import record_schedule
from ledger.paragraphs import paragraph_id
from ledger.pledges import (
    pledge_by_reference,
    prefetch_pledges,
    require_donor,
    stored_pledge,
)
from ledger.rates import add_rate
from ledger.receipts import record_receipt, stored_receipt
from ledger.reference_data import activity_by_code, upsert_activity, upsert_donor
from ledger.schema import Disbursement, Pledge, Receipt
from ledger.signing import record_staged_pledge

from .kinds import KINDS, Kind
from .readers import FileProblem, ImportFileError, TableFile, open_table
from .rows import IMPORTED, checked_rows, key_of

PLEDGE_SHARED = ("donor", "pledged_on", "currency", "psc_rate", "due_on", "notes", "stage", "signed_on")
GROUPED = {"pledges": ("pledge", "allocation"), "instalments": ("schedule", "instalment")}  # kinds whose rows form groups
PROGRESS_EVERY = 500  # rows between two progress reports
GC_EVERY_ALLOCATIONS = 50_000  # the collector's first threshold during an import (Python's default: 700)
BATCH_ROWS = 5000  # money rows checked and applied together (one look-up per batch, memory bounded by it)
FIRST_BATCH_ROWS = 500  # the first batch, doubling up to BATCH_ROWS: work starts as soon as the first rows are read

Progress = Callable[[int], None]


@dataclass
class ImportResult:
    path: str
    kind: str
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    corrected: int = 0  # rows of a reversed event whose correction is live: not posted
    reversed: int = 0  # rows equal to the last reversed event under their reference: not posted again
    corrections: int = 0  # rows posted as the correction of the reversed event under their reference
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)  # "FILE:LINE: what was done with a row", in file order
    # pledges and instalments: the rows of the pledges (schedules) counted in ``added`` and ``skipped``
    allocation_rows: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str, rows: int = 1) -> None:
        """One more row, or pledge of ``rows`` allocation rows, with this outcome."""
        setattr(self, outcome, getattr(self, outcome) + 1)
        if self.kind in GROUPED:
            self.allocation_rows[outcome] = self.allocation_rows.get(outcome, 0) + rows

    def _counted(self, outcome: str, words: str) -> str:
        n = getattr(self, outcome)
        if self.kind not in GROUPED:
            return f"{n} {words}"
        rows = self.allocation_rows.get(outcome, 0)
        group, row = GROUPED[self.kind]
        text = f"{n} {group}{'s' if n != 1 else ''} {words}"
        return text + (f" ({rows} {row} row{'s' if rows != 1 else ''})" if n else "")

    def summary(self) -> str:
        if self.rows == 0:
            return f"{self.path}: no data rows (only the header); nothing to import"
        parts = [self._counted("added", "added")]
        if self.updated or self.kind in ("donors", "activities"):
            parts.append(f"{self.updated} updated")
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        if self.skipped or self.kind not in ("donors", "activities"):
            parts.append(self._counted("skipped", "skipped (identical)"))
        for outcome, words in (("corrections", "posted as corrections"), ("corrected", "corrected later, not posted"),
                               ("reversed", "reversed, not posted again")):
            if getattr(self, outcome):
                parts.append(self._counted(outcome, words))
        text = f"{self.path}: {self.rows} row{'s' if self.rows != 1 else ''}: {', '.join(parts)}"
        if self.dry_run:
            text += " (dry run: checked, nothing written)"
        return text


class _DryRun(Exception):
    """Raised inside the unit of work to roll a dry run back."""

    def __init__(self, result: ImportResult):
        self.result = result


def import_file(
    ledger: Ledger, kind: str, path: str | Path, *, dry_run: bool = False, progress: Progress | None = None
) -> ImportResult:
    """Import ``path`` as ``kind`` in one transaction; raise ImportFileError listing every problem."""
    spec = KINDS[kind]
    table = open_table(path, required=spec.required, optional=spec.optional)
    # The objects alive before the import (modules, SQLAlchemy, pydantic, caches) are set aside
    # from the garbage collector while the import's many short-lived rows trigger collection
    # after collection: 6% of an import of 100,000 rows went to scanning them again and again.
    # The rows are freed by their reference counts; the collector, there for cycles, runs every
    # GC_EVERY_ALLOCATIONS instead of every 700 (3-4% of an import; memory stays flat).
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(GC_EVERY_ALLOCATIONS, *thresholds[1:])
    try:
        with ledger.writing(spec.act) as uow:
            result = FileImport(uow, spec, table, progress).run()
            if dry_run:
                raise _DryRun(result)
    except _DryRun as done:
        result = done.result
        result.dry_run = True
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    return result


def import_into(uow, kind: str, path: str | Path, progress: Progress | None = None) -> ImportResult:
    """Import ``path`` inside an open unit of work (the caller checked the role; the demo)."""
    spec = KINDS[kind]
    table = open_table(path, required=spec.required, optional=spec.optional)
    return FileImport(uow, spec, table, progress).run()


# ---------------------------------------------------------------------------------------------


def _shown(value: object) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, list):
        return ", ".join(
            f"{'unearmarked' if a.paragraph is None else f'paragraph {a.paragraph}'} {a.amount}" for a in value
        )
    return str(value)


WORDING = {
    "Field required": "a value is required (the cell is empty)",
}


@dataclass
class _PledgeGroup:
    """Consecutive rows sharing a reference: one pledge, one allocation per row."""

    reference: str | None
    models: list[tuple[int, PledgeIn]] = field(default_factory=list)
    failed: bool = False


def _paragraph(uow, value: str | int) -> None:
    number = int(value) if isinstance(value, int) or (value.isascii() and value.isdigit()) else None
    if number is not None:  # a paragraph that is not a whole number has its own problem
        paragraph_id(uow, number)


# Per kind, the columns naming something that must already be in the ledger, and the look-up
# of the rules (raising the rules' own refusal when it is not)
REFERENCE_LOOKUPS = {
    "pledges": (("donor", require_donor), ("paragraph", _paragraph)),
    "receipts": (("pledge", pledge_by_reference),),
    "instalments": (("pledge", pledge_by_reference),),
    "disbursements": (("activity", activity_by_code), ("pledge", pledge_by_reference)),
}


class FileImport:
    """One pass over a checked file, applying each valid row in file order."""

    def __init__(self, uow, kind: Kind, table: TableFile, progress: Progress | None = None):
        self.uow = uow
        self.kind = kind
        self.table = table
        self.path = table.path
        self.reason = f"import of {table.path}"  # why reference data changed (its versions)
        self.progress = progress
        self.result = ImportResult(table.path, kind.name)
        self.problems: list[FileProblem] = []
        self.group: _PledgeGroup | None = None
        self.batch: list[tuple[int, BaseModel, int]] = []  # valid money events: (line, model, rows)
        self.schedules: dict[str, list[tuple[int, ScheduleIn]]] = {}  # pledge -> its instalment rows (line, row)
        self.failed_schedules: set[str] = set()  # pledges with a row in error: their schedule is not applied
        self.batch_rows = 0
        self.batch_size = FIRST_BATCH_ROWS
        # the current row as imports.rows placed it: its model or problems, the earlier line of its
        # key, the lines of an earlier run of its pledge reference
        self.validated: BaseModel | list[Problem] | None = None
        self.first_line: int | None = None
        self.earlier_run: str | None = None

    def run(self) -> ImportResult:
        handle = getattr(self, f"_{self.kind.name}")
        looked_up = tuple(column for column, _ in REFERENCE_LOOKUPS.get(self.kind.name, ()))
        for line, data, *placed in checked_rows(self.kind, self.table, keep=looked_up):
            self.validated, self.first_line, self.earlier_run = placed
            self.result.rows += 1
            handle(line, data)
            if self.progress and self.result.rows % PROGRESS_EVERY == 0:
                self.progress(self.result.rows)
        self._finish_pledge()
        self._apply_batch()
        self._apply_schedules()
        if self.progress:
            self.progress(self.result.rows)
        problems = [*self.table.problems, *self.problems]
        if problems:
            problems.sort(key=lambda p: p.line or 0)
            raise ImportFileError(problems)
        return self.result

    # -- rows --------------------------------------------------------------------------------
    def _add(self, line: int, column: str | None, message: str) -> None:
        self.problems.append(FileProblem(self.path, line, column, message))

    def _column(self, problem: Problem) -> tuple[str | None, str]:
        """The file column a model or rule problem concerns (by its field), and its message."""
        message = WORDING.get(problem.message, problem.message)
        parts = problem.field.split(".")
        if parts[0] == "allocations":  # a pledge row holds one allocation: its paragraph and amount
            return (parts[-1] if parts[-1] == "paragraph" else "amount"), message
        if parts[0] == "instalments" and parts[-1] in ("due_on", "amount"):  # an instalment row holds one
            return parts[-1], message
        if parts[0] in self.kind.columns:
            return parts[0], message
        return self.kind.key[0], message

    def _report(self, line: int, problems: list[Problem]) -> None:
        for problem in problems:
            self._add(line, *self._column(problem))

    def _validate(self, line: int, data: dict):
        """The row's model (validated by ``imports.rows``), or None with its problems reported.
        A row that fails here is not applied, so the rules would never say that its donor,
        pledge, activity or paragraph is unknown: those are looked up too (for the columns
        without a problem already), so that one pass over the file names every problem of the row."""
        if not isinstance(self.validated, list):
            return self.validated
        reported = len(self.problems)
        self._report(line, self.validated)
        self._look_up_references(line, data, {p.column for p in self.problems[reported:]})
        return None

    def _look_up_references(self, line: int, data: dict, named: set[str | None]) -> None:
        """Report what the row names that is not in the ledger (columns in ``named`` have a
        problem already)."""
        for column, look_up in REFERENCE_LOOKUPS.get(self.kind.name, ()):
            value = data.get(column)
            if column not in named and isinstance(value, str | int) and not isinstance(value, bool):
                try:
                    look_up(self.uow, value)
                except LedgerError as refused:
                    self._report(line, refused.problems)

    def _apply(self, line: int, act: Callable[[], object], rows: int = 1) -> None:
        try:
            outcome = act()
        except LedgerError as exc:
            self._report(line, exc.problems)
            return
        self.result.count(outcome if isinstance(outcome, str) else "added", rows)

    def _again(self, line: int, what: str, model: BaseModel, rows: int) -> None:
        """A money event whose reference the ledger holds (docs/rules.md#corrections, "Importing again"):
        identical to the live event: skipped; equal to the reversed event the live one corrects: not
        posted; with no live event, equal to the last reversed one: not posted again, else posted as
        its correction; anything else: an error naming the reference."""
        model_of, stored, record = self.MONEY[self.kind.name][1:]
        uow = self.uow
        last = reference_holders(uow, model_of, model.reference)[-1]
        if last.reversed_by is None:
            live = stored(uow, last.entry_id)
            if live == model:
                self.result.count("skipped", rows)
            elif last.corrects_id is not None and stored(uow, last.corrects_id) == model:
                self._note(line, "corrected", rows, f"{what} {model.reference}: corrected by entry {last.entry_id}; not posted")
            else:
                self._compare(line, what, live, model, last.entry_id)
        elif stored(uow, last.entry_id) == model:
            self._note(line, "reversed", rows, f"{what} {model.reference}: reversed by entry {last.reversed_by} on "
                       f"{last.reversed_on}; not posted again (use donor-ledger correct {last.entry_id} to post it again)")
        else:
            def post_correction() -> str:
                record(uow, model, corrects=last.entry_id)
                return "corrections"

            self._apply(line, post_correction, rows)

    def _note(self, line: int, outcome: str, rows: int, text: str) -> None:
        self.result.count(outcome, rows)
        self.result.notes.append(f"{self.path}:{line}: {text}")

    def _compare(self, line: int, what: str, stored: BaseModel, given: BaseModel, entry_id: int) -> None:
        """A money event stored with other content than the row's: an error naming it."""
        differences = [
            name for name in type(given).model_fields if getattr(stored, name) != getattr(given, name)
        ]
        shown = "; ".join(
            f"{name}: {_shown(getattr(given, name))} in the file, {_shown(getattr(stored, name))} in the ledger"
            for name in differences
        )
        column, _ = self._column(Problem(differences[0], ""))
        self._add(line, column, (
            f"{what} {given.reference} is already in the ledger with different content ({shown}); "
            f"a posted money event is never changed: correct it (donor-ledger correct {entry_id})"
        ))

    # -- keys --------------------------------------------------------------------------------
    def _describe_key(self, key: tuple) -> str:
        name = self.kind.name
        if name == "pledges":
            where = "unearmarked" if key[1] is None else f"paragraph {key[1]}"
            return f"pledge {key[0]}, {where},"
        if name == "rates":
            return f"the {key[0]} rate from {key[1]}"
        if name == "instalments":
            return f"the instalment of pledge {key[0]} due on {key[1]}"
        singular = {"donors": "donor", "activities": "activity", "receipts": "receipt",
                    "disbursements": "disbursement"}[name]
        return f"{singular} {'code' if name in ('donors', 'activities') else 'reference'} {key[0]}"

    def _duplicate(self, line: int, data: dict) -> bool:
        first = self.first_line  # of this row's key (imports.rows.FileKeys); None: a new key or none
        if first is None:
            return False
        self._add(line, self.kind.key[0], f"{self._describe_key(key_of(self.kind, data))} appears twice in the file "
                                          f"(lines {first} and {line}); this row is not applied")
        return True

    # -- the kinds ---------------------------------------------------------------------------
    def _donors(self, line: int, data: dict) -> None:
        if self._duplicate(line, data):
            return
        model = self._validate(line, data)
        if model is not None:
            self._apply(line, lambda: upsert_donor(self.uow, model, self.reason))

    def _rates(self, line: int, data: dict) -> None:
        if self._duplicate(line, data):
            return
        model = self._validate(line, data)
        if model is not None:
            self._apply(line, lambda: add_rate(self.uow, model))

    def _activities(self, line: int, data: dict) -> None:
        if self._duplicate(line, data):
            return
        model = self._validate(line, data)
        if model is not None:
            self._apply(line, lambda: upsert_activity(self.uow, model, self.reason))

    def _receipts(self, line: int, data: dict) -> None:
        if self._duplicate(line, data):
            return
        model = self._validate(line, data)
        if model is not None:
            self._queue(line, model)

    def _disbursements(self, line: int, data: dict) -> None:
        if self._duplicate(line, data):
            return
        model = self._validate(line, data)
        if model is not None:
            self._queue(line, model)

    def _instalments(self, line: int, data: dict) -> None:
        """One instalment: the rows of one pledge (anywhere in the file) are its whole schedule."""
        pledge = data.get("pledge")
        if self._duplicate(line, data):
            self.failed_schedules.add(pledge)
            return
        model = self._validate(line, data)
        if model is None:
            self.failed_schedules.add(pledge)
        else:
            self.schedules.setdefault(model.pledge, []).append((line, model))

    def _apply_schedules(self) -> None:
        """Each pledge's schedule from its rows, re-planned unless it is the one in force (skipped);
        a refusal names the line of the instalment it concerns (the first row's for the whole)."""
        for pledge, rows in self.schedules.items():
            if pledge in self.failed_schedules:
                continue
            reason = next((m.reason for _, m in rows if m.reason != IMPORTED), self.reason)
            schedule = ScheduleIn(pledge=pledge, reason=reason,
                                  instalments=[m.instalments[0] for _, m in rows])
            try:
                posted = record_schedule(self.uow, schedule)
            except LedgerError as exc:
                for problem in exc.problems:
                    number = problem.field.removeprefix("instalment").strip()
                    at = rows[int(number) - 1][0] if number.isdigit() else rows[0][0]
                    column = "pledge" if problem.field == "pledge" else (
                        "amount" if "add up" in problem.message or "decimal" in problem.message else "due_on")
                    self._add(at, column, problem.message)
                continue
            self.result.count("added" if posted is not None else "skipped", len(rows))

    def _pledges(self, line: int, data: dict) -> None:
        reference = data.get("reference")
        duplicate = self._duplicate(line, data)
        group = self.group
        if group is None or reference != group.reference:
            self._finish_pledge()
            group = self.group = _PledgeGroup(reference)
            if self.earlier_run is not None and not duplicate:
                self._add(line, "reference", (
                    f"rows of pledge {reference} must be next to each other; "
                    f"its other rows are on line {self.earlier_run}"
                ))
                group.failed = True
        if duplicate:
            group.failed = True
            return
        model = self._validate(line, data)
        if model is not None and model.allocations[0].paragraph is not None:
            try:
                paragraph_id(self.uow, model.allocations[0].paragraph)
            except LedgerError as exc:
                self._report(line, exc.problems)
                self._look_up_references(line, data, {"paragraph"})
                model = None
        if model is None:
            group.failed = True
            return
        if group.models:
            first_line, first = group.models[0]
            for name in PLEDGE_SHARED:
                if name == "signed_on" and model.pledged_on != first.pledged_on:
                    continue  # a signing date left empty is the pledge date: named once, as pledged_on
                if getattr(model, name) != getattr(first, name):
                    self._add(line, name, (
                        f"{_shown(getattr(model, name))} differs from line {first_line} of pledge {reference} "
                        f"({_shown(getattr(first, name))}); the rows of one pledge must agree on "
                        "donor, pledged_on, currency, psc_rate, due_on, notes, stage and signed_on"
                    ))
                    group.failed = True
        group.models.append((line, model))

    def _finish_pledge(self) -> None:
        group, self.group = self.group, None
        if group is None:
            return
        if group.failed or not group.models:
            return
        first_line, first = group.models[0]
        rows = len(group.models)
        model = first
        if rows > 1:
            try:
                model = first.with_allocations([m.allocations[0] for _, m in group.models])
            except InputProblems as exc:  # each at its allocation: the line of that row
                for problem in exc.problems:
                    self._report(group.models[problem.index_in("allocations")][0], [problem])
                return
        self._queue(first_line, model, rows)

    # -- money events, applied in batches ----------------------------------------------------
    MONEY = {
        "pledges": ("pledge", Pledge, stored_pledge, record_staged_pledge),
        "receipts": ("receipt", Receipt, stored_receipt, record_receipt),
        "disbursements": ("disbursement", Disbursement, stored_disbursement, disburse),
    }

    def _queue(self, line: int, model: BaseModel, rows: int = 1) -> None:
        self.batch.append((line, model, rows))
        self.batch_rows += rows
        if self.batch_rows >= self.batch_size:
            self.batch_size = min(2 * self.batch_size, BATCH_ROWS)
            self._apply_batch()

    def _apply_batch(self) -> None:
        """Apply the queued events in file order, with one look-up of their references (and, for
        receipts, of their pledges) for the whole batch; then forget the batch's caches."""
        items, self.batch, self.batch_rows = self.batch, [], 0
        if not items:
            return
        what, model_of, _, record = self.MONEY[self.kind.name]
        uow = self.uow
        taken = note_free_references(uow, self.kind.name, model_of.reference, [model.reference for _, model, _ in items])
        if self.kind.name == "receipts":
            prefetch_pledges(uow, {model.pledge for _, model, _ in items})
        for line, model, rows in items:
            if model.reference in taken:
                self._again(line, what, model, rows)
            else:
                self._apply(line, lambda model=model: record(uow, model), rows)
        # per-row look-ups go; the funding candidates and their cash movements (one short entry
        # per allocation holding cash and per date, bounded by the ledger, not by the file) stay:
        # reading them is one full scan, and UnitOfWork.post keeps them current
        uow.lookups.forget_batch()
        free_references(uow, self.kind.name).clear()
