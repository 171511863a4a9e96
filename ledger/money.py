"""Money: exact amounts in ISO 4217 currencies, stored as integer minor units.

Every amount is a :class:`decimal.Decimal` beside its currency code. Storage is an
``int`` of minor units (cents for USD, yen for JPY, fils for KWD). Rounding is
ROUND_HALF_UP computed on exact integers, never on a rounded intermediate.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cache

from iso4217 import Currency

from .errors import LedgerError

REPORTING_CURRENCY = "USD"
MAX_MAJOR_UNITS = 10**12  # docs/rules.md#money: any one amount is at most 10^12 major units
# A USD value may exceed 10^12 (10^12 KWD is USD 3.3 x 10^12) but stays far inside 64 bits
MAX_USD_CENTS = 10**16
RATE_DECIMALS = 6  # units_per_usd carries at most 6 decimals
RATE_SCALE = 10**RATE_DECIMALS


class MoneyError(LedgerError, ValueError):
    """An amount, currency or rate that the ledger refuses (a ValueError for pydantic)."""


@cache
def minor_digits(currency: str) -> int:
    """ISO 4217 minor units of an active currency code, e.g. USD 2, JPY 0, KWD 3."""
    try:
        exponent = Currency(currency).exponent
    except ValueError:
        exponent = None
    if exponent is None:
        expected = "a 3-letter ISO 4217 currency code such as USD, EUR, JPY"
        if len(currency) == 3 and currency.isascii() and currency.isalpha():
            raise MoneyError(f"unknown currency code {currency!r}: expected {expected}")
        raise MoneyError(f"{currency!r} is not {expected}")
    return exponent


def currency_codes() -> list[str]:
    """Every ISO 4217 currency with minor units (for drop-downs)."""
    return sorted(c.code for c in Currency if c.exponent is not None)


def round_half_up_div(numerator: int, denominator: int) -> int:
    """``round_half_up(numerator / denominator)`` to an integer, exactly, for any signs."""
    if denominator == 0:
        raise ZeroDivisionError("division by zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    sign = -1 if numerator < 0 else 1
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return sign * q


def to_minor(amount: Decimal, currency: str) -> int:
    """Exact integer minor units of a Decimal; refuses more decimals than the currency has."""
    digits = minor_digits(currency)
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} has more decimals than {currency} allows ({digits})")
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    """The Decimal of integer minor units, with exactly the currency's decimals."""
    digits = minor_digits(currency)
    return Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def format_amount(minor: int, currency: str, thousands: bool = True) -> str:
    value = from_minor(minor, currency)
    text = f"{value:,}" if thousands else f"{value}"
    return "0" + text[2:] if text.startswith("-0") and value == 0 else text


_PLAIN = re.compile(r"^[+-]?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?$", re.ASCII)  # ASCII digits only


def parse_decimal(value: object, field: str = "amount") -> Decimal:
    """A Decimal from user input: text ``1234567.89`` or ``1,234,567.89``, an int, a Decimal,
    or a spreadsheet float (rounded to the 15 significant digits a spreadsheet shows).

    ``1.234,56``-style text, exponents, NaN and infinities are refused.
    """
    if isinstance(value, bool):
        raise MoneyError(f"{field}: expected a number, got {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise MoneyError(f"{field}: not a finite number")
        result = Decimal(format(value, ".15g"))  # what the spreadsheet shows
    elif isinstance(value, str):
        text = value.strip()
        if not _PLAIN.match(text):
            raise MoneyError(
                f"{field}: {value!r} is not an amount; expected digits with '.' for decimals "
                "and optional ',' thousands separators, e.g. 1234567.89 or 1,234,567.89"
            )
        result = Decimal(text.replace(",", ""))
    else:
        raise MoneyError(f"{field}: expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise MoneyError(f"{field}: not a finite number")
    return result


def parse_money(value: object, currency: str, field: str = "amount", allow_zero: bool = False) -> Decimal:
    """A positive amount in ``currency`` with no more decimals than it has, at most 10^12."""
    amount = parse_decimal(value, field)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise MoneyError(f"{field}: must be {'zero or more' if allow_zero else 'greater than zero'}, got {amount}")
    if amount > MAX_MAJOR_UNITS:
        raise MoneyError(f"{field}: {amount} exceeds the maximum of 10^12 {currency}")
    try:
        minor = to_minor(amount, currency)
    except MoneyError as exc:
        raise MoneyError(f"{field}: {exc}") from None
    except InvalidOperation:
        raise MoneyError(f"{field}: {value!r} is not an amount") from None
    return from_minor(minor, currency)


def parse_rate(value: object, field: str = "units_per_usd") -> int:
    """A units-per-USD rate (> 0, at most 6 decimals) as integer millionths."""
    rate = parse_decimal(value, field)
    if rate <= 0:
        raise MoneyError(f"{field}: must be greater than zero, got {rate}")
    scaled = rate.scaleb(RATE_DECIMALS)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{field}: {rate} has more than {RATE_DECIMALS} decimals")
    if rate > MAX_MAJOR_UNITS:
        raise MoneyError(f"{field}: {rate} is too large")
    return int(scaled)


def rate_decimal(rate_micros: int) -> Decimal:
    return Decimal(rate_micros).scaleb(-RATE_DECIMALS).normalize()


def usd_fraction(minor: int, currency: str, rate_micros: int) -> Fraction:
    """The exact USD cents of ``minor`` units of ``currency`` at ``rate_micros`` units per USD."""
    return Fraction(minor * 100 * RATE_SCALE, 10 ** minor_digits(currency) * rate_micros)


def to_usd_cents(minor: int, currency: str, rate_micros: int) -> int:
    """``round_half_up(amount / units_per_usd, 2)`` in cents, computed exactly."""
    # the exact quotient rounded once (the same value as rounding usd_fraction, without
    # reducing the fraction first)
    cents = round_half_up_div(minor * 100 * RATE_SCALE, 10 ** minor_digits(currency) * rate_micros)
    if abs(cents) > MAX_USD_CENTS:
        raise MoneyError(
            f"{from_minor(minor, currency)} {currency} at {rate_decimal(rate_micros)} per USD is worth more than "
            "USD 10^14, the most one amount may be worth"
        )
    return cents


def largest_remainder(total: int, weights: list[int]) -> list[int]:
    """Split integer ``total`` pro rata to non-negative ``weights``, exactly.

    Each share is ``floor(total * w_i / W)``; what is left goes one unit at a time to the
    largest remainders ``total * w_i mod W``; ties go to the earlier weight.
    """
    whole = sum(weights)
    if whole <= 0:
        raise ValueError("cannot split over weights that sum to zero")
    if len(weights) == 1:  # the common case: one allocation takes it all
        return [total]
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    shares = [magnitude * w // whole for w in weights]
    remainders = [magnitude * w % whole for w in weights]
    left = magnitude - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        shares[i] += 1
    return [sign * s for s in shares]


def percent_1dp(numerator: int, denominator: int) -> Decimal | None:
    """``numerator / denominator * 100`` with one decimal, ROUND_HALF_UP from the exact value."""
    if denominator == 0:
        return None
    tenths = round_half_up_div(numerator * 1000, denominator)
    return Decimal(tenths).scaleb(-1).quantize(Decimal("0.1"))
