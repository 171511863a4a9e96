"""``demo [--no-tui]``: load the demo ledger through the importers, then open it."""

from __future__ import annotations

import click

from cli.group import Settings, cli, fail, handles_refusals, pass_settings
from cli.import_commands import progress_on_terminal


@cli.command()
@click.option("--no-tui", is_flag=True, help="Print the funding report instead of opening the terminal UI.")
@pass_settings
@handles_refusals
def demo(settings: Settings, no_tui: bool) -> None:
    """Load the demo data set (2011-2016, eight donors, seven currencies) and open it."""
    from imports.demo_data import CLOSED_THROUGH, demo_state, load_demo
    from imports.readers import ImportFileError

    ledger = settings.ledger()
    state = demo_state(ledger)
    if state == "other":
        fail("this ledger already holds journal entries that are not the demo; load the demo into a new "
             "ledger, e.g. donor-ledger --db demo.db demo")
    if state == "empty":
        try:
            with progress_on_terminal("loading the demo") as progress:
                results = load_demo(ledger, progress)
        except ImportFileError as exc:  # only if the shipped files were damaged
            fail(*(str(p) for p in exc.problems))
        loaded = ", ".join(f"{r.kind} {r.rows}" for r in results)
        click.echo(f"demo loaded: {sum(r.rows for r in results)} rows ({loaded}), one cancellation, one "
                   f"reversal, the periods closed through {CLOSED_THROUGH}, one pledge announced and one "
                   "announced then signed, and in 2017 one reallocation, one refund and one closed pledge", err=True)
    else:
        click.echo("the demo is already loaded; opening it", err=True)
    if not no_tui:
        try:
            from tui.app import run
        except ImportError:
            pass
        else:
            run(ledger)
            return
    print_funding_report(ledger)


def print_funding_report(ledger) -> None:
    from rich.console import Console

    from cli.report_commands import width
    from reports.funding import funding_report_for
    from reports.render import funding_table

    result = funding_report_for(ledger)
    Console(width=width()).print(funding_table(result, width()))
