"""Rendering report values: money strings, percentages, and text safe for spreadsheets."""

from __future__ import annotations

from decimal import Decimal

from ledger.clock import format_moment
from ledger.money import format_amount

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def money(cents: int) -> str:
    """``1234.50``; never ``-0.00``."""
    return format_amount(cents, "USD", thousands=False)


def money_grouped(cents: int) -> str:
    return format_amount(cents, "USD")


def percent(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.1f}"


def safe_text(text: str | None) -> str:
    """Text a spreadsheet would run as a formula, prefixed with ' so it stays text (CSV)."""
    if text and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text or ""


def provenance(report) -> str:
    """The caption line of every report table: when it was made, from which chain head; for a
    report made as recorded at a moment, that moment, the closed-through date and its command."""
    text = (f"made {report.generated_at:%Y-%m-%d %H:%M:%S} UTC from {report.entries} journal entries, "
            f"chain head {report.chain_head[:16]}…")
    at = getattr(report, "as_recorded_at", None)
    if at is not None:
        closed = report.closed_through.isoformat() if report.closed_through else "none"
        text += f"; as recorded at {format_moment(at)}; closed through {closed}; again: {report.command}"
    return text


def stale_rates_text(stale) -> str:
    """The stale rates a valuation used, for people: "NOK from 2016-12-01 (30 days old)", or "none"."""
    return "; ".join(f"{r.currency} from {r.effective_from.isoformat()} ({r.age_days:,} days old)" for r in stale) or "none"


def stale_rates_caption(stale) -> str:
    """What a table caption adds for the stale rates its valuation used: "; stale rates used: …", or nothing."""
    return f"; stale rates used: {stale_rates_text(stale)}" if stale else ""


def stale_rates_json(stale) -> list[dict]:
    return [{"currency": r.currency, "effective_from": r.effective_from.isoformat(), "age_days": r.age_days} for r in stale]


def json_header(report) -> dict:
    """The first keys of every report's JSON: as-of date, currency, when made, the chain head (as
    recorded at the report's moment, with that moment, the closed-through date and the command
    that makes the report again, where the report has them)."""
    header = {
        "as_of": report.as_of.isoformat(),
        "currency": "USD",
        "generated_at": report.generated_at.isoformat(timespec="seconds") + "Z",
        "chain_head": report.chain_head,
        "journal_entries": report.entries,
    }
    at = getattr(report, "as_recorded_at", None)
    if at is not None:
        header["as_recorded_at"] = format_moment(at)
        header["closed_through"] = report.closed_through.isoformat() if report.closed_through else None
        header["command"] = report.command
    return header
