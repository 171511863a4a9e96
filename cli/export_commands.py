"""``report donors|ageing|reminders``, ``export`` (the audit workbook) and ``iati`` (IATI 2.03)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cli.group import AS_RECORDED_AT, Settings, cli, fail, handles_refusals, pass_settings
from cli.report_commands import AS_OF, FORMAT, emit, report, width


@report.command("donors")
@AS_OF
@AS_RECORDED_AT
@FORMAT
@pass_settings
@handles_refusals
def report_donors(settings: Settings, as_of, recorded_at, fmt: str) -> None:
    """Donor statements: pledged, received, outstanding, spending paid with each donor's money."""
    from reports.donors import donor_report_for, donors_csv, donors_json, donors_table

    result = donor_report_for(settings.ledger(), as_of, recorded_at)
    emit(fmt, donors_table(result, width()) if fmt == "table" else None,
         donors_json(result) if fmt == "json" else "", donors_csv(result) if fmt == "csv" else "")


@report.command("ageing")
@AS_OF
@AS_RECORDED_AT
@FORMAT
@pass_settings
@handles_refusals
def report_ageing(settings: Settings, as_of, recorded_at, fmt: str) -> None:
    """Pledge ageing: what is outstanding, by days past the due date (or the pledge date)."""
    from reports.ageing import ageing_csv, ageing_json, ageing_report_for, ageing_table

    result = ageing_report_for(settings.ledger(), as_of, recorded_at)
    emit(fmt, ageing_table(result, width()) if fmt == "table" else None,
         ageing_json(result) if fmt == "json" else "", ageing_csv(result) if fmt == "csv" else "")


@report.command("reminders")
@AS_OF
@AS_RECORDED_AT
@click.option("--within", type=click.IntRange(min=0), help="Days after the as-of date (default: the reminder_days setting).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "xlsx"]), default="table", show_default=True)
@click.option("-o", "--output", "output", help="The workbook to write with --format xlsx (.xlsx).")
@pass_settings
@handles_refusals
def report_reminders(settings: Settings, as_of, recorded_at, within, fmt: str, output) -> None:
    """Reminders per donor: instalments overdue or due within N days, unpaid in the pledge's currency and USD."""
    from reports.reminders import (
        reminders_csv,
        reminders_json,
        reminders_report_for,
        reminders_table,
        write_reminders_workbook,
    )

    if (fmt == "xlsx") != bool(output):
        raise click.UsageError("--format xlsx writes a workbook: give both --format xlsx and -o FILE.xlsx")
    target = _output(output, ".xlsx") if output else None
    result = reminders_report_for(settings.ledger(), as_of, within, recorded_at)
    if target is not None:
        count = write_reminders_workbook(result, target)
        click.echo(f"wrote {target} as of {result.as_of}: {count} instalment(s) of {len(result.donors)} donor(s) "
                   f"overdue or due by {result.until}")
        return
    emit(fmt, reminders_table(result, width()) if fmt == "table" else None,
         reminders_json(result) if fmt == "json" else "", reminders_csv(result) if fmt == "csv" else "")


def _output(path: str, suffix: str) -> Path:
    target = Path(path).expanduser()
    if target.suffix.lower() != suffix:
        fail(f"{path}: the output file must end in {suffix}")
    if target.is_dir():
        fail(f"{path}: is a folder; give a file name ending in {suffix}")
    if not target.parent.exists():
        fail(f"{path}: folder {target.parent} does not exist")
    return target


def _progress():
    """Progress on a terminal (stderr), nothing otherwise."""
    if not sys.stderr.isatty():
        return None

    def show(sheet: str, rows: int) -> None:
        click.echo(f"\r{sheet}: {rows:,} rows\033[K", err=True, nl=False)

    return show


@cli.command("export")
@click.option("-o", "--output", "output", required=True, help="The workbook to write (.xlsx).")
@AS_OF
@AS_RECORDED_AT
@pass_settings
@handles_refusals
def export(settings: Settings, output: str, as_of, recorded_at) -> None:
    """Write the audit workbook (.xlsx) as of a date."""
    from reports.workbook import export_workbook

    target = _output(output, ".xlsx")
    progress = _progress()
    result = export_workbook(settings.ledger(), target, as_of, progress=progress, recorded_at=recorded_at)
    if progress:
        click.echo("\r\033[K", err=True, nl=False)
    verified = "chain verified" if result.verified else "CHAIN VERIFICATION FAILED (see the About sheet)"
    click.echo(f"wrote {target} as of {result.as_of}: {len(result.sheets)} sheets, {result.journal_lines:,} journal "
               f"lines; {verified}, {result.entries} entries, head {result.head_hash}")
    if result.text_amounts:
        click.echo(f"note: {result.text_amounts} amounts have more than 15 significant digits and were written as text",
                   err=True)
    if not result.verified:  # exit 1, as for `verify`; the workbook stays, as evidence of what was found
        fail(f"verification failed: {result.problem}",
             f"{target} was written for investigation; its About sheet records the failure")


@cli.command("iati")
@click.option("-o", "--output", "output", required=True, help="The IATI activity file to write (.xml).")
@AS_OF
@AS_RECORDED_AT
@click.option("--org-ref", envvar="DONOR_LEDGER_IATI_ORG", default="XI-IATI-DONOR-LEDGER", show_default=True,
              help="IATI organisation identifier of the reporting organisation.")
@click.option("--org-name", envvar="DONOR_LEDGER_IATI_ORG_NAME", default="Trust fund secretariat", show_default=True,
              help="Name of the reporting organisation.")
@pass_settings
@handles_refusals
def iati(settings: Settings, output: str, as_of, recorded_at, org_ref: str, org_name: str) -> None:
    """Write the ledger as one IATI 2.03 activity (pledges, receipts, disbursements, budgets)."""
    from reports.iati import export_iati

    target = _output(output, ".xml")
    result = export_iati(settings.ledger(), target, as_of, org_ref=org_ref, org_name=org_name, recorded_at=recorded_at)
    click.echo(f"wrote {target} as of {result.as_of}: activity {result.identifier}, {result.transactions} transactions, "
               f"{result.budgets} budgets")
