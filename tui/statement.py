"""The statement of one donor (opened from Donors with `s`): its pledges with their events, the
spending its money paid for, its totals and balance (reports/statement.py), as of the app's date;
`x` (or Enter in the path) writes the donor's workbook (`export --donor`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class StatementLoaded(Message):
    def __init__(self, statement: Any = None, problem: str = ""):
        super().__init__()
        self.statement, self.problem = statement, problem


class StatementSaved(Message):
    def __init__(self, text: str, ok: bool):
        super().__init__()
        self.text, self.ok = text, ok


class StatementDialog(ModalScreen[None]):
    BINDINGS: ClassVar = [Binding("escape", "dismiss", "Close"), Binding("x", "export", "Export workbook")]
    DEFAULT_CSS = """
    StatementDialog { align: center middle; }
    StatementDialog > Vertical { width: 96%; height: 90%; border: thick $primary; background: $surface; padding: 0 1; }
    StatementDialog #statement-box { height: 1fr; }
    StatementDialog #statement-path { margin-top: 1; }
    """

    def __init__(self, ledger, code: str, as_of: dt.date):
        super().__init__()
        self.ledger, self.code, self.as_of = ledger, code, as_of
        self.loaded = None  # the statement (reports/statement.py::Statement), laid out again on a resize

    def compose(self) -> ComposeResult:
        with Vertical():
            with VerticalScroll(id="statement-box"):
                yield Static(f"Statement of {self.code} as of {self.as_of}: loading…", id="statement")
            yield Input(f"statement-{self.code}-{self.as_of.isoformat()}.xlsx", id="statement-path")
            yield Static("x or Enter in the path: write the donor's workbook; Escape: close", id="statement-status")

    def on_mount(self) -> None:
        self.query_one("#statement-box").focus()
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="statement")
    def _load(self) -> None:
        from ledger.errors import LedgerError
        from reports.statement import statement_for

        try:
            self.post_message(StatementLoaded(statement_for(self.ledger, self.code, self.as_of)))
        except LedgerError as refused:
            self.post_message(StatementLoaded(problem=str(refused)))

    def on_statement_loaded(self, message: StatementLoaded) -> None:
        self.loaded = message.statement
        if message.problem:
            self.query_one("#statement", Static).update(Text(message.problem, style="bold red"))
        else:
            self._show()

    def on_resize(self) -> None:
        if self.loaded is not None:
            self._show()

    def _show(self) -> None:
        """The statement laid out for the width of the box (its scroll bar left free): every amount whole."""
        from reports.statement import statement_tables

        box = self.query_one("#statement-box")
        width = box.scrollable_content_region.width - box.styles.scrollbar_size_vertical
        self.query_one("#statement", Static).update(statement_tables(self.loaded, max(width, 40)))

    def action_export(self) -> None:
        path = Path(self.query_one("#statement-path", Input).value.strip()).expanduser()
        status = self.query_one("#statement-status", Static)
        if path.suffix.lower() != ".xlsx":
            status.update(Text(f"{path}: the workbook must end in .xlsx", style="bold red"))
            return
        if not path.parent.exists():
            status.update(Text(f"{path}: folder {path.parent} does not exist", style="bold red"))
            return
        status.update(f"Writing {path}…")
        self._export(path)

    @on(Input.Submitted, "#statement-path")
    def _path_submitted(self) -> None:
        self.action_export()

    @work(thread=True, exclusive=True, exit_on_error=False, group="statement-export")
    def _export(self, path: Path) -> None:
        from reports.statement_workbook import export_donor_workbook

        try:
            result = export_donor_workbook(self.ledger, path, self.code, self.as_of)
        except Exception as exc:  # noqa: BLE001 - said in the dialog, which stays usable
            why = (exc.strerror or exc) if isinstance(exc, OSError) else exc
            self.post_message(StatementSaved(f"✗ {path}: not written: {why}", ok=False))
            return
        verdict = "chain verified" if result.verified else "CHAIN VERIFICATION FAILED (see the About sheet)"
        self.post_message(StatementSaved(f"✓ Saved {result.path} ({len(result.sheets)} sheets, {verdict})", ok=True))

    def on_statement_saved(self, message: StatementSaved) -> None:
        self.query_one("#statement-status", Static).update(
            Text(message.text, style="bold green" if message.ok else "bold red"))
