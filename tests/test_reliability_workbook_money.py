"""Money round trips through the audit workbook, exactly, up to the documented maximum.

Hypothesis draws pledges in JPY (0 decimals), USD (2) and KWD (3) from one minor unit up to
10^12 major units (and USD 10^12 in value), with a receipt of part of each; the ledger is
exported and read back with openpyxl: a number cell as ``Decimal(str(value))``, a text cell
(an amount beyond the 15 significant digits a spreadsheet number holds) as ``Decimal(text)``.
Every allocated, received and outstanding amount, and every USD value, must come back equal
to what was entered and stored. (The round trip through each database is
tests/test_properties.py::test_money_round_trips_exactly.)
"""

from __future__ import annotations

import shutil
import uuid
from decimal import Decimal

import openpyxl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger.database import Ledger
from ledger.money import MAX_MAJOR_UNITS, MoneyError, from_minor, minor_digits, to_usd_cents
from reports.workbook import export_workbook
from tests import builders as b

RATES = {"JPY": ["80", "0.5"], "KWD": ["0.302", "1"], "USD": ["1"]}  # units per USD


@st.composite
def pledges(draw):
    """[(currency, units per USD, amount minor, received minor)], each worth at most USD 10^12."""
    count = draw(st.integers(1, 4))
    drawn = []
    for _ in range(count):
        currency = draw(st.sampled_from(["JPY", "USD", "KWD"]))
        units = draw(st.sampled_from(RATES[currency]))
        scale = 10 ** minor_digits(currency)
        # at most 10^12 major units, and at most USD 10^12 in value
        biggest = min(MAX_MAJOR_UNITS, int(Decimal(units) * MAX_MAJOR_UNITS)) * scale
        amount = draw(st.one_of(st.integers(1, biggest), st.integers(biggest - 10**4, biggest), st.just(biggest),
                                st.integers(1, 10**6)))
        received = draw(st.one_of(st.just(0), st.just(amount), st.integers(1, amount)))
        drawn.append((currency, units, amount, received))
    return drawn


def number(cell_value) -> Decimal:
    if isinstance(cell_value, str):
        return Decimal(cell_value)
    return Decimal(str(cell_value))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(drawn=pledges())
@example(drawn=[("USD", "1", 10**14, 10**14 - 1)])  # USD 10^12.00: 15 digits, still a number
@example(drawn=[("KWD", "1", 10**15, 1)])  # KWD 10^12.000: 16 digits, written as text
@example(drawn=[("JPY", "0.5", 5 * 10**11, 333_333_333_333), ("KWD", "0.302", 302 * 10**12, 1)])
@example(drawn=[("USD", "1", 1, 1), ("JPY", "80", 1, 0), ("KWD", "0.302", 1, 1)])
@example(drawn=[("USD", "1", 30, 10), ("USD", "1", 99_999_999_999_999, 12_345_678_901_234)])  # 0.30, 0.10
def test_money_round_trips_exactly_through_the_workbook(drawn, sqlite_template, tmp_path_factory):
    folder = tmp_path_factory.mktemp("money")
    path = folder / "ledger.db"
    shutil.copy(sqlite_template, path)
    ledger = Ledger(f"sqlite:///{path}", user="officer")
    units_of = {}
    expected = {}
    b.donor(ledger, "D", "Donor")
    for n, (currency, units, amount, received) in enumerate(drawn):
        if currency != "USD" and currency not in units_of:
            b.rate(ledger, currency, "2012-01-01", units, through="2012-02")
            units_of[currency] = units
        units = units_of.get(currency, "1")  # the first rate drawn for a currency is the one in force
        try:
            usd = to_usd_cents(amount, currency, int(Decimal(units) * 10**6))
        except MoneyError:  # worth more than USD 10^12 at the rate in force: refused, by design
            continue
        reference = f"P{n}-{uuid.uuid4().hex[:6]}"
        b.pledge(ledger, reference, "D", "2012-01-01", currency, {1 + n % 7: str(from_minor(amount, currency))})
        if received:
            b.receipt(ledger, f"R{n}", reference, "2012-02-01", str(from_minor(received, currency)))
        # received at the pledge's own rate: the carrying value it clears (no exchange difference)
        received_usd = usd - to_usd_cents(amount - received, currency, int(Decimal(units) * 10**6))
        expected[reference] = {
            "Allocated": from_minor(amount, currency), "Received": from_minor(received, currency),
            "Outstanding": from_minor(amount - received, currency), "Pledged USD (stage rate)": from_minor(usd, "USD"),
            "Received USD": from_minor(received_usd, "USD"), "receipt": (from_minor(received, currency),
                                                                           from_minor(received_usd, "USD")),
        }
    target = folder / "audit.xlsx"
    export_workbook(ledger, target)
    ledger.close()

    book = openpyxl.load_workbook(target, read_only=True)
    rows = list(book["Pledges"].iter_rows(values_only=True))
    header = list(rows[0])
    seen = {}
    for row in rows[1:]:
        if row[0] in expected:
            seen[row[0]] = {key: number(row[header.index(key)]) for key in expected[row[0]] if key != "receipt"}
    assert set(seen) == set(expected)
    for reference, values in expected.items():
        for key, value in values.items():
            if key != "receipt":
                assert seen[reference][key] == value, (reference, key, seen[reference][key], value)
    receipts = list(book["Receipts"].iter_rows(values_only=True))
    r_header = list(receipts[0])
    by_pledge = {row[r_header.index("Pledge")]: row for row in receipts[1:] if row[0]}
    for reference, values in expected.items():
        amount, usd = values["receipt"]
        if amount:
            row = by_pledge[reference]
            assert (number(row[r_header.index("Amount")]), number(row[r_header.index("USD")])) == (amount, usd)
    book.close()
