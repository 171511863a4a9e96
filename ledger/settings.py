"""Ledger settings: names, what each accepts, and the value in force (docs/rules.md#ledger-settings).

Every change is a version (``settings`` rows: value, who, when, why), never an update; a reader
with ``recorded_at`` T sees the version recorded at or before T, and a setting never set answers
its default ("" for the IATI settings, which have none).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from .errors import LedgerError, Problem
from .inputs import IATI_ORG_REF, IATI_ORG_REF_SHAPE
from .schema import Setting

DEFAULTS: dict[str, str] = {
    "usd_tolerance_pct": "10",
    "reminder_days": "30",
    "default_psc_rate": "13",
    "iati_reporting_org_ref": "",
    "iati_reporting_org_name": "",
    "iati_reporting_org_type": "",
    "iati_activity_identifier": "",
    "iati_sector": "",
    "iati_recipient_region": "",
    "iati_recipient_country": "",
}
NAMES = tuple(DEFAULTS)

# IATI OrganisationType codes (codelist of IATI 2.03)
ORGANISATION_TYPES = ("10", "11", "15", "21", "22", "23", "24", "30", "40", "60", "70", "71", "72", "73", "80", "90")


def _percent(text: str) -> str | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return "a percentage from 0 to 100 with at most 2 decimals, e.g. 10 or 7.5"
    if not number.is_finite() or not 0 <= number <= 100 or number != number.quantize(Decimal("0.01")):
        return "a percentage from 0 to 100 with at most 2 decimals, e.g. 10 or 7.5"
    return None


def _days(text: str) -> str | None:
    if not text.isdigit() or not 1 <= int(text) <= 3650:
        return "a whole number of days from 1 to 3650, e.g. 30"
    return None


def _matching(pattern: str, expected: str) -> Callable[[str], str | None]:
    compiled = re.compile(pattern)
    return lambda text: None if compiled.fullmatch(text) else expected


def _org_type(text: str) -> str | None:
    return None if text in ORGANISATION_TYPES else f"an IATI organisation type code, one of {', '.join(ORGANISATION_TYPES)}"


CHECKS: dict[str, Callable[[str], str | None]] = {
    "usd_tolerance_pct": _percent,
    "reminder_days": _days,
    "default_psc_rate": _percent,
    "iati_reporting_org_ref": _matching(IATI_ORG_REF.pattern, IATI_ORG_REF_SHAPE),
    "iati_reporting_org_name": _matching(r"\S.{0,199}", "the organisation's name (1 to 200 characters)"),
    "iati_reporting_org_type": _org_type,
    "iati_activity_identifier": _matching(r"[^\s/&|?]+", "an identifier without spaces, / & | or ?"),
    "iati_sector": _matching(r"\d{5}", "a DAC 5-digit purpose code, e.g. 15210"),
    "iati_recipient_region": _matching(r"\d{3}", "an IATI region code of 3 digits, e.g. 998"),
    "iati_recipient_country": _matching(r"[A-Z]{2}", "an ISO 3166-1 alpha-2 country code, e.g. KE"),
}


# the IATI recipient is a region OR a country: each refuses a value while the other is set
RECIPIENT = {"iati_recipient_region": "iati_recipient_country", "iati_recipient_country": "iati_recipient_region"}


def version(reader, name: str) -> Setting | None:
    """The version of setting ``name`` in force for ``reader`` (a unit of work or a reader): the
    latest recorded at or before ``reader.recorded_at`` (None: the latest), or None if never set."""
    statement = select(Setting).where(Setting.name == name)
    recorded_at = getattr(reader, "recorded_at", None)
    if recorded_at is not None:
        statement = statement.where(Setting.recorded_at <= recorded_at)
    return reader.rows(statement.order_by(Setting.recorded_at.desc(), Setting.id.desc()).limit(1)).scalar()


def value(reader, name: str) -> str:
    """The value of setting ``name`` in force for ``reader``: its version's, else the default."""
    known = reader.lookups.settings
    if name not in known:
        found = version(reader, name)
        known[name] = DEFAULTS[name] if found is None else found.value
    return known[name]


def values(reader) -> dict[str, str]:
    """Every setting's value in force for ``reader``, by name."""
    return {name: value(reader, name) for name in NAMES}


def history(reader) -> list[Setting]:
    """Every version of every setting, oldest first."""
    return list(reader.rows(select(Setting).order_by(Setting.recorded_at, Setting.id)).scalars())


def problem(reader, name: str, text: str) -> Problem | None:
    """Why ``text`` cannot be the value of setting ``name``, or None."""
    if name not in DEFAULTS:
        return Problem("name", f"{name!r} is not a setting; the settings are {', '.join(NAMES)}")
    if name in RECIPIENT and text == "":
        return None  # clearing the recipient lets the other one be set
    other = RECIPIENT.get(name)
    if other is not None and value(reader, other):
        return Problem("value", f"{other} is set ({value(reader, other)}): the recipient is a region or a country, "
                                f"not both; clear it first (settings set {other} \"\")")
    expected = CHECKS[name](text)
    if expected is None and name == "iati_activity_identifier":
        org = value(reader, "iati_reporting_org_ref")
        if not org:
            return Problem("value", "set iati_reporting_org_ref first: the activity identifier begins with it")
        if not text.startswith(f"{org}-"):
            expected = f"an identifier beginning with the reporting organisation's ref and a hyphen ({org}-...)"
    return None if expected is None else Problem("value", f"{text!r} is not {expected}")


def set_value(uow, name: str, text: str, reason: str = "") -> str:
    """Record a new version of setting ``name``; "unchanged" when it already has that value."""
    text = text.strip()
    refused = problem(uow, name, text)
    if refused is not None:
        raise LedgerError(refused)
    if value(uow, name) == text:
        return "unchanged"
    uow.session.add(Setting(name=name, value=text, recorded_at=uow.stamp(), user_name=uow.actor.name,
                            reason=reason.strip()))
    uow.lookups.settings[name] = text
    return "set"


def psc_rate_bp(reader, data) -> int:
    """A pledge's PSC rate in basis points: its own, or ``default_psc_rate`` where it gives none."""
    if data.psc_rate_given:
        return data.psc_rate_bp
    return int(Decimal(value(reader, "default_psc_rate")) * 100)
