"""The ledger as one IATI 2.03 activity: the implementation of the mandate (docs/rules.md#iati).

- the reporting organisation, the activity identifier, the sector and the recipient region or
  country are ledger settings (ledger/settings.py); the file is refused while one it needs is not
  set, naming it and the command that sets it (never a placeholder);
- participating-org role 1 (funding): every donor with a pledge dated on or before the
  as-of date, with its organisation identifier (``iati_ref``) where known; role 4
  (implementing): the reporting organisation;
- transactions, each in its original currency with its value-date (the event date):
  type 13 (incoming pledge) per pledge announced and still announced (neither signed nor
  withdrawn) as of the date, at its announcement; type 11 (incoming commitment) per signing (a
  pledge recorded signed: at its date), negative per cancellation;
  type 1 (incoming funds) per receipt and, negative, per refund (the donor provides), type 4
  (expenditure) per disbursement; a reversal is the same type with the amount negated, dated on the reversal date; no transaction dated after
  today is written (IATI refuses dates in the future), whatever the as-of date;
- planned disbursements: the unpaid part of each due pledge (the donor provides, the reporting
  organisation receives), in the pledge's currency, at its due date;
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

from ledger import figures, instalments, recorded, settings, stages
from ledger.clock import utcnow
from ledger.errors import LedgerError, Problem
from ledger.money import format_amount, largest_remainder
from ledger.paragraphs import mandate_title
from ledger.roles import Actor
from ledger.schema import (
    Activity,
    Allocation,
    Cancellation,
    Disbursement,
    JournalEntry,
    Pledge,
    Receipt,
    Refund,
)
from ledger.unit_of_work import Reader
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
INCOMING_PLEDGE, INCOMING_COMMITMENT, INCOMING_FUNDS, EXPENDITURE = "13", "11", "1", "4"
ANNOUNCEMENT = "announcement"  # ledger.stages.stage_history's kind of a pledge posted as an announcement
# the settings the file needs, and what each is for
NEEDED = {
    "iati_reporting_org_ref": "the reporting organisation's IATI identifier, e.g. XM-DAC-41119",
    "iati_reporting_org_name": "the reporting organisation's name",
    "iati_reporting_org_type": "the reporting organisation's IATI type code, e.g. 40",
    "iati_activity_identifier": "the activity's identifier, beginning with the organisation's ref",
    "iati_sector": "the DAC 5-digit purpose code, e.g. 15210",
}


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
    provider_ref: str | None = None

    def negated(self, day: dt.date, entry_id: int, why: str) -> Transaction:
        return Transaction(self.type, day, self.currency, -self.minor, self.reference, f"reversal of {self.description}: {why}",
                           self.provider, self.provider_type, self.receiver, entry_id, self.provider_ref)


@dataclass(frozen=True)
class Publisher:
    """What the ledger settings say of the file's publisher and activity."""

    org_ref: str
    org_name: str
    org_type: str
    identifier: str
    sector: str
    region: str
    country: str


def publisher(session: Session) -> Publisher:
    """The IATI settings in force as recorded at the session's moment; LedgerError naming every
    setting the file needs that is not set, and how an admin sets it."""
    reader = Reader(session, Actor("", None))
    reader.recorded_at = recorded.recorded_at(session)
    values = settings.values(reader)
    problems = [Problem(name, f"not set ({what}): an admin sets it with `donor-ledger settings set {name} VALUE`")
                for name, what in NEEDED.items() if not values[name]]
    if not values["iati_recipient_region"] and not values["iati_recipient_country"]:
        problems.append(Problem("iati_recipient_region", "not set, nor iati_recipient_country (the file names a "
                                "recipient region or country): an admin sets one with `donor-ledger settings set iati_recipient_region CODE` "
                                "(e.g. 998) or `donor-ledger settings set iati_recipient_country CODE` (e.g. KE)"))
    org, identifier = values["iati_reporting_org_ref"], values["iati_activity_identifier"]
    if org and identifier and not identifier.startswith(f"{org}-"):
        problems.append(Problem("iati_activity_identifier", f"{identifier} does not begin with iati_reporting_org_ref "
                                f"{org} and a hyphen: an admin sets it with `donor-ledger settings set "
                                f"iati_activity_identifier {org}-...`"))
    if problems:
        raise LedgerError(*problems)
    return Publisher(org, values["iati_reporting_org_name"], values["iati_reporting_org_type"], identifier,
                     values["iati_sector"], values["iati_recipient_region"], values["iati_recipient_country"])


@dataclass(frozen=True)
class IatiResult:
    path: Path
    as_of: dt.date
    identifier: str
    transactions: int
    budgets: int
    planned_disbursements: int


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
    pledges = {
        pid: rest for pid, *rest in session.execute(
            select(Pledge.id, Pledge.currency, figures.promised(), funder.c.name, funder.c.kind, funder.c.iati_ref)
            .join(Allocation, Allocation.pledge_id == Pledge.id)
            .join(funder, funder.c.donor_id == Pledge.donor_id)
            .where(Pledge.pledged_on <= as_of, *figures.recorded(session, Pledge.entry_id))
            .group_by(Pledge.id, Pledge.currency, funder.c.name, funder.c.kind, funder.c.iati_ref))
    }
    history = stages.stage_history(session, as_of)
    settled = {e.pledge_id for e in history if e.kind != ANNOUNCEMENT and e.reversed_on is None}
    for e in history:  # a signing is a commitment (11); an announcement a pledge (13) while it is announced
        if e.pledge_id not in pledges or e.kind == stages.WITHDRAWAL:
            continue
        if e.kind == ANNOUNCEMENT and (e.pledge_id in settled or e.reversed_on is not None):
            continue
        currency, minor, donor, kind, provider_ref = pledges[e.pledge_id]
        code, what = (INCOMING_COMMITMENT, "signed") if e.kind == stages.SIGNING else (INCOMING_PLEDGE, "announced")
        by_entry[e.entry_id] = Transaction(code, e.on, currency, int(minor), e.reference, f"pledge {e.reference} ({what})",
                                           donor, ORG_TYPE.get(kind), None, e.entry_id, provider_ref)
    cancellations = session.execute(
        select(Cancellation.entry_id, Cancellation.cancelled_on, Pledge.currency, Cancellation.amount_minor,
               Pledge.reference, Cancellation.reason, funder.c.name, funder.c.kind, funder.c.iati_ref)
        .join(Pledge, Pledge.id == Cancellation.pledge_id)
        .join(funder, funder.c.donor_id == Pledge.donor_id)
        .where(Cancellation.cancelled_on <= as_of, *figures.recorded(session, Cancellation.entry_id))
    )
    for entry_id, day, currency, minor, reference, reason, donor, kind, provider_ref in cancellations:
        by_entry[entry_id] = Transaction(INCOMING_COMMITMENT, day, currency, -minor, reference,
                                         f"cancellation of pledge {reference}: {reason}", donor, ORG_TYPE.get(kind),
                                         None, entry_id, provider_ref)
    receipts = session.execute(
        select(Receipt.entry_id, Receipt.received_on, Pledge.currency, Receipt.amount_minor, Receipt.reference,
               Pledge.reference, funder.c.name, funder.c.kind, funder.c.iati_ref)
        .join(Pledge, Pledge.id == Receipt.pledge_id)
        .join(funder, funder.c.donor_id == Pledge.donor_id)
        .where(Receipt.received_on <= as_of, *figures.recorded(session, Receipt.entry_id))
    )
    for entry_id, day, currency, minor, reference, pledge, donor, kind, provider_ref in receipts:
        by_entry[entry_id] = Transaction(INCOMING_FUNDS, day, currency, minor, reference,
                                         f"receipt {reference} on pledge {pledge}", donor, ORG_TYPE.get(kind), None,
                                         entry_id, provider_ref)
    refunds = session.execute(
        select(Refund.entry_id, Refund.refunded_on, Pledge.currency, Refund.amount_minor, Pledge.reference,
               Refund.reason, funder.c.name, funder.c.kind, funder.c.iati_ref)
        .join(Pledge, Pledge.id == Refund.pledge_id)
        .join(funder, funder.c.donor_id == Pledge.donor_id)
        .where(Refund.refunded_on <= as_of, *figures.recorded(session, Refund.entry_id))
    )
    for entry_id, day, currency, minor, reference, reason, donor, kind, provider_ref in refunds:
        by_entry[entry_id] = Transaction(INCOMING_FUNDS, day, currency, -minor, reference,
                                         f"refund to the donor on pledge {reference}: {reason}", donor,
                                         ORG_TYPE.get(kind), None, entry_id, provider_ref)
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


def _planned_disbursements(session: Session, as_of: dt.date) -> list[Transaction]:
    """The unpaid part of each instalment of the schedules in force as of ``as_of``
    (``ledger.instalments.unpaid_instalments``), in the pledge's currency, the donor as provider."""
    funder = _funders(session)
    found = []
    for part in sorted(instalments.unpaid_instalments(session, as_of), key=lambda p: (p.due_on, p.pledge_id, p.position)):
        name, kind, ref = funder[part.donor_id]
        found.append(Transaction("", part.due_on, part.currency, part.unpaid_minor, part.reference,
                                 f"instalment {part.position} of {part.of} of pledge {part.reference}", name,
                                 ORG_TYPE.get(kind), None, 0, ref))
    return found


def _funders(session: Session) -> dict[int, tuple[str, str, str | None]]:
    """donor id -> (name, kind, iati_ref) as recorded at the session's moment."""
    funder = donors_as_recorded(recorded.recorded_at(session))
    return {donor_id: (name, kind, ref) for donor_id, name, kind, ref in session.execute(
        select(funder.c.donor_id, funder.c.name, funder.c.kind, funder.c.iati_ref))}


def _org(parent: etree._Element, tag: str, name: str, ref: str | None, org_type: str | None, **attributes):
    return _narrative(parent, tag, name, ref=ref, type=org_type, **attributes)


def iati_document(session: Session, as_of: dt.date | None = None) -> etree._ElementTree:
    """The activity file as of ``as_of`` (default today); no transaction dated after today."""
    as_of = as_of or dt.date.today()
    use_snapshot(session)
    who = publisher(session)
    through = min(as_of, dt.date.today())  # IATI refuses transactions dated in the future
    code, title = mandate_title(session)
    now = utcnow().replace(microsecond=0).isoformat() + "Z"
    root = etree.Element("iati-activities", {"version": "2.03", "generated-datetime": now})
    activity = etree.SubElement(root, "iati-activity", {
        "last-updated-datetime": now, XML_LANG: "en", "default-currency": "USD", "hierarchy": "1",
    })
    etree.SubElement(activity, "iati-identifier").text = who.identifier
    _org(activity, "reporting-org", who.org_name, who.org_ref, who.org_type)
    _narrative(activity, "title", f"Implementation of {code}: {title}")
    _narrative(activity, "description", (
        f"Extrabudgetary funding and implementation of {code} ({title}), as recorded in the donor ledger; "
        f"money events dated on or before {through.isoformat()}."), type="1")
    moment = recorded.recorded_at(session)  # donors and activities as recorded at T
    donor = donors_as_recorded(moment).c
    donors = session.execute(
        select(donor.code, donor.name, donor.kind, donor.iati_ref).distinct()
        .join(Pledge, Pledge.donor_id == donor.donor_id)
        .where(Pledge.pledged_on <= through, *figures.recorded(session, Pledge.entry_id))
        .order_by(donor.code)
    ).all()
    for _code, name, kind, ref in donors:
        _org(activity, "participating-org", name, ref, ORG_TYPE.get(kind), role="1")
    _org(activity, "participating-org", who.org_name, who.org_ref, who.org_type, role="4")
    etree.SubElement(activity, "activity-status", code="2")  # implementation
    transactions = _transactions(session, through)
    adopted = _adopted(code)
    if adopted:
        etree.SubElement(activity, "activity-date", {"iso-date": adopted.isoformat(), "type": "1"})  # planned start
    if transactions:
        etree.SubElement(activity, "activity-date", {"iso-date": transactions[0].day.isoformat(), "type": "2"})
    if not adopted and not transactions:
        etree.SubElement(activity, "activity-date", {"iso-date": through.isoformat(), "type": "1"})
    if who.country:
        etree.SubElement(activity, "recipient-country", code=who.country)
    else:
        etree.SubElement(activity, "recipient-region", code=who.region, vocabulary="1")
    etree.SubElement(activity, "sector", code=who.sector, vocabulary="1")
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
    for t in _planned_disbursements(session, through):
        planned = etree.SubElement(activity, "planned-disbursement", type="1")  # original
        etree.SubElement(planned, "period-start", {"iso-date": t.day.isoformat()})
        etree.SubElement(planned, "period-end", {"iso-date": t.day.isoformat()})
        value = etree.SubElement(planned, "value", {"currency": t.currency, "value-date": t.day.isoformat()})
        value.text = format_amount(t.minor, t.currency, thousands=False)
        _org(planned, "provider-org", t.provider, t.provider_ref, t.provider_type)
        _org(planned, "receiver-org", who.org_name, who.org_ref, who.org_type)
    for t in transactions:
        element = etree.SubElement(activity, "transaction", ref=_clean(t.reference))
        etree.SubElement(element, "transaction-type", code=t.type)
        etree.SubElement(element, "transaction-date", {"iso-date": t.day.isoformat()})
        value = etree.SubElement(element, "value", {"currency": t.currency, "value-date": t.day.isoformat()})
        value.text = format_amount(t.minor, t.currency, thousands=False)
        _narrative(element, "description", t.description)
        if t.provider:
            _org(element, "provider-org", t.provider, t.provider_ref, t.provider_type)
        if t.receiver:
            _narrative(element, "receiver-org", t.receiver)
    return etree.ElementTree(root)


def write_iati(session: Session, path: Path, as_of: dt.date | None = None,
               recorded_at: dt.datetime | None = None) -> IatiResult:
    """The IATI file as of ``as_of`` and as recorded at ``recorded_at`` (docs/rules.md#as-recorded-at)."""
    as_of = read_at(session, as_of, recorded_at, "iati -o FILE.xml").as_of
    tree = iati_document(session, as_of)
    activity = tree.getroot()[0]
    path = Path(path)
    with replaced_on_success(path, ".iati-") as temporary:
        tree.write(str(temporary), xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return IatiResult(path, as_of, activity.findtext("iati-identifier"), len(activity.findall("transaction")),
                      len(activity.findall("budget")), len(activity.findall("planned-disbursement")))


def export_iati(ledger, path: Path, as_of: dt.date | None = None, recorded_at: dt.datetime | None = None) -> IatiResult:
    with ledger.reading() as session:
        return write_iati(session, path, as_of, recorded_at)
