"""Property tests (hypothesis): the invariants of the ledger, on both databases, and of money.py."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ledger import journal, services
from ledger.errors import InputProblems, LedgerError
from ledger.inputs import (
    AllocationIn,
    CancellationIn,
    DisbursementIn,
    PledgeIn,
    ReceiptIn,
    ReversalIn,
    checked_allocations,
)
from ledger.money import (
    MAX_MAJOR_UNITS,
    MAX_USD_CENTS,
    MoneyError,
    from_minor,
    largest_remainder,
    minor_digits,
    parse_money,
    round_half_up_div,
    to_usd_cents,
)
from ledger.pledges import stored_pledge
from ledger.schema import Disbursement, JournalLine, Pledge, Receipt
from ledger.unit_of_work import Reader
from tests.builders import activity, donor, funding_rows, rate, table_counts


def db_settings(max_examples: int) -> settings:
    return settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=max_examples)
RATES = {"EUR": "0.91", "JPY": "110.5", "KWD": "0.302"}
START = dt.date(2020, 1, 1)
_serial = itertools.count()


def fresh(prefix: str) -> str:
    """A reference never used before in this test session (examples share one ledger)."""
    return f"{prefix}{next(_serial)}"


def prepare(ledger) -> None:
    """Rates, donors and activities, once per ledger (hypothesis reuses the fixture)."""
    if ledger.__dict__.get("_prepared"):
        return
    for currency, units in RATES.items():
        rate(ledger, currency, "2019-01-01", units, through="2020-12")  # a rate of every month
    donor(ledger, "D1")
    donor(ledger, "D2")
    for paragraph in (1, 2, 3):
        activity(ledger, f"A{paragraph}", paragraph, "1000000")
    ledger.__dict__["_prepared"] = True


def amount_of(minor: int, currency: str) -> str:
    return str(from_minor(minor, currency))


# -- random sequences of money events ----------------------------------------------------------

currencies = st.sampled_from(["USD", "EUR", "JPY", "KWD"])
allocation_sets = st.dictionaries(st.sampled_from([1, 2, 3, None]), st.integers(1, 5_000_000), min_size=1, max_size=3)
operations = st.lists(
    st.tuples(
        st.sampled_from(["receipt", "receipt", "disburse", "disburse", "cancel", "reverse"]),
        st.integers(0, 60),  # days after the pledge
        st.integers(1, 3_000_000),  # minor units
        st.integers(0, 99),  # which activity / entry / allocation
    ),
    min_size=1, max_size=10,
)


def apply(ledger, operation, pledge_ref: str, currency: str, pledged_on: dt.date, posted: list[int]) -> None:
    kind, days, minor, pick = operation
    on = pledged_on + dt.timedelta(days=days)
    try:
        if kind == "receipt":
            data = ReceiptIn(reference=fresh("R"), pledge=pledge_ref, received_on=on, amount=amount_of(minor, currency))
            posted.append(services.record_receipt(ledger, data).entry_id)
        elif kind == "disburse":
            in_usd = pick % 2 == 0
            data = DisbursementIn(reference=fresh("D"), activity=f"A{pick % 3 + 1}", disbursed_on=on,
                                  currency="USD" if in_usd else "EUR", amount=amount_of(minor // 10 + 1, "USD"))
            posted.append(services.disburse(ledger, data).entry_id)
        elif kind == "cancel":
            data = CancellationIn(pledge=pledge_ref, cancelled_on=on, amount=amount_of(minor // 4 + 1, currency),
                                  reason="written off", paragraph=None)
            posted.append(services.cancel_pledge(ledger, data).entry_id)
        elif posted:
            target = posted[pick % len(posted)]
            posted.append(services.reverse(ledger, ReversalIn(entry_id=target, reason="error", reversed_on=on)).entry_id)
    except LedgerError:
        pass


def assert_invariants(ledger) -> None:
    with ledger.reading() as session:
        lines = session.execute(select(JournalLine).order_by(JournalLine.entry_id, JournalLine.line_no)).scalars().all()
        by_entry: dict[int, list[dict]] = defaultdict(list)
        for line in lines:
            by_entry[line.entry_id].append({c: getattr(line, c) for c in ("currency", "amount_minor", "usd_cents")})
        # every posted entry balances, in USD and per currency
        for entry_id, entry_lines in by_entry.items():
            assert journal.imbalance(entry_lines) is None, entry_id
        # the splits of a receipt add up to the whole, in its currency and in USD
        for r in session.execute(select(Receipt)).scalars():
            cash = [x for x in lines if x.entry_id == r.entry_id and x.account == journal.CASH]
            assert sum(x.amount_minor for x in cash) == r.amount_minor
            assert sum(x.usd_cents for x in cash) == r.usd_cents
        # the funding splits of a disbursement add up to the whole, in its currency and in USD
        for d in session.execute(select(Disbursement)).scalars():
            spend = [x for x in lines if x.entry_id == d.entry_id and x.account == journal.EXPENDITURE]
            assert sum(x.amount_minor for x in spend) == d.amount_minor
            assert sum(x.usd_cents for x in spend) == d.usd_cents
            assert {x.currency for x in spend} == {d.currency}
    assert services.verify_chain(ledger).ok
    for as_of in ("2020-01-31", "2020-06-30", "2030-12-31"):
        rows = funding_rows(ledger, as_of)
        paragraphs = [row for key, row in rows.items() if key != "totals"]
        assert sum(r.disbursed for r in paragraphs) == sum(r.spent_on_activities for r in paragraphs)
        assert rows["totals"].disbursed == rows["totals"].spent_on_activities


@db_settings(12)
@given(currency=currencies, allocations=allocation_sets, start=st.integers(0, 100), ops=operations)
def test_every_entry_balances_and_splits_add_up(ledger, currency, allocations, start, ops):
    prepare(ledger)
    reference = fresh("P")
    pledged_on = START + dt.timedelta(days=start)
    data = PledgeIn(reference=reference, donor="D1", pledged_on=pledged_on, currency=currency,
                    allocations=[{"paragraph": p, "amount": amount_of(m, currency)} for p, m in allocations.items()])
    posted = [services.record_pledge(ledger, data).entry_id]
    for operation in ops:
        apply(ledger, operation, reference, currency, pledged_on, posted)
    assert_invariants(ledger)


# -- exact storage -----------------------------------------------------------------------------


def posted_state(ledger) -> tuple:
    """Every journal line and posted row's USD, and the funding figures that posted events make."""
    with ledger.reading() as session:
        lines = session.execute(select(JournalLine.entry_id, JournalLine.line_no, JournalLine.usd_cents)
                                .order_by(JournalLine.entry_id, JournalLine.line_no)).all()
        rows = [session.execute(select(model.id, model.usd_cents, model.rate_micros).order_by(model.id)).all()
                for model in (Receipt, Disbursement)]
    figures = {key: (row.pledged, row.received, row.disbursed, row.psc)
               for key, row in funding_rows(ledger, "2020-12-31").items()}
    return lines, rows, figures


@db_settings(8)
@given(ops=operations, month=st.integers(1, 12), day=st.integers(2, 28), units=st.integers(50, 150))
def test_a_rate_recorded_later_changes_no_posted_figure(ledger, ops, month, day, units):
    """A correction of a month's EUR rate, and a new mid-month rate, recorded after the events:
    no journal line, no stored USD or rate and no posted figure moves; the chain still verifies."""
    from ledger.inputs import RateIn

    prepare(ledger)
    reference = fresh("P")
    pledged_on = dt.date(2020, 3, 1)
    data = PledgeIn(reference=reference, donor="D1", pledged_on=pledged_on, currency="EUR",
                    allocations=[{"paragraph": 1, "amount": "10000.00"}, {"paragraph": None, "amount": "5000.00"}])
    posted = [services.record_pledge(ledger, data).entry_id]
    for operation in ops:
        apply(ledger, operation, reference, "EUR", pledged_on, posted)
    before = posted_state(ledger)
    value = str(Decimal(units) / 100)
    services.add_rate(ledger, RateIn(currency="EUR", effective_from=f"2020-{month:02d}-01", units_per_usd=value,
                                     reason="corrected after posting"))
    services.add_rate(ledger, RateIn(currency="EUR", effective_from=f"2020-{month:02d}-{day:02d}", units_per_usd=value,
                                     reason="corrected after posting"))
    assert posted_state(ledger) == before
    assert services.verify_chain(ledger).ok



@db_settings(20)
@given(currency=st.sampled_from(["JPY", "USD", "KWD"]), data=st.data())
def test_money_round_trips_exactly(ledger, currency, data):
    prepare(ledger)
    biggest = MAX_MAJOR_UNITS * 10 ** minor_digits(currency)
    minors = data.draw(st.lists(st.one_of(st.integers(1, biggest), st.just(biggest), st.integers(biggest - 1000, biggest)),
                                min_size=1, max_size=2))
    paragraphs = [4, None][: len(minors)]
    reference = fresh("P")
    amounts = [from_minor(m, currency) for m in minors]
    services.record_pledge(ledger, PledgeIn(
        reference=reference, donor="D2", pledged_on="2020-05-05", currency=currency,
        allocations=[{"paragraph": p, "amount": a} for p, a in zip(paragraphs, amounts, strict=True)]))
    with ledger.reading() as session:
        stored = stored_pledge(Reader(session, ledger.actor), reference)
        receivable = session.execute(
            select(JournalLine.amount_minor, JournalLine.usd_cents).where(JournalLine.account == journal.RECEIVABLE)
            .order_by(JournalLine.entry_id.desc(), JournalLine.line_no).limit(len(minors))
        ).all()
    assert [a.amount for a in stored.allocations] == amounts
    assert all(str(a.amount) == str(b) for a, b in zip(stored.allocations, amounts, strict=True))
    units = RATES.get(currency, "1")
    expected_usd = [to_usd_cents(m, currency, int(Decimal(units) * 10**6)) for m in minors]
    assert sorted(receivable) == sorted(zip(minors, expected_usd, strict=True))


# -- receipts never exceed a pledge --------------------------------------------------------------


@db_settings(12)
@given(pledged=st.integers(1, 10**9), attempts=st.lists(st.integers(1, 10**9), min_size=1, max_size=6),
       currency=currencies)
def test_receipts_never_exceed_the_pledge(ledger, pledged, attempts, currency):
    prepare(ledger)
    reference = fresh("P")
    services.record_pledge(ledger, PledgeIn(
        reference=reference, donor="D1", pledged_on="2020-03-01", currency=currency,
        allocations=[{"paragraph": 1, "amount": amount_of(pledged - pledged // 3, currency)},
                     {"paragraph": None, "amount": amount_of(pledged // 3, currency)}]
        if pledged >= 3 else [{"paragraph": 1, "amount": amount_of(pledged, currency)}]))
    accepted = 0
    for minor in attempts:
        before = table_counts(ledger)
        try:
            services.record_receipt(ledger, ReceiptIn(reference=fresh("R"), pledge=reference, received_on="2020-03-02",
                                                      amount=amount_of(minor, currency)))
        except LedgerError as refusal:
            assert minor > pledged - accepted
            assert "exceeds the" in str(refusal)
            assert table_counts(ledger) == before
        else:
            accepted += minor
        assert accepted <= pledged
    with ledger.reading() as session:
        stored = session.execute(select(func.sum(Receipt.amount_minor)).join(Pledge, Pledge.id == Receipt.pledge_id)
                                 .where(Pledge.reference == reference)).scalar()
    assert (stored or 0) == accepted <= pledged


# -- money.py ----------------------------------------------------------------------------------


@given(total=st.integers(-10**15, 10**15),
       weights=st.lists(st.integers(0, 10**12), min_size=1, max_size=8).filter(lambda w: sum(w) > 0))
def test_largest_remainder_sums_to_total_and_stays_within_one_of_exact(total, weights):
    shares = largest_remainder(total, weights)
    assert sum(shares) == total
    whole = sum(weights)
    for share, weight in zip(shares, weights, strict=True):
        exact = Fraction(total * weight, whole)
        assert abs(share - exact) < 1
        if weight == 0:
            assert share == 0


@given(total=st.integers(0, 10**6), weights=st.lists(st.integers(1, 100), min_size=2, max_size=5))
def test_largest_remainder_gives_ties_to_the_first(total, weights):
    equal = [weights[0]] * len(weights)
    shares = largest_remainder(total, equal)
    assert shares == sorted(shares, reverse=True)


@given(numerator=st.integers(-10**20, 10**20), denominator=st.integers(-10**12, 10**12).filter(bool))
def test_round_half_up_div_matches_fraction(numerator, denominator):
    exact = Fraction(numerator, denominator)
    magnitude = abs(exact)
    rounded = int(magnitude) + (1 if magnitude - int(magnitude) >= Fraction(1, 2) else 0)
    assert round_half_up_div(numerator, denominator) == (rounded if exact >= 0 else -rounded)


@given(currency=st.sampled_from(["USD", "EUR", "JPY", "KWD", "BHD", "CLF"]),
       minor=st.integers(-10**16, 10**16), rate_micros=st.integers(1, 10**12))
def test_to_usd_cents_matches_decimal_round_half_up(currency, minor, rate_micros):
    with localcontext() as context:
        context.prec = 80
        amount = Decimal(minor).scaleb(-minor_digits(currency))
        usd = amount / (Decimal(rate_micros).scaleb(-6))
        expected = int(usd.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).scaleb(2))
    if abs(expected) > MAX_USD_CENTS:  # worth more than USD 10^14: refused, never wrapped or rounded
        with pytest.raises(MoneyError, match="worth more than USD 10"):
            to_usd_cents(minor, currency, rate_micros)
        return
    assert to_usd_cents(minor, currency, rate_micros) == expected


@pytest.mark.parametrize("minor,units,cents", [(5, "1", 5), (1, "3", 0), (2, "4", 1), (-2, "4", -1), (1000125, "0.302", 331167)])
def test_to_usd_cents_examples(minor, units, cents):
    currency = "KWD" if minor == 1000125 else "USD"
    assert to_usd_cents(minor, currency, int(Decimal(units) * 10**6)) == cents


@given(currency=st.sampled_from(["USD", "JPY", "KWD", "EUR"]),
       amounts=st.lists(st.builds(lambda n, e: Decimal(n).scaleb(-e),  # as written: 5, 5.0, 5.00, 5.000 ...
                                  st.one_of(st.integers(-10, 10**4), st.integers(10**15, 10**17)),
                                  st.integers(0, 4)), min_size=1, max_size=3),
       paragraphs=st.lists(st.one_of(st.none(), st.integers(1, 3)), min_size=3, max_size=3))
def test_a_pledge_checked_as_a_whole_matches_its_amounts_one_by_one(currency, amounts, paragraphs):
    """checked_allocations (which keeps an amount already written with the currency's decimals
    as it is) agrees with parse_money on every amount: the same accepted values, written the
    same way, and a refusal exactly when parse_money refuses one or a paragraph repeats."""
    allocations = [AllocationIn(paragraph=p, amount=a) for p, a in zip(paragraphs, amounts, strict=False)]
    expected, located = [], set()  # located: the fields of the problems, one per faulty allocation
    for i, allocation in enumerate(allocations):
        if allocation.paragraph in [a.paragraph for a in allocations[:i]]:
            located.add(f"allocations.{i}.paragraph")
        try:
            expected.append((allocation.paragraph, str(parse_money(allocation.amount, currency))))
        except MoneyError:
            located.add(f"allocations.{i}.amount")
    if located:
        with pytest.raises(InputProblems) as refused:
            checked_allocations(allocations, currency)
        assert {p.field for p in refused.value.problems} == located
        return
    got = [(a.paragraph, str(a.amount)) for a in checked_allocations(allocations, currency)]
    assert got == sorted(expected, key=lambda pa: (pa[0] is None, pa[0] or 0))


json_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", '"', "\\", "\x00\x1f\x7f", "\u2028\u2029", "\ufeff", "é€😀", "a\nb\tc\r\x0b\x0c\x08"])
json_int = st.one_of(st.integers(-10**16, 10**16), st.integers(-2**63, 2**63 - 1), st.integers(-10**30, 10**30),
                     st.none())


@given(texts=st.lists(json_text, min_size=7, max_size=7), numbers=st.lists(json_int, min_size=14, max_size=14),
       lines=st.integers(0, 4))
def test_the_canonical_form_is_compact_json_whatever_the_text(texts, numbers, lines):
    """journal.canonical (orjson, with the json module for what orjson refuses) writes exactly
    the bytes of its definition: json.dumps(separators=(',', ':'), ensure_ascii=False) in UTF-8."""
    entry = {"id": numbers[0], "kind": texts[0], "event_date": dt.date(2016, 2, 29),
             "posted_at": dt.datetime(2016, 3, 1, 9, 30, 0, 7), "user_name": texts[1], "reference": texts[2],
             "memo": texts[3], "reverses_id": numbers[1], "prev_hash": texts[4]}
    body = [dict(zip(journal.LINE_COLUMNS, [n, texts[5], texts[6], "USD", *numbers[2:10]], strict=True))
            for n in range(1, lines + 1)]
    head = [entry[c] for c in journal.ENTRY_COLUMNS]
    head[2], head[3] = "2016-02-29", "2016-03-01T09:30:00.000007"
    definition = json.dumps([head, [[line[c] for c in journal.LINE_COLUMNS] for line in body]],
                            separators=(",", ":"), ensure_ascii=False).encode()
    assert journal.canonical(entry, body) == definition


@given(day=st.dates(), moment=st.datetimes())
def test_fast_sqlite_date_binding_writes_what_sqlalchemy_writes(day, moment):
    from sqlalchemy import Date, DateTime
    from sqlalchemy.dialects import sqlite

    from ledger.unit_of_work import fast_bind_processor

    dialect = sqlite.dialect()
    for column_type, value in ((Date(), day), (DateTime(), moment), (DateTime(), day)):
        own = column_type.dialect_impl(dialect).bind_processor(dialect)
        assert fast_bind_processor(column_type, dialect)(value) == own(value)


budget_spans = st.lists(
    st.tuples(st.integers(0, 10**14), st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31)), st.integers(0, 4000)),
    min_size=1, max_size=8,
)


@given(spans=budget_spans)
def test_yearly_budgets_keep_every_cent_within_each_period(spans):
    """IATI budgets per calendar year: every activity budget is spread over exactly the years of its
    period, pro rata to its days there (each share within one cent of exact), and nothing is lost."""
    from reports.iati import yearly_budgets

    periods = [(cents, start, start + dt.timedelta(days=length)) for cents, start, length in spans]
    totals = yearly_budgets(periods)
    assert sum(totals.values()) == sum(cents for cents, _, _ in periods)
    assert set(totals) <= {y for _, start, end in periods for y in range(start.year, end.year + 1)}
    assert all(value >= 0 for value in totals.values())
    cents, start, end = periods[0]
    alone = yearly_budgets([periods[0]])
    whole = (end - start).days + 1
    for year, share in alone.items():
        days = (min(end, dt.date(year, 12, 31)) - max(start, dt.date(year, 1, 1))).days + 1
        assert abs(Fraction(share) - Fraction(cents * days, whole)) < 1
