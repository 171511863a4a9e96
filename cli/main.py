"""The ``donor-ledger`` console script: the command group of cli/group.py with every command
module registered (cli/commands.py)."""

from __future__ import annotations

import sys

import click

from cli.group import cli


def main() -> None:
    # registers the sub-commands; imported here so that `import cli.main` alone stays as light
    # as the start-up check of tests/test_tui_start.py requires
    from cli import commands  # noqa: F401

    try:
        cli.main(prog_name="donor-ledger", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(1)
