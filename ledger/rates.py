"""UN operational rates of exchange: units of a currency per US dollar, by effective date."""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import LedgerError, Problem
from .inputs import RateIn
from .money import RATE_SCALE, REPORTING_CURRENCY, rate_decimal
from .periods import check_open
from .schema import Disbursement, Pledge, Rate, Receipt


@dataclass
class RateBook:
    """Every rate, by currency, sorted by date; ``on`` finds the rate in force."""

    dates: dict[str, list[dt.date]] = field(default_factory=dict)
    values: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, recorded_at: dt.datetime | None = None) -> RateBook:
        """Every rate recorded at or before ``recorded_at`` (None: every rate)."""
        book = cls()
        statement = select(Rate.currency, Rate.effective_from, Rate.units_per_usd_micros)
        if recorded_at is not None:
            statement = statement.where(Rate.entered_at <= recorded_at)
        rows = session.execute(statement.order_by(Rate.currency, Rate.effective_from))
        for currency, day, micros in rows:
            book.dates.setdefault(currency, []).append(day)
            book.values.setdefault(currency, []).append(micros)
        return book

    def on(self, currency: str, day: dt.date, field: str = "currency") -> int:
        """The rate in force on ``day`` (millionths of a unit per USD)."""
        if currency == REPORTING_CURRENCY:
            return RATE_SCALE
        dates = self.dates.get(currency, [])
        i = bisect.bisect_right(dates, day)
        if i == 0:
            raise LedgerError(Problem(field, f"no exchange rate for {currency} in force on {day.isoformat()}; import the UN operational rate first"))
        return self.values[currency][i - 1]

    def in_force_from(self, currency: str, day: dt.date) -> tuple[dt.date | None, dt.date | None]:
        """(start of the rate in force on day, start of the next rate) for ``currency``."""
        dates = self.dates.get(currency, [])
        i = bisect.bisect_right(dates, day)
        return (dates[i - 1] if i else None, dates[i] if i < len(dates) else None)


def rate_book(uow) -> RateBook:
    book = uow.lookups.rates
    if book is None:
        book = uow.lookups.rates = RateBook.load(uow.session)
    return book


def add_rate(uow, data: RateIn) -> str:
    """Record a rate: 'added', or 'skipped' when the same row is already stored."""
    micros = data.rate_micros
    if data.currency == REPORTING_CURRENCY:
        if micros != RATE_SCALE:
            raise LedgerError(Problem("units_per_usd", f"USD is the reporting currency: its rate is always 1, not {data.units_per_usd}"))
        return "skipped"
    book = rate_book(uow)
    stored = uow.rows(
        select(Rate.units_per_usd_micros).where(Rate.currency == data.currency, Rate.effective_from == data.effective_from)
    ).scalar()
    if stored is not None:
        if stored == micros:
            return "skipped"
        raise LedgerError(Problem(
            "units_per_usd",
            f"{data.currency} from {data.effective_from}: {data.units_per_usd} differs from the stored rate "
            f"{rate_decimal(stored)}; a rate in use is never changed",
        ))
    check_open(uow, "effective_from", data.effective_from, "rates effective")
    _refuse_if_posted_events_change(uow, book, data, micros)
    uow.session.add(Rate(
        currency=data.currency, effective_from=data.effective_from, units_per_usd_micros=micros,
        entered_by=uow.actor.name, entered_at=uow.stamp(),
    ))
    dates = book.dates.setdefault(data.currency, [])
    i = bisect.bisect_right(dates, data.effective_from)
    dates.insert(i, data.effective_from)
    book.values.setdefault(data.currency, []).insert(i, micros)
    return "added"


def _refuse_if_posted_events_change(uow, book: RateBook, data: RateIn, micros: int) -> None:
    _, next_start = book.in_force_from(data.currency, data.effective_from)
    start = data.effective_from

    def window(column):
        condition = column >= start
        return condition & (column < next_start) if next_start else condition

    candidates = [
        ("pledge", select(Pledge.reference, Pledge.pledged_on).where(Pledge.currency == data.currency, window(Pledge.pledged_on))),
        ("receipt", select(Receipt.reference, Receipt.received_on).join(Pledge, Pledge.id == Receipt.pledge_id)
         .where(Pledge.currency == data.currency, Receipt.usd_given.is_(False), window(Receipt.received_on))),
        ("disbursement", select(Disbursement.reference, Disbursement.disbursed_on)
         .where(Disbursement.currency == data.currency, window(Disbursement.disbursed_on))),
    ]
    for kind, statement in candidates:
        for reference, day in uow.rows(statement):
            in_force = book.on(data.currency, day)
            if in_force != micros:
                raise LedgerError(Problem(
                    "effective_from",
                    f"{data.currency} {data.units_per_usd} from {data.effective_from} would change the rate of "
                    f"{kind} {reference} dated {day} (posted at {rate_decimal(in_force)}); posted events are never revalued",
                ))
