"""Dashboard: funding against implementation per operative paragraph, as of a date.

Figures come from ``reports.funding`` (the same computation as ``report funding`` and the
workbook), alerts from ``ledger.queries`` and the chain check from ``ledger.services``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

from ledger import queries
from reports.funding import FundingReport, FundingRow, funding_report_for

from .base import LedgerScreen
from .common import bar, parse_date, percent, usd_cents
from .verification import VerificationStopped, verify_in_child

BAR_WIDTH = 36
LEGEND = Text.assemble(
    ("█", "green"), " spent  ", ("▓", "cyan"), " cash available  ", ("▒", "blue"), " pledged, not received  ",
    ("·", "bold red"), " gap",
)


@dataclass(frozen=True)
class DashboardData:
    report: FundingReport


class AlertsLoaded(Message):
    def __init__(self, count: int, overdue: list[queries.OverduePledge]):
        super().__init__()
        self.count, self.overdue = count, overdue


class DashboardLoaded(Message):
    def __init__(self, data: DashboardData):
        super().__init__()
        self.data = data


class ChainChecked(Message):
    def __init__(self, ok: bool, message: str):
        super().__init__()
        self.ok, self.message = ok, message


def funding_table(report: FundingReport) -> Table:
    table = Table(box=box.SIMPLE_HEAD, expand=True, padding=(0, 1), pad_edge=False, show_footer=False)
    table.add_column("¶", justify="right", width=2, no_wrap=True)
    table.add_column("Paragraph", ratio=1, no_wrap=True, overflow="ellipsis", min_width=12)
    for name in ("Requirement", "Pledged", "Received", "Spent", "Available", "Gap"):
        table.add_column(name, justify="right", no_wrap=True, min_width=12)
    table.add_column("Progress", justify="right", no_wrap=True, min_width=8)

    def cells(row: FundingRow, style: str = "") -> list:
        gap = Text(usd_cents(row.gap), style="bold red" if row.gap else "")
        available = Text(usd_cents(row.available), style="yellow" if row.requirement and row.available <= 0 else "")
        return [
            ("U" if row is not report.totals else "Σ") if row.paragraph is None else str(row.paragraph),
            Text(row.title, style=style),
            usd_cents(row.requirement), usd_cents(row.pledged), usd_cents(row.received),
            usd_cents(row.spent_on_activities), available, gap, percent(row.progress_pct).rjust(8),
        ]

    for row in report.rows:
        table.add_row(*cells(row))
    table.add_section()
    table.add_row(*cells(report.totals, "bold"), style="bold")
    return table


def bars(report: FundingReport) -> Group:
    """One bar per paragraph, scaled to the larger of its requirement and its pledges."""
    lines = []
    for row in report.rows:
        scale = max(row.requirement, row.pledged, 1)
        cash = max(row.available, 0)
        not_received = max(row.pledged - row.received, 0)
        parts = [
            (row.spent_on_activities / scale, "█", "green"),
            (cash / scale, "▓", "cyan"),
            (not_received / scale, "▒", "blue"),
            (row.gap / scale, "·", "bold red"),
        ]
        label = "U " if row.paragraph is None else f"{row.paragraph:>2}"
        progress = row.progress_pct
        line = Text.assemble(
            (label, "bold"), " ", bar(parts, BAR_WIDTH), " ",
            (f"{'' if row.coverage_pct is None else f'{row.coverage_pct:.0f}% funded':>12} ", "dim"),
            bar([(float(progress or 0) / 100, "■", "magenta")], 10),
            f" {percent(progress):>6}",
        )
        lines.append(line)
    lines.append(Text.assemble(LEGEND, ("   ■ progress", "magenta")))
    return Group(*lines)


class FundingView(Static, can_focus=True):
    """The funding table; focusable so that the screen's keys work without a field in the way."""


class DashboardScreen(LedgerScreen):
    MODE = "dashboard"
    AUTO_FOCUS = "#funding"
    TITLE = "Dashboard"
    CSS_PATH = "dashboard.tcss"
    HELP = (
        "For each operative paragraph of resolution 20/7: its **requirement** (the budgets of its "
        "activities, cancelled ones excluded), what donors **pledged**, what was **received**, what was "
        "**spent** on its activities, the cash still **available**, the **gap** (requirement less "
        "programmable pledges) and the **progress** of its activities, weighted by budget. "
        "*Unearmarked* money can fill any paragraph's gap, so the total gap counts it.\n\n"
        "The bars show, per paragraph, spent / cash available / pledged but not received / gap, scaled "
        "to the larger of requirement and pledges. **Alerts** list overdue pledges (with a due date "
        "before the as-of date and something outstanding), paragraphs that need money and have no cash "
        "left, and the state of the journal's hash chain (checked in the background).\n\n"
        "All money in USD. Requirement and progress are today's values (activities are reference data)."
    )
    BINDINGS: ClassVar = [
        Binding("a", "as_of", "As-of date"),
        Binding("v", "verify", "Verify chain"),
        Binding("e", "export", "Export"),
    ]

    class Ready(Message):
        """The dashboard's figures are on screen (tests and the benchmark wait for this)."""

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="dash-top", classes="toolbar"):
            yield Label("Funding vs implementation, USD, as of")
            yield Input(self.ledger_app.as_of.isoformat(), id="as-of", placeholder="YYYY-MM-DD", max_length=10)
            yield Static("loading…", id="dash-meta", classes="status-line")
        yield FundingView("", id="funding")
        with Horizontal(id="dash-bottom"):
            with Vertical(id="bars-box", classes="panel"):
                yield Static("", id="bars")
            with Vertical(id="alerts-box", classes="panel"):
                yield Static("", id="alerts")
                yield Static("Journal chain: not checked yet", id="chain")

    def on_mount(self) -> None:
        self.query_one("#bars-box").border_title = "Funding and progress per paragraph"
        self.query_one("#alerts-box").border_title = "Alerts"
        self.loaded: DashboardData | None = None
        self.chain_state: tuple[bool, str] | None = None
        self.query_one("#funding").focus()
        self.reload()

    def on_screen_resume(self) -> None:
        if getattr(self, "loaded", None) is not None:
            self.reload()

    def reload(self) -> None:
        self.query_one("#dash-meta", Static).update("loading…")
        self.alerts: AlertsLoaded | None = None
        self._load(self.ledger_app.as_of)
        self._load_alerts(self.ledger_app.as_of)

    @work(thread=True, exclusive=True, exit_on_error=False, group="dashboard")
    def _load(self, as_of: dt.date) -> None:
        self.post_message(DashboardLoaded(DashboardData(funding_report_for(self.ledger, as_of))))

    @work(thread=True, exclusive=True, exit_on_error=False, group="alerts")
    def _load_alerts(self, as_of: dt.date) -> None:
        self.post_message(AlertsLoaded(*queries.overdue_pledges(self.ledger, as_of, limit=5)))

    def on_dashboard_loaded(self, message: DashboardLoaded) -> None:
        data = self.loaded = message.data
        report = data.report
        self.query_one("#funding", Static).update(funding_table(report))
        self.query_one("#bars", Static).update(bars(report))
        self.query_one("#dash-meta", Static).update(Text(
            f"{report.entries} journal entries · head {report.chain_head[:12]}… · "
            f"generated {report.generated_at:%Y-%m-%d %H:%M} UTC", style="dim"))
        self.show_alerts()
        self.post_message(self.Ready())
        if self.chain_state is None:
            self._verify()

    def on_alerts_loaded(self, message: AlertsLoaded) -> None:
        self.alerts = message
        self.show_alerts()

    def show_alerts(self) -> None:
        data, alerts = self.loaded, self.alerts
        if data is None:
            return
        text = Text()
        if alerts is None:
            text.append("… looking for overdue pledges\n", style="dim")
        elif alerts.count:
            text.append(f"⚠ {alerts.count} overdue pledge(s)\n", style="bold yellow")
            for p in alerts.overdue:
                text.append(f"  {p.reference} {p.donor}: {p.currency} {p.outstanding:,} due {p.due_on} ({p.days} days)\n")
        else:
            text.append("✓ no overdue pledges\n", style="green")
        dry = [r for r in data.report.rows if r.paragraph is not None and r.requirement > r.spent_on_activities
               and r.available <= 0]
        if dry:
            text.append(f"⚠ {len(dry)} paragraph(s) needing money with no cash left:\n", style="bold yellow")
            for row in dry:
                text.append(f"  ¶{row.paragraph} {row.title}\n")
        else:
            text.append("✓ every paragraph that needs money holds cash\n", style="green")
        self.query_one("#alerts", Static).update(text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="verify")
    def _verify(self) -> None:
        try:
            ok, message = verify_in_child(self.ledger.url, self.ledger.user_name)
        except VerificationStopped:
            return
        self.post_message(ChainChecked(ok, message))

    def on_chain_checked(self, message: ChainChecked) -> None:
        self.chain_state = (message.ok, message.message)
        widget = self.query_one("#chain", Static)
        if message.ok:
            widget.update(Text(f"✓ Journal chain intact ({message.message.split(': ', 1)[-1].split(',')[0]})", style="green"))
        else:
            widget.update(Text(f"✗ BROKEN CHAIN: {message.message}", style="bold red"))

    @on(Input.Submitted, "#as-of")
    def _as_of_submitted(self, event: Input.Submitted) -> None:
        day = parse_date(event.value)
        if day is None:
            self.notify(f"{event.value!r} is not a date as YYYY-MM-DD", severity="error")
            return
        self.ledger_app.as_of = day
        self.query_one("#funding").focus()
        self.reload()

    def action_as_of(self) -> None:
        field = self.query_one("#as-of", Input)
        field.focus()
        field.select_all()

    def action_verify(self) -> None:
        self.query_one("#chain", Static).update("Journal chain: checking…")
        self._verify()

    def action_export(self) -> None:
        self.ledger_app.run_on("transfer", "export")
