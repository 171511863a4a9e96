"""The Reminders screen (reached from Pledges with ``m``): per donor, the instalments overdue or due
within N days of the as-of date (``reports.reminders``, the same as ``report reminders``), and the
workbook a finance officer sends (``report reminders --format xlsx -o FILE``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Static

from reports.reminders import RemindersReport, reminders_report_for, reminders_table, write_reminders_workbook

from .common import HelpScreen, keys_help


class RemindersScreen(ModalScreen[Any]):
    CSS_PATH = "pledges.tcss"
    DEFAULT_CSS = """
    RemindersScreen { align: center middle; }
    RemindersScreen .row { height: 3; }
    RemindersScreen #within { width: 1fr; }
    RemindersScreen #workbook-path { width: 1fr; }
    RemindersScreen #reminders-scroll { height: 1fr; overflow-x: auto; }
    RemindersScreen #reminders { width: auto; }
    """
    BINDINGS: ClassVar = [
        Binding("escape", "dismiss(None)", "Back"),
        Binding("ctrl+o", "write", "Write workbook", priority=True),
        Binding("f5", "reload", "Reload"),
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(self, as_of: dt.date | None = None):
        super().__init__()
        self.as_of = as_of or dt.date.today()
        self.report: RemindersReport | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="detail"):
            yield Label(f"Reminders as of {self.as_of}", id="detail-title")
            with Horizontal(classes="row"):
                yield Input(placeholder="days (default: the reminder_days setting)", id="within", type="integer")
                yield Input(f"reminders-{self.as_of.isoformat()}.xlsx", id="workbook-path")
            with VerticalScroll(id="reminders-scroll"):
                yield Static("Loading…", id="reminders")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        text = self.query_one("#within", Input).value.strip()
        self._load(int(text) if text.isdigit() else None)

    @on(Input.Submitted, "#within")
    def _within_given(self) -> None:
        self.action_reload()

    @work(thread=True, exclusive=True, exit_on_error=False, group="reminders")
    def _load(self, within: int | None) -> None:
        report = reminders_report_for(self.app.ledger, self.as_of, within)
        self.app.call_from_thread(self._show, report)

    def _show(self, report: RemindersReport) -> None:
        self.report = report
        count = sum(len(d.reminders) for d in report.donors)
        self.query_one("#detail-title", Label).update(
            f"Reminders as of {report.as_of}: {count} instalment(s) of {len(report.donors)} donor(s) overdue or due "
            f"by {report.until} (within {report.within} days)")
        self._render_table()

    def on_resize(self) -> None:
        self._render_table()

    def _render_table(self) -> None:
        if self.report is not None:  # as wide as the screen allows: under 110 columns every amount stays whole
            self.query_one("#reminders", Static).update(reminders_table(self.report, self.size.width - 6))

    def action_write(self) -> None:
        if self.report is None:
            return
        path = Path(self.query_one("#workbook-path", Input).value.strip() or "reminders.xlsx").expanduser()
        if path.suffix.lower() != ".xlsx":
            self.notify(f"{path}: the workbook's name must end in .xlsx", severity="error")
            return
        self._write(self.report, path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="reminders-write")
    def _write(self, report: RemindersReport, path: Path) -> None:
        try:
            count = write_reminders_workbook(report, path)
        except OSError as exc:
            self.app.call_from_thread(self.notify, f"{path}: not written: {exc.strerror or exc}", severity="error")
            return
        self.app.call_from_thread(self.notify, f"wrote {path}: {count} instalment(s)", title="Saved",
                                  severity="information")

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(
            "# Reminders\n\nPer donor, each instalment that is overdue (its due date is before the as-of date "
            "and part of it is unpaid) or falls due within the next N days, with its unpaid part in the pledge's "
            "currency and in USD at the as-of date's rate. N is the first field (empty: the reminder_days "
            "setting); the second is the workbook to write, one sheet grouped by donor, ready to send "
            "(the same as `donor-ledger report reminders --format xlsx -o FILE`).\n\n" + keys_help(self.BINDINGS)))
