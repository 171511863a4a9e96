"""The demo ledger: CSV files shipped in ``imports/demo/``, loaded through the importers.

Donors, monthly rates 2011-01 through 2026-12, activities, pledges, receipts and disbursements are import
files; the cancellation, the reversal, the completion of three activities once paid, the close of
2011-2015, two pledges in their stages (one announced, one announced then signed), the IATI settings
(a fictitious publisher, so that `iati` works on the demo), and in 2017 a reallocation (JPN-2015-01), a
refund and the closing of the completed GBR-2012-01 are not import kinds and go through the same rule
functions the service layer calls. Last, NWS-2016-01 is re-planned in three instalments
(``instalments.csv``: the first, due 2016-12-31, is overdue today; the others fall due in 2027),
recorded today.
Everything is one transaction: the demo is loaded whole
or not at all.
"""

from __future__ import annotations

import csv
import datetime as dt
from importlib.resources import files
from pathlib import Path

from sqlalchemy import func, select

from ledger import settings
from ledger.database import Ledger
from ledger.errors import LedgerError, PermissionDenied
from ledger.inputs import (
    ActivityUpdate,
    CancellationIn,
    PledgeCloseIn,
    PledgeIn,
    ReallocationIn,
    RefundIn,
    ReversalIn,
)
from ledger.periods import close_period
from ledger.pledge_close import close_pledge
from ledger.pledges import cancel_pledge
from ledger.reallocations import reallocate
from ledger.reference_data import update_activity
from ledger.refunds import refund
from ledger.reversals import reverse
from ledger.roles import Act
from ledger.schema import JournalEntry, Pledge
from ledger.signing import record_staged_pledge

from .importer import ImportResult, Progress, import_into

KINDS_IN_ORDER = ("donors", "rates", "activities", "pledges", "receipts", "disbursements")

CANCELLATION = CancellationIn(
    pledge="AUS-2014-01", amount="50000.00", cancelled_on=dt.date(2016, 6, 30), paragraph=5,
    reason="donor budget reduction: AUD 50,000 of the 2014 pledge will not be paid",
)
REVERSED_DISBURSEMENT = "D-2013-004"
REVERSAL_DATE = dt.date(2013, 8, 1)
CLOSED_THROUGH = dt.date(2015, 12, 31)  # the demo's closed period: 2011-2015 reported to donors
CLOSE_REASON = "financial statements 2011-2015 issued to donors"
REVERSAL_REASON = "posted to A4-01 by mistake; the consultants worked for A5-01 and were paid from its budget line"
# after the 2016 figures: outstanding yen moved to paragraph 3 with Japan's consent; the British
# agreement completed, its unspent paragraph-4 cash (USD 63,912.10) paid back and the pledge closed
REALLOCATION = ReallocationIn(
    pledge="JPN-2015-01", source=1, target=3, amount="2000000", reallocated_on=dt.date(2017, 2, 1),
    consent="Permanent Mission of Japan, note verbale of 2017-01-20",
)
REFUND = RefundIn(
    pledge="GBR-2012-01", amount="49653.31", usd_amount="63912.10", refunded_on=dt.date(2017, 6, 30), paragraph=4,
    reason="agreement completed: unspent balance returned to the donor",
)
CLOSING = PledgeCloseIn(pledge="GBR-2012-01", closed_on=dt.date(2017, 7, 3))
# the stages of a contribution (docs/rules.md#pledge-stages), after the demo's figures of 2011-2016: one pledge
# announced and not signed (the dashboard's pipeline), one announced and signed at another month's rate
STAGED = (
    PledgeIn(reference="NOR-2017-01", donor="NOR", pledged_on=dt.date(2017, 3, 1), currency="NOK",
             allocations=[{"paragraph": 2, "amount": "2000000.00"}], stage="announced",
             notes="announced at the 2017 pledging event; agreement under negotiation"),
    PledgeIn(reference="CAN-2017-01", donor="CAN", pledged_on=dt.date(2017, 6, 1), currency="CAD",
             allocations=[{"paragraph": None, "amount": "400000.00"}], stage="signed", signed_on=dt.date(2018, 3, 1),
             notes="announced 2017-06-01; contribution agreement signed 2018-03-01"),
)
# imported as ongoing (a completed activity takes no disbursement), completed once paid
COMPLETED = ("A1-01", "A3-01", "A7-01")
COMPLETION_REASON = "all planned work delivered and paid"
# the demo's publisher is fictitious: "XM-EXAMPLE" is no registration agency
IATI_SETTINGS = (
    ("iati_reporting_org_ref", "XM-EXAMPLE-TRUSTFUND"),
    ("iati_reporting_org_name", "Trust fund secretariat (demo)"),
    ("iati_reporting_org_type", "40"),  # multilateral
    ("iati_activity_identifier", "XM-EXAMPLE-TRUSTFUND-CCPCJ-20-7"),
    ("iati_sector", "15210"),  # DAC: security system management and reform
    ("iati_recipient_region", "998"),  # developing countries, unspecified
)


def demo_file(kind: str) -> Path:
    return Path(str(files("imports") / "demo" / f"{kind}.csv"))


def demo_pledges() -> set[str]:
    with open(demo_file("pledges"), newline="", encoding="utf-8") as f:
        return {row["reference"] for row in csv.DictReader(f)}


def demo_state(ledger: Ledger) -> str:
    """'empty' (no journal entries), 'demo' (the demo is loaded) or 'other'."""
    references = demo_pledges()
    with ledger.reading() as session:
        entries = session.execute(select(func.count()).select_from(JournalEntry)).scalar_one()
        if entries == 0:
            return "empty"
        found = session.execute(
            select(func.count()).select_from(Pledge).where(Pledge.reference.in_(references))
        ).scalar_one()
    return "demo" if found == len(references) else "other"


def load_demo(ledger: Ledger, progress: Progress | None = None) -> list[ImportResult]:
    """Load the demo data set into an empty ledger, in one transaction."""
    for act in (Act.MANAGE_DONORS_RATES, Act.UPDATE_ACTIVITIES, Act.MANAGE_SETTINGS):
        if not ledger.may(act):
            actor = ledger.actor
            role = actor.role.value if actor.role else "not a user of this ledger"
            raise PermissionDenied(f"permission denied: {actor.name} ({role}) may not {act.value}; the demo needs admin")
    results = []
    done = 0
    with ledger.writing(Act.RECORD_MONEY) as uow:
        for kind in KINDS_IN_ORDER:
            step = (lambda rows, before=done: progress(before + rows)) if progress else None
            result = import_into(uow, kind, demo_file(kind), step)
            done += result.rows
            results.append(result)
        cancel_pledge(uow, CANCELLATION)
        entry = uow.scalar(select(JournalEntry.id).where(
            JournalEntry.reference == REVERSED_DISBURSEMENT, JournalEntry.kind == "disbursement"))
        if entry is None:  # the shipped data set is broken: say so rather than half-load it
            raise LedgerError(f"demo: disbursement {REVERSED_DISBURSEMENT} is missing from the demo data")
        reverse(uow, ReversalIn(entry_id=entry, reason=REVERSAL_REASON, reversed_on=REVERSAL_DATE))
        for code in COMPLETED:
            update_activity(uow, ActivityUpdate(code=code, status="completed", progress_pct=100, reason=COMPLETION_REASON))
        close_period(uow, CLOSED_THROUGH, CLOSE_REASON)
        for staged in STAGED:
            record_staged_pledge(uow, staged)
        for name, value in IATI_SETTINGS:
            settings.set_value(uow, name, value, "the demo's publisher")
        reallocate(uow, REALLOCATION)
        refund(uow, REFUND)
        close_pledge(uow, CLOSING)
        results.append(import_into(uow, "instalments", demo_file("instalments")))
    return results
