"""The time stamps the ledger stores: naive UTC, and moments as ``--as-recorded-at`` takes and prints them."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


END_OF_DAY = dt.time(23, 59, 59, 999999)


def parse_moment(text: str) -> dt.datetime:
    """``2026-12-04T10:15:00Z`` (UTC; fractions of a second allowed) or a bare date (the end of that
    day), as a naive-UTC datetime; ValueError with what is expected."""
    text = text.strip()
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), END_OF_DAY)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a UTC moment like 2026-12-04T10:15:00Z or a date like 2026-12-04") from None
    if moment.tzinfo is None or moment.utcoffset() != dt.timedelta(0):
        raise ValueError(f"{text!r} is not in UTC: end it with Z, like 2026-12-04T10:15:00Z")
    return moment.replace(tzinfo=None)


def format_moment(moment: dt.datetime) -> str:
    """A moment in full, as ``--as-recorded-at`` takes it back: ``2026-12-04T10:15:00.123456Z``."""
    return moment.isoformat(timespec="microseconds") + "Z"
