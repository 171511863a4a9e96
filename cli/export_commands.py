"""``report donors|statement|ageing|reminders``, ``export`` (the audit workbook, or one donor's) and ``iati`` (IATI 2.03)."""

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


@report.command("statement")
@click.option("--donor", "donor", required=True, help="The donor's code.")
@AS_OF
@AS_RECORDED_AT
@FORMAT
@pass_settings
@handles_refusals
def report_statement(settings: Settings, donor: str, as_of, recorded_at, fmt: str) -> None:
    """One donor's statement: its pledges with their events, the spending its money paid for, its balance."""
    from reports.statement import statement_csv, statement_for, statement_json, statement_tables

    result = statement_for(settings.ledger(), donor, as_of, recorded_at)
    emit(fmt, statement_tables(result, width()) if fmt == "table" else None,
         statement_json(result) if fmt == "json" else "", statement_csv(result) if fmt == "csv" else "")


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
@click.option("--donor", "donor", help="A workbook for this donor alone (its statement), by code.")
@pass_settings
@handles_refusals
def export(settings: Settings, output: str, as_of, recorded_at, donor: str | None) -> None:
    """Write the audit workbook (.xlsx) as of a date, or with --donor one donor's statement workbook."""
    from reports.statement_workbook import export_donor_workbook
    from reports.workbook import export_workbook

    target = _output(output, ".xlsx")
    progress = _progress()
    if donor is None:
        result = export_workbook(settings.ledger(), target, as_of, progress=progress, recorded_at=recorded_at)
    else:
        result = export_donor_workbook(settings.ledger(), target, donor, as_of, progress=progress, recorded_at=recorded_at)
    if progress:
        click.echo("\r\033[K", err=True, nl=False)
    verified = "chain verified" if result.verified else "CHAIN VERIFICATION FAILED (see the About sheet)"
    lines = f"{result.journal_lines:,} journal lines" if donor is None else f"the statement of donor {donor}"
    click.echo(f"wrote {target} as of {result.as_of}: {len(result.sheets)} sheets, {lines}; {verified}, "
               f"{result.entries} entries, head {result.head_hash}")
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
@click.option("--org-ref", hidden=True, help="Replaced by the ledger setting iati_reporting_org_ref.")
@click.option("--org-name", hidden=True, help="Replaced by the ledger setting iati_reporting_org_name.")
@pass_settings
@handles_refusals
def iati(settings: Settings, output: str, as_of, recorded_at, org_ref: str | None, org_name: str | None) -> None:
    """Write the ledger as one IATI 2.03 activity (commitments, receipts, disbursements, budgets,
    planned disbursements). The publisher, activity identifier, sector and recipient are ledger
    settings (`settings list`)."""
    from reports.iati import export_iati

    for option, value, name in (("--org-ref", org_ref, "iati_reporting_org_ref"),
                                ("--org-name", org_name, "iati_reporting_org_name")):
        if value is not None:
            fail(f"{option}: the reporting organisation is a ledger setting now: an admin sets it with "
                 f"`donor-ledger settings set {name} VALUE`")
    target = _output(output, ".xml")
    result = export_iati(settings.ledger(), target, as_of, recorded_at=recorded_at)
    click.echo(f"wrote {target} as of {result.as_of}: activity {result.identifier}, {result.transactions} transactions, "
               f"{result.budgets} budgets, {result.planned_disbursements} planned disbursements")
