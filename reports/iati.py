"""The ledger as one IATI 2.03 activity: the implementation of the mandate (docs/rules.md#iati).

- participating-org role 1 (funding): every donor with a pledge dated on or before the
  as-of date; role 4 (implementing): the reporting organisation;
- transactions, each in its original currency with its value-date (the event date):
  type 13 (incoming pledge) per pledge (negative per cancellation), type 1 (incoming funds)
  per receipt, type 4 (expenditure) per disbursement; a reversal is the same type with the
  amount negated, dated on the reversal date;
- one budget per calendar year: the USD budgets of the activities that are not cancelled (as
  recorded at the file's moment T, like the donors' names and kinds), each
  spread over the years of its planned period pro rata to its days (IATI budgets are at most a
  year long and do not overlap).
Only money events dated on or before the as-of date are included, as in every report.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import figures, recorded
from ledger.clock import utcnow
from ledger.money import format_amount, largest_remainder
from ledger.paragraphs import mandate_title
from ledger.schema import (
    Activity,
    Allocation,
    Cancellation,
    Disbursement,
    JournalEntry,
    Pledge,
    Receipt,
)
from ledger.versions import activities_as_recorded, donors_as_recorded

from .files import replaced_on_success
from .moments import read_at
from .sums import use_snapshot

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ORG_TYPE = {  # IATI OrganisationType codelist
    "member-state": "10",  # Government
    "intergovernmental": "40",  # Multilateral
    "private-sector": "70",  # Private Sector
    "foundation": "60",  # Foundation
    "other": "90",  # Other
}
INCOMING_PLEDGE, INCOMING_FUNDS, EXPENDITURE = "13", "1", "4"


@dataclass(frozen=True)
class Transaction:
    type: str
    day: dt.date
    currency: str
    minor: int
    reference: str
    description: str
    provider: str | None = None
    provider_type: str | None = None
    receiver: str | None = None
    entry_id: int = 0

    def negated(self, day: dt.date, entry_id: int, why: str) -> Transaction:
        return Transaction(self.type, day, self.currency, -self.minor, self.reference, f"reversal of {self.description}: {why}",
                           self.provider, self.provider_type, self.receiver, entry_id)


@dataclass(frozen=True)
class IatiResult:
    path: Path
    as_of: dt.date
    identifier: str
    transactions: int
    budgets: int


def yearly_budgets(spans: list[tuple[int, dt.date, dt.date]]) -> dict[int, int]:
    """Calendar year -> USD cents: each (cents, start, end) budget spread over the years of its
    period pro rata to its days in each, exactly (largest remainder), then summed per year.

    IATI wants budgets of at most a year that do not overlap; the activities of a mandate run
    side by side over several years, so the trust fund reports one budget per calendar year.
    """
    totals: dict[int, int] = {}
    for cents, start, end in spans:
        years = range(start.year, end.year + 1)
        days = [(min(end, dt.date(y, 12, 31)) - max(start, dt.date(y, 1, 1))).days + 1 for y in years]
        for year, share in zip(years, largest_remainder(cents, days), strict=True):
            totals[year] = totals.get(year, 0) + share
    return dict(sorted(totals.items()))


def _adopted(code: str) -> dt.date | None:
    try:
        data = json.loads(resources.files("ledger").joinpath("data/resolution-20-7.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("code") != code or not data.get("adopted"):
        return None
    return dt.date.fromisoformat(data["adopted"])


def _transactions(session: Session, as_of: dt.date) -> list[Transaction]:
    by_entry: dict[int, Transaction] = {}
    funder = donors_as_recorded(recorded.recorded_at(session))  # names and kinds as recorded at T
    pledges = session.execute(
        select(Pledge.entry_id, Pledge.pledged_on, Pledge.currency, figures.promised(), Pledge.reference,
               funder.c.name, funder.c.kind)
        .join(Allocation, Allocation.pledge_id == Pledge.id)
        .join(funder, funder.c.donor_id == Pledge.donor_id)
        .where(Pledge.pledged_on <= as_of, *figures.recorded(session, Pledge.entry_id))
        .group_by(Pledge.entry_id, Pledge.pledged_on, Pledge.currency, Pledge.reference, funder.c.name, funder.c.kind)
    )
    for entry_id, day, currency, minor, reference, donor, kind in pledges:
        by_entry[entry_id] = Transaction(INCOMING_PLEDGE, day, currency, int(minor), reference, f"pledge {reference}",
                                         donor, ORG_TYPE.get(kind), None, entry_id)
    cancellations = session.execute(
        select(Cancellation.entry_id, Cancellation.cancelled_on, Pledge.currency, Cancellation.amount_minor,
               Pledge.reference, Cancellation.reason, funder.c.name, funder.c.kind)
        .join(Pledge, Pledge.id == Cancellation.pledge_id)
        .join(funder, funder.c.donor_id == Pledge.donor_id)
        .where(Cancellation.cancelled_on <= as_of, *figures.recorded(session, Cancellation.entry_id))
    )
    for entry_id, day, currency, minor, reference, reason, donor, kind in cancellations:
        by_entry[entry_id] = Transaction(INCOMING_PLEDGE, day, currency, -minor, reference,
                                         f"cancellation of pledge {reference}: {reason}", donor, ORG_TYPE.get(kind),
                                         None, entry_id)
    receipts = session.execute(
        select(Receipt.entry_id, Receipt.received_on, Pledge.currency, Receipt.amount_minor, Receipt.reference,
               Pledge.reference, funder.c.name, funder.c.kind)
        .join(Pledge, Pledge.id == Receipt.pledge_id)
        .join(funder, funder.c.donor_id == Pledge.donor_id)
        .where(Receipt.received_on <= as_of, *figures.recorded(session, Receipt.entry_id))
    )
    for entry_id, day, currency, minor, reference, pledge, donor, kind in receipts:
        by_entry[entry_id] = Transaction(INCOMING_FUNDS, day, currency, minor, reference,
                                         f"receipt {reference} on pledge {pledge}", donor, ORG_TYPE.get(kind), None, entry_id)
    disbursements = session.execute(
        select(Disbursement.entry_id, Disbursement.disbursed_on, Disbursement.currency, Disbursement.amount_minor,
               Disbursement.reference, Activity.code, Disbursement.payee, Disbursement.description)
        .join(Activity, Activity.id == Disbursement.activity_id)
        .where(Disbursement.disbursed_on <= as_of, *figures.recorded(session, Disbursement.entry_id))
    )
    for entry_id, day, currency, minor, reference, activity, payee, description in disbursements:
        text = f"disbursement {reference} for activity {activity}" + (f": {description}" if description else "")
        by_entry[entry_id] = Transaction(EXPENDITURE, day, currency, minor, reference, text, None, None, payee or None,
                                         entry_id)
    result = list(by_entry.values())
    reversals = session.execute(
        select(JournalEntry.id, JournalEntry.event_date, JournalEntry.reverses_id, JournalEntry.memo)
        .where(JournalEntry.reverses_id.is_not(None), JournalEntry.event_date <= as_of,
               *figures.recorded(session, JournalEntry.id))
    )
    for entry_id, day, original, memo in reversals:
        if original in by_entry:
            why = memo.split(": ", 1)[1] if ": " in memo else memo
            result.append(by_entry[original].negated(day, entry_id, why))
    result.sort(key=lambda t: (t.day, t.entry_id))
    return result


def _narrative(parent: etree._Element, tag: str, text: str, **attributes) -> etree._Element:
    element = etree.SubElement(parent, tag, {k.replace("_", "-"): v for k, v in attributes.items() if v is not None})
    etree.SubElement(element, "narrative").text = _clean(text)
    return element


_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _ILLEGAL.sub("\ufffd", text)


def iati_document(session: Session, as_of: dt.date | None = None, *, org_ref: str, org_name: str) -> etree._ElementTree:
    as_of = as_of or dt.date.today()
    use_snapshot(session)
    code, title = mandate_title(session)
    identifier = f"{org_ref}-{re.sub(r'[^A-Za-z0-9]+', '-', code).strip('-')}"
    now = utcnow().replace(microsecond=0).isoformat() + "Z"
    root = etree.Element("iati-activities", {"version": "2.03", "generated-datetime": now})
    activity = etree.SubElement(root, "iati-activity", {
        "last-updated-datetime": now, XML_LANG: "en", "default-currency": "USD", "hierarchy": "1",
    })
    etree.SubElement(activity, "iati-identifier").text = identifier
    _narrative(activity, "reporting-org", org_name, ref=org_ref, type="40")
    _narrative(activity, "title", f"Implementation of {code}: {title}")
    _narrative(activity, "description", (
        f"Extrabudgetary funding and implementation of {code} ({title}), as recorded in the donor ledger; "
        f"money events dated on or before {as_of.isoformat()}."), type="1")
    moment = recorded.recorded_at(session)  # donors and activities as recorded at T
    donor = donors_as_recorded(moment).c
    donors = session.execute(
        select(donor.code, donor.name, donor.kind).distinct()
        .join(Pledge, Pledge.donor_id == donor.donor_id)
        .where(Pledge.pledged_on <= as_of, *figures.recorded(session, Pledge.entry_id))
        .order_by(donor.code)
    ).all()
    for _code, name, kind in donors:
        _narrative(activity, "participating-org", name, role="1", type=ORG_TYPE.get(kind))
    _narrative(activity, "participating-org", org_name, ref=org_ref, role="4", type="40")
    etree.SubElement(activity, "activity-status", code="2")  # implementation
    transactions = _transactions(session, as_of)
    adopted = _adopted(code)
    if adopted:
        etree.SubElement(activity, "activity-date", {"iso-date": adopted.isoformat(), "type": "1"})  # planned start
    if transactions:
        etree.SubElement(activity, "activity-date", {"iso-date": transactions[0].day.isoformat(), "type": "2"})
    if not adopted and not transactions:
        etree.SubElement(activity, "activity-date", {"iso-date": as_of.isoformat(), "type": "1"})
    then = activities_as_recorded(moment).c
    budgets = session.execute(
        select(Activity.code, then.budget_cents, then.planned_start, then.planned_end)
        .join(Activity, Activity.id == then.activity_id)
        .where(then.status != "cancelled")
        .order_by(Activity.code)
    ).all()
    spans = []
    for _code, cents, start, end in budgets:
        start = start or adopted or as_of
        spans.append((cents, start, end if end and end >= start else start + dt.timedelta(days=364)))
    for year, cents in yearly_budgets(spans).items():
        start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
        budget = etree.SubElement(activity, "budget", type="1", status="1")  # original, indicative
        etree.SubElement(budget, "period-start", {"iso-date": start.isoformat()})
        etree.SubElement(budget, "period-end", {"iso-date": end.isoformat()})
        value = etree.SubElement(budget, "value", {"currency": "USD", "value-date": start.isoformat()})
        value.text = format_amount(cents, "USD", thousands=False)
    for t in transactions:
        element = etree.SubElement(activity, "transaction", ref=_clean(t.reference))
        etree.SubElement(element, "transaction-type", code=t.type)
        etree.SubElement(element, "transaction-date", {"iso-date": t.day.isoformat()})
        value = etree.SubElement(element, "value", {"currency": t.currency, "value-date": t.day.isoformat()})
        value.text = format_amount(t.minor, t.currency, thousands=False)
        _narrative(element, "description", t.description)
        if t.provider:
            _narrative(element, "provider-org", t.provider, type=t.provider_type)
        if t.receiver:
            _narrative(element, "receiver-org", t.receiver)
    return etree.ElementTree(root)


def write_iati(session: Session, path: Path, as_of: dt.date | None = None, *, org_ref: str, org_name: str,
               recorded_at: dt.datetime | None = None) -> IatiResult:
    """The IATI file as of ``as_of`` and as recorded at ``recorded_at`` (docs/rules.md#as-recorded-at)."""
    as_of = read_at(session, as_of, recorded_at, "iati -o FILE.xml").as_of
    tree = iati_document(session, as_of, org_ref=org_ref, org_name=org_name)
    activity = tree.getroot()[0]
    path = Path(path)
    with replaced_on_success(path, ".iati-") as temporary:
        tree.write(str(temporary), xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return IatiResult(path, as_of, activity.findtext("iati-identifier"), len(activity.findall("transaction")),
                      len(activity.findall("budget")))


def export_iati(ledger, path: Path, as_of: dt.date | None = None, *, org_ref: str, org_name: str,
                recorded_at: dt.datetime | None = None) -> IatiResult:
    with ledger.reading() as session:
        return write_iati(session, path, as_of, org_ref=org_ref, org_name=org_name, recorded_at=recorded_at)
