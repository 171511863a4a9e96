"""Ledger settings: names, defaults and the value in force (docs/rules.md "Ledger settings").

The values are versioned (who, when, why) by the time-and-settings change; until a setting is
set, its default answers.
"""

from __future__ import annotations

DEFAULTS: dict[str, str] = {
    "usd_tolerance_pct": "10",
    "reminder_days": "30",
    "default_psc_rate": "13",
}


def value(reader, name: str) -> str:
    """The value of setting ``name`` in force for ``reader`` (a unit of work or a reader)."""
    return DEFAULTS[name]
