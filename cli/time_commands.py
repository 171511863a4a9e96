"""Commands of time: closing and reopening periods, and the ledger settings."""

from __future__ import annotations

import click

from cli.group import ISO_DATE, Settings, cli, handles_refusals, pass_settings
from ledger import queries, services


@cli.command("close-period")
@click.option("--through", "through", type=ISO_DATE, required=True, help="The last day of the month closed.")
@click.option("--reason", required=True)
@pass_settings
@handles_refusals
def close_period(settings: Settings, through, reason: str) -> None:
    """Close every period through a month end: nothing dated on or before it is posted any more."""
    entry_id = services.close_period(settings.ledger(), through, reason)
    click.echo(f"closed through {through.isoformat()}: entry {entry_id}")


@cli.command("reopen-period")
@click.option("--reason", required=True)
@pass_settings
@handles_refusals
def reopen_period(settings: Settings, reason: str) -> None:
    """Reopen the latest closed period (admin): back to the close before it."""
    entry_id, previous = services.reopen_period(settings.ledger(), reason)
    now = f"closed through {previous[0].isoformat()}" if previous else "no period is closed"
    click.echo(f"reopened: entry {entry_id}; {now}")


@cli.group("settings")
def settings_group() -> None:
    """Ledger settings (admin), each change kept as a version."""


@settings_group.command("list")
@click.option("--history", "with_history", is_flag=True,
              help="Also every version of every setting: name, value, who, when (UTC), why.")
@pass_settings
@handles_refusals
def settings_list(settings: Settings, with_history: bool) -> None:
    """Every setting with its value in force and who set it, when and why; --history: every version."""
    ledger = settings.ledger()
    for name, value, version in services.settings_in_force(ledger):
        if version is None:
            origin = "(default)" if value else "(not set)"
        else:
            who, when, why = version
            origin = f"set by {who} at {when.isoformat(timespec='microseconds')}Z" + (f": {why}" if why else "")
        click.echo(f"{name}\t{value}\t{origin}")
    if with_history:
        versions = queries.settings_history(ledger)
        click.echo(f"\nhistory ({len(versions)} versions, oldest first): name, value, who, when (UTC), why")
        for v in versions:
            click.echo(f"{v.name}\t{v.value}\t{v.user}\t{v.at.isoformat(timespec='microseconds')}Z\t{v.reason}")


@settings_group.command("set")
@click.argument("name")
@click.argument("value")
@click.option("--reason", default="", help="Why the setting changes (kept with the version).")
@pass_settings
@handles_refusals
def settings_set(settings: Settings, name: str, value: str, reason: str) -> None:
    """Set a ledger setting (admin)."""
    result = services.set_setting(settings.ledger(), name, value, reason)
    click.echo(f"{name} = {value.strip()}: {result}")
