"""UN operational rates of exchange: units of a currency per US dollar, by effective date.

A rate is identified by (currency, effective_from) and keeps every version ever recorded: the
same value again is skipped, a different one is a correction (with a reason) that supersedes the
earlier value from the moment it is recorded (docs/rules.md#exchange-rates).
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from .errors import LedgerError, Problem
from .inputs import RateIn
from .money import RATE_SCALE, REPORTING_CURRENCY, rate_decimal
from .periods import check_open
from .schema import Rate

# built once (docs/architecture.md "Statements built once"), every variant at import: a statement
# extended at run time could copy a cache key another thread is computing for the one it extends
_RATES = (select(Rate.currency, Rate.effective_from, Rate.units_per_usd_micros, Rate.entered_at)
          .order_by(Rate.currency, Rate.effective_from, Rate.entered_at, Rate.id))
_RATES_AT = _RATES.where(Rate.entered_at <= bindparam("recorded_at"))
_RATES_OF = _RATES.where(Rate.currency == bindparam("currency"))


def rate_text(micros: int) -> str:
    """A rate as people write it: at least two decimals (6.00, 5.80, 0.9715)."""
    value = rate_decimal(micros)
    return f"{value:.2f}" if value.as_tuple().exponent > -2 else str(value)


def month_name(day: dt.date) -> str:
    return day.strftime("%B %Y")


@dataclass(frozen=True)
class StaleRate:
    """A rate used to value an amount as of a date that is not of that date's month."""

    currency: str
    effective_from: dt.date
    age_days: int


@dataclass
class RateBook:
    """Every version of every rate, by currency and date; ``on`` finds the rate in force.

    ``versions[currency][i]`` lists (recorded at, micros) of the rate from ``dates[currency][i]``
    in the order recorded; without a moment the latest version counts, with one the latest
    recorded at or before it."""

    dates: dict[str, list[dt.date]] = field(default_factory=dict)
    versions: dict[str, list[list[tuple[dt.datetime, int]]]] = field(default_factory=dict)
    session: Session | None = None  # given: a currency's rates are read when first asked (``of``)
    read: set[str] = field(default_factory=set)  # the currencies read so far, with a session

    @classmethod
    def load(cls, session: Session, recorded_at: dt.datetime | None = None) -> RateBook:
        """The rates as recorded at ``recorded_at`` (None: every version recorded so far)."""
        book = cls()
        rows = (session.execute(_RATES) if recorded_at is None
                else session.execute(_RATES_AT, {"recorded_at": recorded_at}))
        for currency, day, micros, at in rows:
            book._add(currency, day, micros, at)
        return book

    @classmethod
    def of(cls, session: Session) -> RateBook:
        """Every version recorded so far, each currency's read when first asked: an act reads the
        rates of its own currency, not those of every currency and month since 2011."""
        return cls(session=session)

    def _read(self, currency: str) -> None:
        if self.session is not None and currency not in self.read:
            self.read.add(currency)
            for _, day, micros, at in self.session.execute(_RATES_OF, {"currency": currency}):
                self._add(currency, day, micros, at)

    def _add(self, currency: str, day: dt.date, micros: int, at: dt.datetime) -> None:
        dates = self.dates.setdefault(currency, [])
        versions = self.versions.setdefault(currency, [])
        i = bisect.bisect_left(dates, day)
        if i == len(dates) or dates[i] != day:
            dates.insert(i, day)
            versions.insert(i, [])
        versions[i].append((at, micros))

    def stored(self, currency: str, day: dt.date) -> int | None:
        """The latest value recorded for (currency, effective_from = day), if any."""
        self._read(currency)
        dates = self.dates.get(currency, [])
        i = bisect.bisect_left(dates, day)
        return self.versions[currency][i][-1][1] if i < len(dates) and dates[i] == day else None

    def in_force(self, currency: str, day: dt.date, recorded_at: dt.datetime | None = None) -> tuple[dt.date, int] | None:
        """(effective_from, micros) of the rate in force on ``day`` among the versions recorded
        at or before ``recorded_at`` (all of them when it is None)."""
        self._read(currency)
        dates = self.dates.get(currency, [])
        for i in range(bisect.bisect_right(dates, day) - 1, -1, -1):
            versions = self.versions[currency][i]
            if recorded_at is None:
                return dates[i], versions[-1][1]
            known = [micros for at, micros in versions if at <= recorded_at]
            if known:
                return dates[i], known[-1]
        return None

    def on(self, currency: str, day: dt.date, field: str = "currency", recorded_at: dt.datetime | None = None) -> int:
        """The rate in force on ``day`` (millionths of a unit per USD)."""
        if currency == REPORTING_CURRENCY:
            return RATE_SCALE
        return self._found(currency, day, field, recorded_at)[1]

    def _found(self, currency: str, day: dt.date, field: str, recorded_at: dt.datetime | None = None) -> tuple[dt.date, int]:
        found = self.in_force(currency, day, recorded_at)
        if found is None:
            raise LedgerError(Problem(field, f"no exchange rate for {currency} in force on {day.isoformat()}; import the UN operational rate first"))
        return found

    def of_month(self, currency: str, day: dt.date, field: str = "currency") -> int:
        """The rate for an event converting at its own date: in force on ``day`` and effective from
        a day of ``day``'s calendar month (UN operational rates are set every month), else refused."""
        if currency == REPORTING_CURRENCY:
            return RATE_SCALE
        start, micros = self._found(currency, day, field)
        if (start.year, start.month) != (day.year, day.month):
            month = month_name(day)
            raise LedgerError(Problem(field, (
                f"no {currency} rate for {month} (the latest is {rate_text(micros)} from {start.isoformat()}); "
                f"record the UN operational rate for {month}")))
        return micros

    def stale(self, currencies, as_of: dt.date) -> list[StaleRate]:
        """The rates in force on ``as_of`` for ``currencies`` that are not of ``as_of``'s month
        (the stale rates a valuation as of that date used), by currency."""
        found = []
        for currency in sorted(set(currencies) - {REPORTING_CURRENCY}):
            in_force = self.in_force(currency, as_of)
            if in_force and (in_force[0].year, in_force[0].month) != (as_of.year, as_of.month):
                found.append(StaleRate(currency, in_force[0], (as_of - in_force[0]).days))
        return found


def rate_book(uow) -> RateBook:
    book = uow.lookups.rates
    if book is None:
        book = uow.lookups.rates = RateBook.of(uow.session)
    return book


def add_rate(uow, data: RateIn) -> str:
    """Record a rate: 'added', 'updated' (a correction: a new value for a stored rate, with a
    reason), or 'skipped' when the same value is already in force for that currency and date."""
    micros = data.rate_micros
    if data.currency == REPORTING_CURRENCY:
        if micros != RATE_SCALE:
            raise LedgerError(Problem("units_per_usd", f"USD is the reporting currency: its rate is always 1, not {data.units_per_usd}"))
        return "skipped"
    book = rate_book(uow)
    stored = book.stored(data.currency, data.effective_from)
    if stored == micros:
        return "skipped"
    if stored is not None and not data.reason:
        raise LedgerError(Problem(
            "reason",
            f"{data.currency} from {data.effective_from}: {rate_text(micros)} differs from the stored rate "
            f"{rate_text(stored)}; a correction of a rate needs a reason",
        ))
    check_open(uow, "effective_from", data.effective_from, "rates effective")
    at = uow.stamp()
    uow.session.add(Rate(
        currency=data.currency, effective_from=data.effective_from, units_per_usd_micros=micros,
        entered_by=uow.actor.name, entered_at=at, reason=data.reason or None,
    ))
    book._add(data.currency, data.effective_from, micros, at)  # its currency was read by ``stored``
    return "added" if stored is None else "updated"
