"""Closed pledges (docs/rules.md#closing-a-pledge): a closed pledge takes no further entry of any
kind until the closing itself is reversed, and automatic funding skips it. Every write path on a
pledge calls ``check_not_closed``; the act of closing is ``ledger/pledge_close.py``."""

from __future__ import annotations

from sqlalchemy import select

from .errors import LedgerError, Problem
from .events import unreversed
from .schema import PledgeClosing

IN_FORCE = unreversed(PledgeClosing.entry_id)  # a closing counts until it is reversed
# built once (docs/architecture.md "Statements built once")
_CLOSINGS = select(PledgeClosing.pledge_id, PledgeClosing.entry_id, PledgeClosing.closed_on).where(IN_FORCE)


def closed_pledges_statement():
    """The ids of the pledges closed now (their closing not reversed), as a subquery."""
    return select(PledgeClosing.pledge_id).where(IN_FORCE)


def closed_pledges(uow) -> dict[int, tuple[int, object]]:
    """pledge id -> (closing entry id, closing date) of every closed pledge (read once per unit of work)."""
    if uow.lookups.closed_pledges is None:
        uow.lookups.closed_pledges = {pledge_id: (entry_id, day) for pledge_id, entry_id, day in uow.rows(_CLOSINGS)}
    return uow.lookups.closed_pledges


def check_not_closed(uow, pledge_id: int, reference: str | None = None, field: str = "pledge") -> None:
    """Refuse any entry on a closed pledge, naming its closing."""
    closing = closed_pledges(uow).get(pledge_id)
    if closing is None:
        return
    entry_id, day = closing
    named = f"pledge {reference}" if reference else "the pledge"
    raise LedgerError(Problem(
        field, f"{named} was closed on {day.isoformat()} (entry {entry_id}) and takes no further entry; "
        f"reverse the closing first (donor-ledger reverse {entry_id})"))


def note_reopened(uow, pledge_id: int) -> None:
    """The closing of ``pledge_id`` was reversed in this unit of work."""
    closed_pledges(uow).pop(pledge_id, None)
