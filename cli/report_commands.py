"""``report funding|alerts`` (donors and ageing: cli.export_commands): the reports, as a table, JSON or CSV."""

from __future__ import annotations

import click

from cli.group import AS_RECORDED_AT, ISO_DATE, Settings, cli, handles_refusals, pass_settings

FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
AS_OF = click.option("--as-of", "as_of", type=ISO_DATE, help="Only money events dated on or before (default today).")


@cli.group()
def report() -> None:
    """Reports in USD as of a date: funding, donors, ageing, reminders, alerts."""


def width() -> int:
    import shutil
    import sys

    return shutil.get_terminal_size((200, 24)).columns if sys.stdout.isatty() else 200


def emit(fmt: str, table, json_text: str, csv_text: str) -> None:
    if fmt == "json":
        click.echo(json_text)
    elif fmt == "csv":
        click.echo(csv_text, nl=False)
    else:
        from rich.console import Console

        Console(width=width()).print(table)


@report.command("funding")
@AS_OF
@AS_RECORDED_AT
@FORMAT
@pass_settings
@handles_refusals
def report_funding(settings: Settings, as_of, recorded_at, fmt: str) -> None:
    """Funding versus implementation per operative paragraph."""
    from reports.funding import funding_report_for
    from reports.render import funding_csv, funding_json, funding_table

    result = funding_report_for(settings.ledger(), as_of, recorded_at)
    emit(fmt, funding_table(result, width()) if fmt == "table" else None,
         funding_json(result) if fmt == "json" else "", funding_csv(result) if fmt == "csv" else "")


@report.command("alerts")
@AS_OF
@AS_RECORDED_AT
@FORMAT
@pass_settings
@handles_refusals
def report_alerts(settings: Settings, as_of, recorded_at, fmt: str) -> None:
    """The dashboard's alerts: overdue pledges, paragraphs short of cash, the journal chain check."""
    from reports.alerts import alerts_csv, alerts_json, alerts_report_for, alerts_table

    result = alerts_report_for(settings.ledger(), as_of, recorded_at)
    emit(fmt, alerts_table(result, width()) if fmt == "table" else None,
         alerts_json(result) if fmt == "json" else "", alerts_csv(result) if fmt == "csv" else "")
