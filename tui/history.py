"""The history of an activity or a donor: its versions, each with who, when, why and the fields
it changed (docs/rules.md#reference-data-versions)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from ledger.versions import VersionView


def history_table(title: str, versions: list[VersionView]) -> Table:
    table = Table(expand=True, box=None, padding=(0, 1), pad_edge=False, title=title, title_justify="left")
    table.add_column("Version", justify="right", no_wrap=True)
    table.add_column("When (UTC)", no_wrap=True)
    table.add_column("Who", no_wrap=True)
    table.add_column("Why")
    table.add_column("Changes")
    for v in versions:
        changes = "\n".join(
            f"{c.field} = {c.new or ''}" if c.old is None else f"{c.field}: {c.old} → {c.new or ''}"
            for c in v.changes
        )
        table.add_row("–" if v.version is None else str(v.version), f"{v.at:%Y-%m-%d %H:%M:%S}", v.user,
                      Text(v.reason, style="italic"), changes)
    if not versions:
        table.add_row("", "", "", "", "no versions recorded")
    return table
