"""``report alerts``: the alerts of ``ledger.alerts`` (the dashboard's) as a table, JSON or CSV.

Overdue pledges (all of them, oldest due date first), paragraphs whose planned and ongoing
activities need more than their earmarked cash, and the journal chain check.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from ledger.alerts import Alerts, alerts
from ledger.clock import utcnow
from ledger.money import format_amount, to_minor

from .formats import (
    json_header,
    money,
    money_grouped,
    provenance,
    safe_text,
    stale_rates_caption,
    stale_rates_json,
)
from .moments import read_at


@dataclass
class AlertsReport:
    as_of: dt.date
    generated_at: dt.datetime
    chain_head: str  # the chain head as recorded at as_recorded_at
    entries: int
    alerts: Alerts
    as_recorded_at: dt.datetime | None = None
    closed_through: dt.date | None = None
    command: str = ""  # the command that makes this report again


def alerts_report(session: Session, as_of: dt.date | None = None, recorded_at: dt.datetime | None = None) -> AlertsReport:
    """As of ``as_of`` and as recorded at ``recorded_at`` (docs/rules.md#as-recorded-at)."""
    moments = read_at(session, as_of, recorded_at, "report alerts")
    at = moments.at
    return AlertsReport(moments.as_of, utcnow(), at.head_hash, at.entries,
                        alerts(session, moments.as_of, limit=None, check_chain=True),
                        at.recorded_at, moments.closed_through, moments.command)


def alerts_report_for(ledger, as_of: dt.date | None = None, recorded_at: dt.datetime | None = None) -> AlertsReport:
    with ledger.reading() as session:
        return alerts_report(session, as_of, recorded_at)


def _usd(value: Decimal) -> str:
    return money(to_minor(value, "USD"))


def _amount(value: Decimal, currency: str) -> str:
    return format_amount(to_minor(value, currency), currency, thousands=False)


def overdue_values(report: AlertsReport) -> list[dict]:
    return [
        {"pledge": a.reference, "donor": a.donor, "due_on": a.due_on.isoformat(), "days_late": a.days_late,
         "currency": a.currency, "outstanding": _amount(a.outstanding, a.currency),
         "outstanding_usd": _usd(a.outstanding_usd)}
        for a in report.alerts.overdue
    ]


def cash_need_values(report: AlertsReport) -> list[dict]:
    return [
        {"paragraph": c.paragraph, "title": c.title, "need_usd": _usd(c.need_usd), "cash_usd": _usd(c.cash_usd),
         "shortfall_usd": _usd(c.need_usd - c.cash_usd)}
        for c in report.alerts.cash_needs
    ]


def chain_values(report: AlertsReport) -> dict:
    chain = report.alerts.chain
    return {"ok": chain.ok, "entries": chain.entries, "head": chain.head, "message": chain.message}


def alerts_json(report: AlertsReport) -> str:
    overdue = report.alerts.overdue
    document = {
        **json_header(report),
        "overdue_pledges": len({a.reference for a in overdue}),
        "overdue_instalments": report.alerts.overdue_count,
        "overdue_usd": _usd(sum((a.outstanding_usd for a in overdue), Decimal(0))),
        "overdue": overdue_values(report),
        "cash_needs": cash_need_values(report),
        "chain": chain_values(report),
        "stale_rates": stale_rates_json(report.alerts.stale_rates),
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


CSV_COLUMNS = ("alert", "subject", "name", "due_on", "days_late", "currency", "amount", "usd", "cash_usd", "message")


def alerts_csv(report: AlertsReport) -> str:
    """One row per alert: ``overdue`` (subject: the pledge; name: the donor; amount: outstanding),
    ``cash_need`` (subject: the paragraph; usd: the need) and one ``chain`` row (subject ok or broken)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for v in overdue_values(report):
        writer.writerow(["overdue", safe_text(v["pledge"]), safe_text(v["donor"]), v["due_on"], v["days_late"],
                         v["currency"], v["outstanding"], v["outstanding_usd"], "", ""])
    for v in cash_need_values(report):
        writer.writerow(["cash_need", v["paragraph"], safe_text(v["title"]), "", "", "USD", "", v["need_usd"],
                         v["cash_usd"], ""])
    chain = chain_values(report)
    writer.writerow(["chain", "ok" if chain["ok"] else "broken", "", "", "", "", "", "", "", chain["message"]])
    return out.getvalue()


def alerts_table(report: AlertsReport, width: int = 200):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    found = report.alerts
    overdue = Table(title=f"Overdue instalments, as of {report.as_of}",
                    caption=f"{found.overdue_count} overdue instalment(s){stale_rates_caption(found.stale_rates)}")
    for label, justify in (("Pledge", "left"), ("Donor", "left"), ("Due on", "left"), ("Days late", "right"),
                           ("Outstanding", "right"), ("USD (as-of rate)", "right")):
        overdue.add_column(label, justify=justify, no_wrap=True)
    for a in found.overdue:
        overdue.add_row(Text(a.reference), Text(a.donor), a.due_on.isoformat(), f"{a.days_late:,}",
                        f"{a.currency} {format_amount(to_minor(a.outstanding, a.currency), a.currency)}",
                        money_grouped(to_minor(a.outstanding_usd, "USD")))
    needs = Table(title="Paragraphs whose open activities need more than their cash, USD",
                  caption="need: budgets of planned and ongoing activities less what they spent; "
                          "cash: the paragraph's earmarked available cash")
    for label, justify in (("¶", "right"), ("Paragraph", "left"), ("Need", "right"), ("Cash", "right"),
                           ("Shortfall", "right")):
        needs.add_column(label, justify=justify, no_wrap=True)
    for c in found.cash_needs:
        needs.add_row(str(c.paragraph), Text(c.title), money_grouped(to_minor(c.need_usd, "USD")),
                      money_grouped(to_minor(c.cash_usd, "USD")), money_grouped(to_minor(c.need_usd - c.cash_usd, "USD")))
    chain = found.chain
    verdict = Text(f"Journal chain: {chain.message}", style="green" if chain.ok else "bold red")
    return Group(overdue, needs, verdict, Text(provenance(report), style="dim"))
