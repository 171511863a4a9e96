"""``import KIND FILE [--dry-run]`` and ``template KIND -o FILE``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from cli.group import Settings, cli, fail, handles_refusals, pass_settings
from imports.kinds import KINDS

KIND = click.Choice(list(KINDS))


@contextmanager
def progress_on_terminal(description: str) -> Iterator[Callable[[int], None] | None]:
    """A rows counter on stderr when it is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    # redrawn at each report (every 500 rows) rather than by rich's refresh thread: with no other
    # thread running, a large file can be read by a forked child (imports/rows.py)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,} rows"), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True, auto_refresh=False,
    ) as bar:
        task = bar.add_task(description, total=None)
        yield lambda rows: bar.update(task, completed=rows, refresh=True)


def report_problems(problems) -> None:
    """Every problem on its own line (FILE:LINE: COLUMN: message), then exit 1."""
    for problem in problems:
        click.echo(str(problem), err=True)
    paths = {p.path for p in problems}
    count = len(problems)
    where = paths.pop() if len(paths) == 1 else "import"
    click.echo(f"{where}: {count} problem{'s' if count != 1 else ''}; nothing was imported", err=True)
    sys.exit(1)


@cli.command("import")
@click.argument("kind", type=KIND)
@click.argument("file")
@click.option("--dry-run", is_flag=True, help="Check everything, business rules included, and write nothing.")
@pass_settings
@handles_refusals
def import_(settings: Settings, kind: str, file: str, dry_run: bool) -> None:
    """Import a .csv or .xlsx FILE of KIND: all of it, or nothing when any row has a problem."""
    from imports.importer import import_file
    from imports.readers import ImportFileError

    ledger = settings.ledger()
    try:
        with progress_on_terminal(f"importing {Path(file).name}") as progress:
            result = import_file(ledger, kind, file, dry_run=dry_run, progress=progress)
    except ImportFileError as exc:
        report_problems(exc.problems)
    for note in result.notes:
        click.echo(note)
    click.echo(result.summary())


@cli.command()
@click.argument("kind", type=KIND)
@click.option("-o", "--output", required=True, help="FILE.xlsx or FILE.csv")
@pass_settings
@handles_refusals
def template(settings: Settings, kind: str, output: str) -> None:
    """Write an import template for KIND: .xlsx with drop-downs, or a .csv header."""
    from imports.templates import write_template

    suffix = Path(output).suffix.lower()
    if Path(output).is_dir():
        fail(f"{output}: is a folder; give the path of a new .xlsx or .csv file")
    if suffix not in (".xlsx", ".csv"):
        fail(f"{output}: a template is an .xlsx or a .csv file")
    lists = None
    if suffix == ".xlsx":
        from imports.templates import lists_from

        with settings.ledger().reading() as session:
            lists = lists_from(session)
    write_template(kind, output, lists)
    click.echo(f"template for {kind} written to {output}")
