"""One donor's statement as of a date (docs/rules.md#donor-statement).

For one donor: every pledge dated on or before the as-of date with its stage, schedule and
figures (pledged, cancelled, received, refunded, outstanding in its currency and in USD, the
spending and PSC its money paid, its balance), the events that moved it (its entry, receipts,
cancellations, reallocations, refunds, reversals: each entry's lines on the pledge), the
spending paid with the donor's money by paragraph and activity, and the totals.

Every figure is read from the definitions the other reports use: the per-allocation sums of
reports/sums.py for each pledge, the donor's row of `report donors` (reports/donors.py) for the
totals, so every total equals that row; balance = received - refunded - spending - PSC.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field

from sqlalchemy import or_, select, union
from sqlalchemy.orm import Session

from ledger import figures, instalments, journal, stages
from ledger.clock import utcnow
from ledger.errors import NotFound, Problem
from ledger.money import format_amount
from ledger.rates import RateBook, StaleRate
from ledger.schema import Allocation, Instalment, JournalEntry, JournalLine, Pledge, PledgeClosing
from ledger.versions import donors_as_recorded

from .donors import DonorStatement, SpendingLine, donor_report
from .formats import (
    json_header,
    money,
    money_grouped,
    provenance,
    safe_text,
    stale_rates_caption,
    stale_rates_json,
)
from .moments import read_at
from .sums import add_figures, allocation_sums, reversed_as_of

# what the statement lists of an entry: its lines on the pledge's receivable, revenue and cash
# (the spending of the pledge's money is listed by activity, not per disbursement)
EVENT_ACCOUNTS = (journal.RECEIVABLE, journal.REVENUE, journal.CASH, journal.MEMO_ANNOUNCED)
SPENDING_FLOWS = (journal.SPEND, journal.PSC_FLOW)


@dataclass
class Event:
    """One journal entry on a pledge: the change of its receivable (pledge currency), of its
    revenue (pledged USD), of the cash its money holds (USD: received less refunded) and of what it
    has announced and not signed (USD, memorandum). The entries without money (a closing, a
    re-planned schedule, their reversals) are events too, with their memo and no amounts."""

    entry_id: int
    day: dt.date
    kind: str
    reference: str
    memo: str
    receivable: int = 0  # minor units of the pledge's currency
    pledged: int = 0  # USD cents
    cash: int = 0  # USD cents: received - refunded
    announced: int = 0  # USD cents, memorandum
    received: int = 0  # USD cents (figures.RECEIVED_USD: a receipt, negative when one is reversed)
    refunded: int = 0  # USD cents (figures.REFUNDED_USD: paid back to the donor)


@dataclass
class PledgeLine:
    reference: str
    pledged_on: dt.date
    currency: str
    amount: int  # minor units, as recorded (before cancellations)
    stage: str
    reversed_on: dt.date | None
    schedule: list[tuple[dt.date, int]]  # (due date, minor units)
    pledged: int = 0
    cancelled: int = 0
    received: int = 0
    refunded: int = 0
    outstanding_minor: int = 0
    outstanding: int = 0  # USD at the rate in force on the as-of date, rounded per allocation
    announced: int = 0  # USD at the announcement's rate, memorandum: announced, not signed nor withdrawn
    spent: int = 0
    psc: int = 0
    events: list[Event] = field(default_factory=list)

    @property
    def balance(self) -> int:
        return figures.available(self.received, self.refunded, self.spent, self.psc)


@dataclass
class Statement:
    as_of: dt.date
    generated_at: dt.datetime
    chain_head: str
    entries: int
    donor: DonorStatement  # the donor's row of `report donors`: its totals and spending
    iati_ref: str | None
    pledges: list[PledgeLine]
    as_recorded_at: dt.datetime | None = None
    closed_through: dt.date | None = None
    command: str = ""
    stale_rates: list[StaleRate] = field(default_factory=list)

    @property
    def spending(self) -> list[SpendingLine]:
        return self.donor.spending

    def totals(self) -> dict[str, int]:
        d = self.donor
        return {"pledged": d.pledged, "cancelled": d.cancelled, "received": d.received, "refunded": d.refunded,
                "outstanding": d.outstanding, "spent": d.spent, "psc": d.psc, "balance": d.balance}


def _stages(session: Session, as_of: dt.date) -> dict[int, str]:
    """pledge id -> its stage as of ``as_of``: signed with a live signing (a pledge recorded signed:
    its pledge entry), else withdrawn with a live withdrawal, else announced (ledger/stages.py).
    A reversed pledge keeps the stage its own entry gave it (the statement says it was reversed)."""
    pledge_entries = set(session.execute(select(Pledge.entry_id)).scalars())
    live: dict[int, set[str]] = {}
    for event in stages.stage_history(session, as_of):
        if event.reversed_on is None or event.entry_id in pledge_entries:
            live.setdefault(event.pledge_id, set()).add(event.kind)
    return {pid: stages.SIGNED if stages.SIGNING in kinds else stages.WITHDRAWN if stages.WITHDRAWAL in kinds
            else stages.ANNOUNCED for pid, kinds in live.items()}


def _entries_without_money(session: Session, donor_id: int, as_of: dt.date):
    """(pledge id, entry id, date, kind, reference, memo) of the donor's pledges' closings and
    schedules and of their reversals dated on or before ``as_of``: entries without lines."""
    acts = union(select(PledgeClosing.pledge_id, PledgeClosing.entry_id),
                 select(Instalment.pledge_id, Instalment.entry_id)).subquery()
    return session.execute(
        select(acts.c.pledge_id, JournalEntry.id, JournalEntry.event_date, JournalEntry.kind, JournalEntry.reference,
               JournalEntry.memo)
        .join(Pledge, Pledge.id == acts.c.pledge_id)
        .join(JournalEntry, or_(JournalEntry.id == acts.c.entry_id, JournalEntry.reverses_id == acts.c.entry_id))
        .where(Pledge.donor_id == donor_id, JournalEntry.event_date <= as_of, *figures.recorded(session, JournalEntry.id))
    ).all()


def _events(session: Session, donor_id: int, as_of: dt.date) -> dict[int, list[Event]]:
    """pledge id -> its events dated on or before ``as_of``, in entry order."""
    line = JournalLine
    rows = session.execute(
        select(line.pledge_id, JournalEntry.id, JournalEntry.event_date, JournalEntry.kind, JournalEntry.reference,
               JournalEntry.memo,
               figures.OUTSTANDING.among(), figures.PLEDGED_USD.among(), figures.CASH_USD.among(),
               figures.ANNOUNCED_USD.among(), figures.RECEIVED_USD.among(), figures.REFUNDED_USD.among())
        .join(JournalEntry, JournalEntry.id == line.entry_id)
        .where(line.donor_id == donor_id, line.pledge_id.is_not(None), line.account.in_(EVENT_ACCOUNTS),
               line.flow.not_in(SPENDING_FLOWS), JournalEntry.event_date <= as_of,
               *figures.recorded(session, line.entry_id))
        .group_by(line.pledge_id, JournalEntry.id, JournalEntry.event_date, JournalEntry.kind,
                  JournalEntry.reference, JournalEntry.memo)
        .order_by(line.pledge_id, JournalEntry.id)
    )
    events: dict[int, dict[int, Event]] = {}
    for pid, eid, day, kind, reference, memo, *amounts in rows:
        events.setdefault(pid, {})[eid] = Event(eid, day, kind, reference, memo, *(int(a) for a in amounts))
    for pid, eid, day, kind, reference, memo in _entries_without_money(session, donor_id, as_of):
        events.setdefault(pid, {}).setdefault(eid, Event(eid, day, kind, reference, memo))
    return {pid: [by_entry[eid] for eid in sorted(by_entry)] for pid, by_entry in events.items()}


def statement(session: Session, donor_code: str, as_of: dt.date | None = None,
              recorded_at: dt.datetime | None = None) -> Statement:
    """Donor ``donor_code``'s statement as of ``as_of``, as recorded at ``recorded_at``
    (docs/rules.md#as-recorded-at); NotFound naming the donor when there is none by that code."""
    moments = read_at(session, as_of, recorded_at, f"report statement --donor {donor_code}")
    as_of = moments.as_of
    donor = donors_as_recorded(moments.at.recorded_at).c
    found = session.execute(select(donor.donor_id, donor.iati_ref).where(donor.code == donor_code)).first()
    if found is None:
        raise NotFound(Problem("donor", f"no donor with code {donor_code!r}"))
    donor_id, iati_ref = found
    book = RateBook.load(session, moments.at.recorded_at)
    report = donor_report(session, as_of, book, recorded_at)
    row = next(r for r in report.rows if r.donor == donor_code)
    undone = reversed_as_of(session, as_of)
    stage = _stages(session, as_of)
    pledges: dict[int, PledgeLine] = {}
    found = session.execute(
        select(Pledge.id, Pledge.reference, Pledge.pledged_on, Pledge.currency, Pledge.entry_id, figures.promised())
        .join(Allocation, Allocation.pledge_id == Pledge.id)
        .where(Pledge.donor_id == donor_id, Pledge.pledged_on <= as_of, *figures.recorded(session, Pledge.entry_id))
        .group_by(Pledge.id, Pledge.reference, Pledge.pledged_on, Pledge.currency, Pledge.entry_id)
        .order_by(Pledge.pledged_on, Pledge.id)
    ).all()
    plans = instalments.schedules(session, [pid for pid, *_ in found])  # in force, as recorded at the moment
    for pid, reference, day, currency, entry_id, amount in found:
        reversal = undone.get(entry_id)
        pledges[pid] = PledgeLine(reference, day, currency, int(amount), stage.get(pid, stages.ANNOUNCED),
                                  reversal[1] if reversal else None, plans.get(pid, []))
    sums = [s for s in allocation_sums(session, as_of, book) if s.donor_id == donor_id]
    for s in sums:
        line = pledges[s.pledge_id]
        add_figures(line, s)
        line.outstanding_minor += s.outstanding_minor
        line.spent += s.disbursed_cents
        line.psc += s.psc_cents
    events = _events(session, donor_id, as_of)
    for pid, line in pledges.items():
        line.events = events.get(pid, [])
    return Statement(as_of, utcnow(), moments.at.head_hash, moments.at.entries, row, iati_ref, list(pledges.values()),
                     moments.at.recorded_at, moments.closed_through, moments.command,
                     book.stale({s.currency for s in sums if s.outstanding_minor}, as_of))


def statement_for(ledger, donor_code: str, as_of: dt.date | None = None,
                  recorded_at: dt.datetime | None = None) -> Statement:
    with ledger.reading() as session:
        return statement(session, donor_code, as_of, recorded_at)


# -- rendering -------------------------------------------------------------------------------
TOTAL_KEYS = ("pledged", "cancelled", "received", "refunded", "outstanding", "spent", "psc", "balance")


def _amount(minor: int, currency: str) -> str:
    return format_amount(minor, currency, thousands=False)


def _pledge_values(p: PledgeLine) -> dict:
    return {key: money(getattr(p, key)) for key in TOTAL_KEYS}


def statement_json(s: Statement) -> str:
    d = s.donor
    document = {
        **json_header(s),
        "donor": {"code": d.donor, "name": d.name, "kind": d.kind, "country": d.country, "currency": d.currency,
                  "iati_ref": s.iati_ref},
        "pledges": [
            {
                "reference": p.reference, "pledged_on": p.pledged_on.isoformat(), "currency": p.currency,
                "amount": _amount(p.amount, p.currency), "stage": p.stage,
                "reversed_on": p.reversed_on.isoformat() if p.reversed_on else None,
                "schedule": [{"due_on": due.isoformat(), "amount": _amount(minor, p.currency)} for due, minor in p.schedule],
                "outstanding_amount": _amount(p.outstanding_minor, p.currency),
                **_pledge_values(p),
                "events": [
                    {"entry": e.entry_id, "date": e.day.isoformat(), "kind": e.kind, "reference": e.reference,
                     "memo": e.memo, "receivable": _amount(e.receivable, p.currency), "pledged": money(e.pledged),
                     "received": money(e.received), "refunded": money(e.refunded), "cash": money(e.cash),
                     "announced": money(e.announced)}
                    for e in p.events
                ],
            }
            for p in s.pledges
        ],
        "spending": [{"paragraph": x.paragraph, "activity": x.activity, "title": x.activity_title,
                      "spent": money(x.spent), "psc": money(x.psc)} for x in s.spending],
        "totals": {key: money(value) for key, value in s.totals().items()},
        "stale_rates": stale_rates_json(s.stale_rates),
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


CSV_COLUMNS = ("line", "pledge", "date", "kind", "reference", "description", "currency", "amount", "paragraph",
               "activity", "pledged", "cancelled", "received", "refunded", "outstanding", "cash", "spent", "psc",
               "balance")


def statement_csv(s: Statement) -> str:
    """One line per pledge, then its instalments and events; one per activity its money paid for; the total.
    Amounts in the pledge's currency stand in ``amount``; the other money columns are USD."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def write(**values) -> None:
        writer.writerow([values.get(column, "") for column in CSV_COLUMNS])

    for p in s.pledges:
        write(line="pledge", pledge=safe_text(p.reference), date=p.pledged_on.isoformat(), kind=p.stage,
              currency=p.currency, amount=_amount(p.amount, p.currency), **_pledge_values(p))
        for due, minor in p.schedule:
            write(line="instalment", pledge=safe_text(p.reference), date=due.isoformat(), currency=p.currency,
                  amount=_amount(minor, p.currency))
        for e in p.events:
            write(line="event", pledge=safe_text(p.reference), date=e.day.isoformat(), kind=e.kind,
                  reference=safe_text(e.reference), description=safe_text(e.memo), currency=p.currency,
                  amount=_amount(e.receivable, p.currency), pledged=money(e.pledged), received=money(e.received),
                  refunded=money(e.refunded), cash=money(e.cash))
    for x in s.spending:
        write(line="spending", description=safe_text(x.activity_title), paragraph=x.paragraph,
              activity=safe_text(x.activity), spent=money(x.spent), psc=money(x.psc))
    write(line="total", **{key: money(value) for key, value in s.totals().items()})
    return out.getvalue()


def statement_title(s: Statement) -> str:
    d = s.donor
    ref = f", IATI {s.iati_ref}" if s.iati_ref else ""
    return f"Statement of {d.donor} {d.name}{ref}, as of {s.as_of}"


# the pledge table's columns after the label, in their order on screen; when the width is short
# they go in the order of NARROWER: the date and the amount in the pledge's currency move into the
# label, the USD columns are left out (the totals and the spending table keep every figure), so that
# no amount is ever cut
PLEDGE_COLUMNS = ("date", "amount", "pledged", "received", "refunded", "outstanding", "spent", "psc", "balance")
FOLDED = ("date", "amount")
NARROWER = ("date", "psc", "spent", "amount", "outstanding", "refunded", "pledged", "received")
HEADINGS = {"date": "Date", "amount": "Amount", "psc": "PSC"}
LABEL_WIDTH = 18  # the least the label column takes, wrapped


def _heading(key: str) -> str:
    return HEADINGS.get(key, key.capitalize())


def _pledge_rows(s: Statement) -> list[tuple[str, dt.date, dict[str, str], bool]]:
    """(label, date, cells by column, bold) of each pledge, its instalments and its events."""
    rows = []
    for p in s.pledges:
        reversed_note = f", reversed {p.reversed_on}" if p.reversed_on else ""
        rows.append((f"{p.reference} ({p.stage}{reversed_note})", p.pledged_on,
                     {"amount": f"{p.currency} {format_amount(p.amount, p.currency)}",
                      **{key: money_grouped(getattr(p, key)) for key in PLEDGE_COLUMNS[2:]}}, True))
        for due, minor in p.schedule:
            rows.append(("  instalment due", due, {"amount": f"{p.currency} {format_amount(minor, p.currency)}"}, False))
        for e in p.events:
            cells = {key: money_grouped(value) for key, value in
                     (("pledged", e.pledged), ("received", e.received), ("refunded", e.refunded)) if value}
            if e.receivable:
                cells["amount"] = f"{p.currency} {format_amount(e.receivable, p.currency)}"
            money_moved = cells or e.announced
            rows.append((f"  {e.kind} {e.reference}" if money_moved else f"  {e.memo}", e.day, cells, False))
    return rows


def _pledge_table(s: Statement, rows, columns: tuple[str, ...]):
    from rich.table import Table
    from rich.text import Text

    folded = [key for key in FOLDED if key not in columns]
    left_out = [_heading(key) for key in PLEDGE_COLUMNS if key not in columns and key not in FOLDED]
    caption = provenance(s) + stale_rates_caption(s.stale_rates)
    if left_out:
        caption = f"Per pledge, left out at this width: {', '.join(left_out)} (see the totals). " + caption
    table = Table(title=statement_title(s) + " (USD unless a currency is named)", caption=caption)
    heading = ("date, " if "date" in folded else "") + "pledge / event" + (", amount" if "amount" in folded else "")
    table.add_column(heading[0].upper() + heading[1:], min_width=LABEL_WIDTH, max_width=48)
    for key in columns:
        table.add_column(_heading(key), justify="left" if key == "date" else "right", no_wrap=True)
    for label, day, cells, bold in rows:
        if folded:
            label = " ".join(part for part in ((day.isoformat() if "date" in folded else ""), label.strip(),
                                               (cells.get("amount", "") if "amount" in folded else "")) if part)
        table.add_row(Text(label), *(day.isoformat() if key == "date" else cells.get(key, "") for key in columns),
                      style="bold" if bold else None)
    return table


def _fits(columns: list[list[str]], width: int, label: int = 0) -> bool:
    """A table with a box, its label column ``label`` wide (wrapped) and ``columns`` (each the texts of
    one column, heading included, never wrapped) whole fits in ``width`` terminal columns."""
    from rich.cells import cell_len

    widths = [label] * bool(label) + [max(cell_len(text) for text in column) for column in columns]
    return sum(widths) + 3 * len(widths) + 1 <= width


def statement_tables(s: Statement, width: int = 200):
    """Rich renderables for ``width`` columns: the pledges with their instalments and events, the
    spending, the totals. At a short width the pledge table folds its date and amount into the label
    and leaves out its least important columns (NARROWER), and the totals stand one per line, so
    every amount shown is whole."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    rows = _pledge_rows(s)
    texts = {key: [_heading(key), *(day.isoformat() if key == "date" else cells.get(key, "") for _, day, cells, _ in rows)]
             for key in PLEDGE_COLUMNS}
    columns = PLEDGE_COLUMNS
    for key in NARROWER:
        if _fits([texts[c] for c in columns], width, LABEL_WIDTH):
            break
        columns = tuple(c for c in columns if c != key)
    pledges = _pledge_table(s, rows, columns)
    spending = Table(title="Spending paid with the donor's money, USD")
    spending.add_column("Paragraph / activity", max_width=60)
    spending.add_column("Spent", justify="right", no_wrap=True)
    spending.add_column("PSC", justify="right", no_wrap=True)
    for x in s.spending:
        spending.add_row(Text(f"¶{x.paragraph} {x.activity} {x.activity_title}"), money_grouped(x.spent),
                         money_grouped(x.psc))
    totals = Table(title="Totals, USD")
    for key in TOTAL_KEYS:
        totals.add_column(_heading(key), justify="right", no_wrap=True)
    totals.add_row(*(money_grouped(v) for v in s.totals().values()), style="bold")
    if not _fits([[_heading(key), money_grouped(value)] for key, value in s.totals().items()], width):
        totals = Table(title="Totals, USD")
        totals.add_column("Figure")
        totals.add_column("USD", justify="right", no_wrap=True)
        for key, value in s.totals().items():
            totals.add_row(_heading(key), money_grouped(value), style="bold" if key == "balance" else None)
    return Group(pledges, spending, totals)
