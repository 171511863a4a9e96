"""What a unit of work has read once and keeps for the rule functions that run after (one
``Lookups`` per unit of work, ``uow.lookups``).

Each field is filled by the function that reads it (named beside the field) and is kept current
or dropped where the ledger changes under it: ``balances.note_posted`` (called by
``UnitOfWork.post`` for every entry) updates the balances, cash and spending, and an import forgets the
per-row look-ups of a batch (``forget_batch``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .balances import AllocationBalance
from .rates import RateBook
from .schema import Activity


@dataclass
class Lookups:
    # reference data that never changes within a unit of work (or only through the unit itself)
    rates: RateBook | None = None  # rates.rate_book
    paragraph_ids: dict[int, int] | None = None  # paragraph number -> id (paragraphs.paragraph_id)
    paragraph_numbers: dict[int, int] = field(default_factory=dict)  # paragraph id -> number (disbursements)
    activities: dict[str, Activity] = field(default_factory=dict)  # activity code -> Activity (disbursements)
    donor_ids: dict[str, int] = field(default_factory=dict)  # donor code -> id, found donors only (pledges.donor_id)
    closes: list[tuple[dt.date, str]] | None = None  # the closes in force, oldest first (periods._closes)
    settings: dict[str, str] = field(default_factory=dict)  # name -> value in force (settings.value)
    closed_pledges: dict[int, tuple[int, dt.date]] | None = None  # pledge id -> (closing entry, date) (closing.closed_pledges)

    # batch look-ups of an import (pledges.prefetch_pledges, pledges.note_free_references)
    pledges: dict[str, Any] = field(default_factory=dict)  # reference -> pledge row (found pledges only)
    allocations: dict[int, list[tuple[Any, int | None]]] = field(default_factory=dict)  # pledge id -> [(row, paragraph number)]
    stages: dict[int, Any] = field(default_factory=dict)  # pledge id -> stages.Stage (stages.note, stages.stage_of)
    free_references: dict[str, set[str]] = field(default_factory=dict)  # kind -> references known not to be taken

    # balances, kept current by balances.note_posted
    balances: dict[int, AllocationBalance] = field(default_factory=dict)  # allocation id -> balance
    cash_moves: dict[int, list[tuple[dt.date, int]]] = field(default_factory=dict)  # allocation id -> [(date, cents)], date order
    cash_totals: dict[int, int] = field(default_factory=dict)  # allocation id -> cash cents (funding candidates read)
    spent: dict[int, int] = field(default_factory=dict)  # activity id -> cents spent, any date, of those read (balances.spent_on)

    # funding candidates (disbursements), dropped when cash comes in: an allocation may then hold cash it did not
    holding_cash: dict[int | None, list[tuple]] = field(default_factory=dict)  # pledge id or None (any) -> candidate rows
    candidates: dict[tuple[int, int | None], list[tuple]] = field(default_factory=dict)  # (paragraph id, pledge id) -> rows
    owners: dict[int, tuple[int, int]] = field(default_factory=dict)  # allocation id -> (pledge id, donor id)

    def forget_candidates(self) -> None:
        self.holding_cash.clear()
        self.candidates.clear()

    def forget_batch(self) -> None:
        """Drop an import batch's per-row look-ups (pledges, their allocations and balances); the
        funding candidates and cash movements stay (bounded by the ledger, not by the file)."""
        self.pledges.clear()
        self.allocations.clear()
        self.stages.clear()
        self.balances.clear()
