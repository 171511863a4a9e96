"""The history of an activity or a donor: its versions, each with who, when, why and the fields
it changed (docs/rules.md#reference-data-versions)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ledger import queries


def history_table(title: str, versions: list[queries.VersionView]) -> Table:
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


class HistoryDialog(ModalScreen[None]):
    """The history of one activity (or donor) in a dialog; Escape or Enter closes it."""

    BINDINGS: ClassVar = [Binding("escape,enter", "dismiss", "Close")]
    DEFAULT_CSS = """
    HistoryDialog { align: center middle; }
    HistoryDialog > VerticalScroll { width: 110; max-width: 95%; height: auto; max-height: 80%;
        border: thick $primary; background: $surface; padding: 1 2; }
    """

    def __init__(self, title: str, versions: list[queries.VersionView]):
        super().__init__()
        self.table = history_table(title, versions)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.table, id="history")
