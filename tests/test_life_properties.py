"""The whole life of a contribution as one property (docs/rules.md#pledge-stages, #instalments,
#reallocations, #refunds, #closing-a-pledge, #reversals): any sequence of announcing, signing,
withdrawing, re-planning, receiving, cancelling, reallocating, refunding, disbursing (automatic and
named funding) and closing, each act sometimes reversed right after and sometimes later. After
every step:

- every entry balances (USD and per currency) and the chain verifies;
- each pledge's pledged + announced USD is what the donor promised at the rate of its stage
  (announcement or signing; nothing once withdrawn or reversed) less its cancellations and refunds,
  within a cent per reallocation; the funding report's totals move by the same;
- the unpaid parts of a pledge's instalments add up to its outstanding amount (and their USD to the
  funding report's outstanding) on any date, and a schedule in force adds up to the pledge;
- no allocation's cash is below zero on any date;
- a refusal writes nothing, and reversing an act right after it gives back every figure before it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from hypothesis import Phase, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ledger import figures, instalments, journal, services, stages
from ledger.closing import closed_pledges_statement
from ledger.errors import LedgerError
from ledger.inputs import (
    CancellationIn,
    DisbursementIn,
    PledgeCloseIn,
    PledgeIn,
    ReallocationIn,
    ReceiptIn,
    RefundIn,
    ReversalIn,
    ScheduleIn,
    SigningIn,
    WithdrawalIn,
)
from ledger.money import from_minor, minor_digits, to_usd_cents
from ledger.schema import Allocation, JournalEntry, JournalLine, Paragraph, Pledge
from ledger.unit_of_work import Reader
from tests.builders import activity, donor, funding_rows, table_counts
from tests.test_properties import amount_of, db_settings, fresh

YEAR = 2020
FIRST, LAST = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)
FAR = "2030-12-31"
# a new rate every month, so that a signing converts at another rate than its announcement
UNITS = {"USD": lambda month: "1", "NOK": lambda month: f"{8 + month / 10:.2f}", "JPY": lambda month: str(100 + month)}
EARMARKS = [1, 2, 3, None]


def rate_micros(currency: str, day: dt.date) -> int:
    return int(Decimal(UNITS[currency](day.month)) * 1_000_000)


def prepare(ledger) -> None:
    """Monthly NOK and JPY rates of the year, a donor, an activity per paragraph 1-3 (once per ledger:
    hypothesis reuses the fixture, so the examples add their pledges to the same ledger)."""
    if ledger.__dict__.get("_life_prepared"):
        return
    from ledger import rates
    from ledger.inputs import RateIn
    from ledger.roles import Act

    with ledger.writing(Act.MANAGE_DONORS_RATES) as uow:
        for currency in ("NOK", "JPY"):
            for month in range(1, 13):
                rates.add_rate(uow, RateIn(currency=currency, effective_from=f"{YEAR}-{month:02d}-01",
                                           units_per_usd=UNITS[currency](month)))
    donor(ledger, "D1")
    for paragraph in (1, 2, 3):
        activity(ledger, f"A{paragraph}", paragraph, "1000000")
    ledger.__dict__["_life_prepared"] = True


# -- what the test expects: a model of each pledge's stage and of the acts not reversed ------------
@dataclass
class Promise:
    reference: str
    currency: str
    pledged_on: dt.date
    amounts: dict  # paragraph or None -> minor units promised
    stage: str  # announced, signed, withdrawn, reversed
    signed_on: dt.date | None = None
    pledge_id: int = 0

    def promised_usd(self) -> int:
        """What the donor promised, at the rate of the pledge's stage, per allocation rounded."""
        if self.stage not in (stages.ANNOUNCED, stages.SIGNED):
            return 0
        day = self.signed_on if self.stage == stages.SIGNED else self.pledged_on
        return sum(to_usd_cents(m, self.currency, rate_micros(self.currency, day)) for m in self.amounts.values())

    @property
    def promised_minor(self) -> int:
        return sum(self.amounts.values())


@dataclass
class Life:
    promises: list[Promise] = field(default_factory=list)
    acts: dict[int, tuple[str, Promise | None, int]] = field(default_factory=dict)  # entry -> (kind, pledge, refund USD)

    def posted(self, kind: str, promise: Promise | None, entry_id: int, usd: int = 0) -> None:
        self.acts[entry_id] = (kind, promise, usd)
        if kind == "sign":
            promise.stage = stages.SIGNED
        elif kind == "withdraw":
            promise.stage = stages.WITHDRAWN

    def reversed(self, entry_id: int) -> None:
        kind, promise, _usd = self.acts.pop(entry_id)
        if kind in ("sign", "withdraw"):
            promise.stage, promise.signed_on = stages.ANNOUNCED, None
        elif kind == "announce":
            promise.stage = "reversed"

    def live(self, kind: str, promise: Promise) -> list[int]:
        return [usd for k, p, usd in self.acts.values() if k == kind and p is promise]


# -- the figures ---------------------------------------------------------------------------------
PLEDGE_FIGURES = (figures.PLEDGED_USD, figures.ANNOUNCED_USD, figures.CANCELLED_USD, figures.REFUNDED_USD,
                  figures.REALLOCATED_USD, figures.OUTSTANDING, figures.RECEIVED, figures.CASH_USD)


def per_pledge(session, as_of: dt.date) -> dict[int, dict[str, int]]:
    """pledge id -> its figures as of the date (the sums of ledger/figures.py over its allocations)."""
    found: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys((f.name for f in PLEDGE_FIGURES), 0))
    for _aid, pledge_id, *values in figures.per_allocation(session, as_of, PLEDGE_FIGURES, Allocation.pledge_id):
        for figure, value in zip(PLEDGE_FIGURES, values, strict=True):
            found[pledge_id][figure.name] += int(value)
    return found


def per_allocation_now(ledger, pledge_id: int) -> dict:
    """paragraph or None -> (outstanding minor, cash USD) of the pledge's allocations, every entry counted."""
    with ledger.reading() as session:
        numbers = dict(session.execute(select(Paragraph.id, Paragraph.number)).all())
        rows = figures.per_allocation(session, dt.date.fromisoformat(FAR), (figures.OUTSTANDING, figures.CASH_USD),
                                      Allocation.pledge_id, Allocation.paragraph_id).all()
    return {numbers.get(paragraph_id): (int(owed), int(cash))
            for _aid, pid, paragraph_id, owed, cash in rows if pid == pledge_id}


def state(ledger, life: Life, day: dt.date) -> tuple:
    """Every figure an act changes: the funding report, each pledge's figures, the stages of the
    example's pledges, schedules in force, unpaid instalments and closings, as of the step's date and
    a far date."""
    with ledger.reading() as session:
        reader = Reader(session, ledger.actor)
        seen = (
            [stages.stage_of(reader, p.pledge_id) for p in life.promises if p.stage != "reversed"],
            instalments.schedules(session),
            sorted(session.execute(closed_pledges_statement()).scalars()),
        )
        for as_of in (day, dt.date.fromisoformat(FAR)):
            seen += ({pid: sums for pid, sums in per_pledge(session, as_of).items() if any(sums.values())},
                     [(i.pledge_id, i.position, i.unpaid_minor, i.unpaid_cents)
                      for i in instalments.unpaid_instalments(session, as_of, unscheduled=True)])
    return (*seen, {key: (r.pledged, r.announced, r.received, r.refunded, r.outstanding, r.disbursed, r.psc,
                          r.programmable) for key, r in funding_rows(ledger, FAR).items()})


# -- the invariants --------------------------------------------------------------------------------
def assert_balanced(ledger, first_entry: int) -> None:
    with ledger.reading() as session:
        lines = session.execute(select(JournalLine.entry_id, JournalLine.currency, JournalLine.amount_minor,
                                       JournalLine.usd_cents).where(JournalLine.entry_id >= first_entry)).all()
    by_entry: dict[int, list[dict]] = defaultdict(list)
    for entry_id, currency, amount, cents in lines:
        by_entry[entry_id].append({"currency": currency, "amount_minor": amount, "usd_cents": cents})
    for entry_id, entry_lines in by_entry.items():
        assert journal.imbalance(entry_lines) is None, entry_id


def assert_promised(ledger, life: Life, base: int, totals) -> None:
    """pledged + announced per pledge = promised at its stage's rate - cancelled - refunded, within a
    cent per reallocation not reversed; the funding report's totals move by the same."""
    with ledger.reading() as session:
        found = per_pledge(session, dt.date.fromisoformat(FAR))
        reader = Reader(session, ledger.actor)
        for promise in life.promises:
            if promise.stage != "reversed":
                stage = stages.stage_of(reader, promise.pledge_id)
                assert (stage.stage, stage.signed_on) == (promise.stage, promise.signed_on), promise.reference
    total = 0
    for promise in life.promises:
        got = found[promise.pledge_id]
        refunds, reallocations = life.live("refund", promise), len(life.live("reallocate", promise))
        assert got["refunded_usd"] == sum(refunds), promise.reference  # each refund: its amount at its date's rate
        moved = got["reallocated_usd"]
        assert abs(moved) <= reallocations, promise.reference
        pledged, announced = got["pledged_usd"], got["announced_usd"]
        if promise.stage == stages.SIGNED:
            assert announced == 0  # the memorandum lines are cleared
            assert pledged == promise.promised_usd() - got["cancelled_usd"] - sum(refunds) + moved, promise.reference
        else:  # announced: only the memorandum lines; withdrawn or reversed: nothing
            assert (pledged, announced, got["cancelled_usd"], moved) == (0, promise.promised_usd(), 0, 0), promise.reference
        total += pledged + announced
    assert totals.pledged + totals.announced - base == total


def assert_unpaid_parts_add_up(ledger, life: Life, day: dt.date, totals) -> None:
    with ledger.reading() as session:
        plans = instalments.schedules(session, [p.pledge_id for p in life.promises])
        for promise in life.promises:
            if promise.pledge_id in plans:
                assert sum(amount for _due, amount in plans[promise.pledge_id]) == promise.promised_minor
        for as_of in (day, dt.date.fromisoformat(FAR)):
            owed = {pid: sums["outstanding"] for pid, sums in per_pledge(session, as_of).items()}
            unpaid: dict[int, int] = defaultdict(int)
            cents = 0
            for part in instalments.unpaid_instalments(session, as_of, unscheduled=True):
                assert 0 < part.unpaid_minor <= part.amount_minor
                unpaid[part.pledge_id] += part.unpaid_minor
                cents += part.unpaid_cents
            assert {pid: v for pid, v in owed.items() if v} == dict(unpaid), as_of
        assert cents == totals.outstanding  # as of the far date: the ageing of every instalment is the report's


def assert_no_cash_below_zero(ledger) -> None:
    with ledger.reading() as session:
        rows = session.execute(
            select(JournalLine.allocation_id, JournalEntry.event_date, func.sum(JournalLine.usd_cents))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(JournalLine.account == journal.CASH)
            .group_by(JournalLine.allocation_id, JournalEntry.event_date)
            .order_by(JournalLine.allocation_id, JournalEntry.event_date)).all()
    balance: dict[int, int] = defaultdict(int)
    for allocation_id, day, cents in rows:
        balance[allocation_id] += int(cents)
        assert balance[allocation_id] >= 0, (allocation_id, day)


# -- the acts --------------------------------------------------------------------------------------
KINDS = ["announce", "sign", "sign", "withdraw", "schedule", "receipt", "receipt", "cancel", "reallocate", "refund",
         "refund", "disburse", "disburse-named", "close", "close", "reverse"]
steps = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.integers(-5, 40),  # days after the previous step (a few before it: acts posted out of date order)
        st.sampled_from([0, 0, 1]).flatmap(lambda whole: st.just(0) if whole == 0 else st.integers(1, 3_000_000)),  # minor units; 0: all there is (outstanding, cash)
        st.integers(0, 99),  # which pledge, allocation, activity or entry
        st.integers(0, 3),  # 0: reverse the act right after it
    ),
    min_size=1, max_size=8,
)
allocation_sets = st.dictionaries(st.sampled_from(EARMARKS), st.integers(1, 5_000_000), min_size=1, max_size=3)


def _earmarks(now: dict) -> list:
    """The pledge's allocations: paragraphs in order, unearmarked last (EARMARKS if it has none)."""
    return sorted(now, key=lambda p: (p is None, p or 0)) or EARMARKS


def _where(pick: int, now: dict) -> dict:
    """One of the pledge's allocations by name, or none (split over them) one time in three."""
    if pick % 3 == 2:
        return {}
    named = _earmarks(now)[pick // 3 % len(_earmarks(now))]
    return {"unearmarked": True} if named is None else {"paragraph": named}


def _in_currency(cents: int, currency: str, day: dt.date) -> int:
    """The most of the currency (minor units) worth at most ``cents`` USD on the day."""
    micros = rate_micros(currency, day)
    minor = cents * micros * 10 ** minor_digits(currency) // (100 * 1_000_000)
    while minor and to_usd_cents(minor, currency, micros) > cents:
        minor -= 1
    return minor


def _schedule(promise: Promise, day: dt.date, pick: int) -> list[dict]:
    """2 or 3 instalments adding up to the pledge, due from the day on."""
    count = min(2 + pick % 2, promise.promised_minor)
    weights = [1 + (pick // 3 + i) % 4 for i in range(count)]
    total, parts = promise.promised_minor, []
    for weight in weights[:-1]:
        parts.append(max(1, total * weight // sum(weights)))
    parts.append(total - sum(parts))
    due = max(day, promise.pledged_on)
    plan = []
    for i, part in enumerate(parts):
        plan.append({"due_on": due + dt.timedelta(days=30 + 60 * i + pick % 7), "amount": from_minor(part, promise.currency)})
    return plan


def act(ledger, life: Life, kind: str, day: dt.date, minor: int, pick: int):
    """Post one act; (kind, pledge, entry id, refund USD), or None when there is nothing to do."""
    promise = life.promises[pick % len(life.promises)]
    reference, currency = promise.reference, promise.currency
    if kind == "announce":
        if len(life.promises) >= 3:
            return None
        promise = Promise(fresh("L"), ["USD", "NOK", "JPY"][pick % 3], day,
                          {EARMARKS[pick % 4]: minor or 1, EARMARKS[(pick + 1) % 4]: 1 + pick * 1000}, stages.ANNOUNCED)
        posted = services.record_pledge(ledger, PledgeIn(
            reference=promise.reference, donor="D1", pledged_on=day, currency=promise.currency, stage="announced",
            allocations=[{"paragraph": p, "amount": amount_of(m, promise.currency)} for p, m in promise.amounts.items()]))
        with ledger.reading() as session:
            promise.pledge_id = session.execute(select(Pledge.id).where(Pledge.reference == promise.reference)).scalar_one()
        life.promises.append(promise)
        return kind, promise, posted.entry_id, 0
    now = per_allocation_now(ledger, promise.pledge_id)
    where = _where(pick, now)
    named = None if "unearmarked" in where else where.get("paragraph")
    if kind == "sign":
        posted = services.sign_pledge(ledger, SigningIn(pledge=reference, signed_on=day))
        promise.signed_on = day
    elif kind == "withdraw":
        posted = services.withdraw_pledge(ledger, WithdrawalIn(pledge=reference, withdrawn_on=day, reason="plans changed"))
    elif kind == "schedule":
        posted = services.schedule_pledge(ledger, ScheduleIn(pledge=reference, reason="re-planned with the donor",
                                                             instalments=_schedule(promise, day, pick)))
        if posted is None:  # the same schedule again: skipped
            return None
    elif kind == "receipt":
        whole = sum(owed for owed, _cash in now.values())
        posted = services.record_receipt(ledger, ReceiptIn(reference=fresh("R"), pledge=reference, received_on=day,
                                                           amount=amount_of(minor or max(whole, 1), currency)))
    elif kind == "cancel":
        whole = now.get(named, (0, 0))[0] if where else sum(owed for owed, _cash in now.values())
        posted = services.cancel_pledge(ledger, CancellationIn(pledge=reference, cancelled_on=day, reason="off",
                                                               amount=amount_of(minor // 4 + 1 if minor else max(whole, 1),
                                                                                currency), **where))
    elif kind == "reallocate":
        source = _earmarks(now)[pick % len(_earmarks(now))]
        target = [e for e in EARMARKS if e != source][pick // 4 % 3]
        whole = now.get(source, (0, 0))[0]
        posted = services.reallocate(ledger, ReallocationIn(
            pledge=reference, source="unearmarked" if source is None else source,
            target="unearmarked" if target is None else target, amount=amount_of(minor or max(whole, 1), currency),
            reallocated_on=day, consent="the donor's letter"))
    elif kind == "refund":
        cash = now.get(named, (0, 0))[1] if where else sum(cash for _owed, cash in now.values())
        refunded = minor // 4 + 1 if minor else max(_in_currency(cash, currency, day), 1)
        posted = services.refund(ledger, RefundIn(pledge=reference, amount=amount_of(refunded, currency),
                                                  refunded_on=day, reason="unspent", **where))
        return kind, promise, posted.entry_id, to_usd_cents(refunded, currency, rate_micros(currency, day))
    elif kind in ("disburse", "disburse-named"):
        cash = sum(cash for _owed, cash in now.values())
        paragraph = ([p for p in _earmarks(now) if p is not None] or [1, 2, 3])[pick % 3 % max(1, len(now) - (None in now))]
        cents = minor // 10 + 1 if minor else max(cash * 100 // 113, 1)
        posted = services.disburse(ledger, DisbursementIn(
            reference=fresh("D"), activity=f"A{paragraph}", disbursed_on=day, amount=amount_of(cents, "USD"),
            pledge=reference if kind == "disburse-named" else None))
        promise = None
    else:
        posted = services.close_pledge(ledger, PledgeCloseIn(pledge=reference, closed_on=day))
    return kind, promise, posted.entry_id, 0


def reverse(ledger, entry_id: int, day: dt.date):
    """A re-plan is dated the day it is recorded (today): its reversal too; any other act on the step's date."""
    with ledger.reading() as session:
        kind = session.execute(select(JournalEntry.kind).where(JournalEntry.id == entry_id)).scalar_one()
    on = None if kind == journal.SCHEDULE else day
    return services.reverse(ledger, ReversalIn(entry_id=entry_id, reason="entered in error", reversed_on=on))


@settings(db_settings(15), phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])  # no explain: slow here
# one life to the end, whatever hypothesis draws: received in full, spent from it by name, the rest
# refunded, closed, the closing reversed later, re-planned and closed again (reversed right after)
@example(currency="USD", allocations={1: 1_000_000}, start=10, announced=False,
         plan=[("receipt", 1, 0, 0, 1), ("disburse-named", 1, 100_000, 0, 1), ("refund", 1, 0, 2, 1),
               ("close", 1, 0, 0, 1), ("reverse", 1, 0, 4, 1), ("schedule", 0, 0, 0, 1), ("close", 1, 0, 0, 0)])
@given(currency=st.sampled_from(["USD", "NOK", "JPY"]), allocations=allocation_sets, start=st.integers(0, 90),
       announced=st.sampled_from([False, False, True]), plan=steps)
def test_any_life_of_a_contribution_keeps_the_ledger_whole(ledger, currency, allocations, start, announced, plan):
    prepare(ledger)
    totals = funding_rows(ledger, FAR)["totals"]
    base = totals.pledged + totals.announced
    day = FIRST + dt.timedelta(days=start)
    promise = Promise(fresh("L"), currency, day, allocations, stages.ANNOUNCED if announced else stages.SIGNED,
                      None if announced else day)
    posted = services.record_pledge(ledger, PledgeIn(
        reference=promise.reference, donor="D1", pledged_on=day, currency=currency, stage=promise.stage,
        allocations=[{"paragraph": p, "amount": amount_of(m, currency)} for p, m in allocations.items()]))
    with ledger.reading() as session:
        promise.pledge_id = session.execute(select(Pledge.id).where(Pledge.reference == promise.reference)).scalar_one()
    life = Life([promise], {posted.entry_id: ("announce", promise, 0)})
    first_entry = posted.entry_id
    for kind, gap, minor, pick, undo in plan:
        day = min(max(day + dt.timedelta(days=gap), FIRST), LAST)
        before = state(ledger, life, day) if undo == 0 else None
        counts, done = table_counts(ledger), None
        try:
            if kind == "reverse" and life.acts:
                entry_id = sorted(life.acts)[pick % len(life.acts)]
                reverse(ledger, entry_id, day)
                life.reversed(entry_id)
                event("reversed later")
            elif kind != "reverse":
                done = act(ledger, life, kind, day, minor, pick)
        except LedgerError:
            assert table_counts(ledger) == counts, kind  # a refusal writes nothing
            event(f"{kind} refused")
            continue
        if done is not None:
            event(f"{kind} posted")
            kind, promise, entry_id, usd = done
            life.posted(kind, promise, entry_id, usd)
            if before is not None:
                reverse(ledger, entry_id, day)  # never refused right after the act
                life.reversed(entry_id)
                event(f"{kind} reversed right after")
                if kind == "announce":
                    life.promises.remove(promise)
                assert state(ledger, life, day) == before, kind
        totals = funding_rows(ledger, FAR)["totals"]
        assert_balanced(ledger, first_entry)
        assert_promised(ledger, life, base, totals)
        assert_unpaid_parts_add_up(ledger, life, day, totals)
        assert_no_cash_below_zero(ledger)
    assert services.verify_chain(ledger).ok
