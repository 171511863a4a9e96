"""The funding report as JSON, CSV or a table for people (docs/reports.md; keys in docs/rules.md#the-funding-report)."""

from __future__ import annotations

import csv
import io
import json

from .formats import (
    json_header,
    money,
    money_grouped,
    percent,
    provenance,
    stale_rates_caption,
    stale_rates_json,
)
from .funding import KEYS, MONEY_KEYS, PERCENT_KEYS, FundingReport, FundingRow


def row_values(row: FundingRow) -> dict:
    values: dict = {}
    for key in KEYS:
        value = row.value(key)
        if key in MONEY_KEYS:
            values[key] = money(value)
        elif key in PERCENT_KEYS:
            values[key] = percent(value)
        else:
            values[key] = int(value)
    return values


def funding_json(report: FundingReport) -> str:
    document = {
        **json_header(report),
        "note": "requirement, progress and activity counts are the values as recorded at as_recorded_at",
        "rows": [{"paragraph": r.paragraph, "title": r.title, **row_values(r)} for r in report.rows],
        "totals": row_values(report.totals),
        "stale_rates": stale_rates_json(report.stale_rates),
    }
    return json.dumps(document, indent=2)


def funding_csv(report: FundingReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["paragraph", *KEYS])
    for row in [*report.rows, report.totals]:
        label = "total" if row is report.totals else ("unearmarked" if row.paragraph is None else str(row.paragraph))
        values = row_values(row)
        writer.writerow([label, *("" if values[k] is None else values[k] for k in KEYS)])
    return out.getvalue()


TABLE_COLUMNS = (
    ("requirement", "Requirement"), ("pledged", "Pledged"), ("programmable", "Programmable"),
    ("received", "Received"), ("outstanding", "Outstanding"), ("fx_difference", "FX diff"),
    ("announced", "Announced"), ("disbursed", "Disbursed"), ("psc", "PSC"), ("available", "Available"), ("spent_on_activities", "Spent"),
    ("coverage_pct", "Coverage %"), ("delivery_pct", "Deliv %"), ("progress_pct", "Progr %"), ("gap", "Gap"),
    ("activities_total", "Acts"), ("activities_completed", "Done"),
)


NARROW_COLUMNS = ("requirement", "pledged", "received", "spent_on_activities", "available", "gap", "coverage_pct")


def funding_table(report: FundingReport, width: int = 200):
    """A rich Table of every column when they fit in ``width``, else of the essential ones."""
    from rich.console import Console

    full = _funding_table(report, TABLE_COLUMNS, label_width=45)
    if Console(width=10_000).measure(full).maximum <= width:  # measured unclamped: its natural width
        return full
    return _funding_table(report, tuple(c for c in TABLE_COLUMNS if c[0] in NARROW_COLUMNS), label_width=30)


def _funding_table(report: FundingReport, columns: tuple, label_width: int):
    from rich.table import Table

    table = Table(
        title=f"Funding vs implementation, resolution 20/7, USD, as of {report.as_of}",
        caption=f"{provenance(report)}; requirement and progress as recorded then{stale_rates_caption(report.stale_rates)}",
    )
    body = []
    for row in [*report.rows, report.totals]:
        label = row.title if row.paragraph is None else f"{row.paragraph}. {row.title}"
        if len(label) > label_width - 2:
            label = label[: label_width - 3] + "…"
        cells = []
        for key, _ in columns:
            value = row.value(key)
            if key in MONEY_KEYS:
                cells.append(money_grouped(value))
            elif key in PERCENT_KEYS:
                cells.append(percent(value) or "–")
            else:
                cells.append(str(value))
        body.append((row, label, cells))
    table.add_column("Paragraph", no_wrap=True, max_width=label_width)
    for i, (_key, label) in enumerate(columns):
        table.add_column(label, justify="right", no_wrap=True, min_width=max(len(label), *(len(c[2][i]) for c in body)))
    for row, label, cells in body:
        table.add_row(label, *cells, style="bold" if row is report.totals else None, end_section=row is report.rows[-1])
    return table
