"""Dashboard: funding against implementation per operative paragraph, as of a date.

Figures come from ``reports.funding`` (the same computation as ``report funding`` and the
workbook), alerts from ``ledger.queries`` and the chain check from ``ledger.services``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

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

from .base import LedgerScreen
from .common import bar, parse_date, percent, usd_cents
from .verification import VerificationStopped, verify_in_child

if TYPE_CHECKING:  # the database layers load in the workers, after the first paint
    from ledger.queries import OverduePledge
    from reports.funding import FundingReport, FundingRow

BAR_WIDTH = 36  # the widest bar; narrower when the panel is
# The funding table shows cents from this terminal width on (titles then get 30 cells or more);
# narrower, whole dollars, so that the paragraph titles stay readable (38 cells at 120).
CENTS_FROM_WIDTH = 140
# Below this width the requirement column makes way for the gap and progress (80x24 terminals).
REQUIREMENT_FROM_WIDTH = 96
LEGEND = Text.assemble(
    ("█", "green"), " spent  ", ("▓", "cyan"), " cash available  ", ("▒", "blue"), " pledged, not received  ",
    ("·", "bold red"), " gap  ", ("■", "magenta"), " progress",
)
SHORT_LEGEND = Text.assemble(
    ("█", "green"), " spent ", ("▓", "cyan"), " cash ", ("▒", "blue"), " not received ", ("·", "bold red"), " gap ",
    ("■", "magenta"), " progress",
)


@dataclass(frozen=True)
class DashboardData:
    report: FundingReport


class AlertsLoaded(Message):
    def __init__(self, count: int, overdue: list[OverduePledge], open_budgets: dict[int, Decimal]):
        super().__init__()
        self.count, self.overdue, self.open_budgets = count, overdue, open_budgets


def open_budgets(activities) -> dict[int, Decimal]:
    """Paragraph -> what its planned and ongoing activities still have to spend (budget less spent,
    never below zero): the money the paragraph still needs. Completed and cancelled activities
    need nothing more."""
    need: dict[int, Decimal] = {}
    for a in activities:
        if a.status in ("planned", "ongoing"):
            need[a.paragraph] = need.get(a.paragraph, Decimal(0)) + max(a.budget_usd - a.spent_usd, Decimal(0))
    return need


class DashboardLoaded(Message):
    def __init__(self, data: DashboardData):
        super().__init__()
        self.data = data


class ChainChecked(Message):
    def __init__(self, ok: bool, message: str, entries: int):
        super().__init__()
        self.ok, self.message, self.entries = ok, message, entries


def usd_whole(cents: int) -> str:
    """Cents as whole dollars, rounded half up (the narrow dashboard)."""
    dollars = (abs(cents) + 50) // 100
    return f"{'-' if cents < 0 and dollars else ''}{dollars:,}"


def funding_table(report: FundingReport, cents: bool = True, requirement: bool = True) -> Table:
    """Per paragraph and in total; ``requirement=False`` (a narrow terminal) leaves the
    requirement out so that the gap and progress stay on screen."""
    money = usd_cents if cents else usd_whole
    figures = ("Requirement", "Pledged", "Received", "Spent", "Available", "Gap")[0 if requirement else 1:]
    # one blank cell of padding plus the box's blank divider between columns
    table = Table(box=box.SIMPLE_HEAD, expand=True, padding=(0, 0, 0, 1), pad_edge=False, show_edge=False,
                  show_footer=False)
    table.add_column("¶", justify="right", width=2, no_wrap=True)
    table.add_column("Paragraph", ratio=1, no_wrap=True, overflow="ellipsis", min_width=12 if requirement else 5)
    for name in figures:
        table.add_column(name, justify="right", no_wrap=True, min_width=12 if cents else 9)
    table.add_column("Progress", justify="right", no_wrap=True, min_width=8)

    def cells(row: FundingRow, style: str = "") -> list:
        gap = Text(money(row.gap), style="bold red" if row.gap else "")
        available = Text(money(row.available), style="yellow" if row.requirement and row.available <= 0 else "")
        return [
            ("U" if row is not report.totals else "Σ") if row.paragraph is None else str(row.paragraph),
            # the total gap is not the column's sum: unearmarked money covers part of it
            Text("Totals (gap net of unearmarked)" if row is report.totals else row.title, style=style),
            *([money(row.requirement)] if requirement else []), money(row.pledged), money(row.received),
            money(row.spent_on_activities), available, gap, percent(row.progress_pct).rjust(8),
        ]

    for row in report.rows:
        table.add_row(*cells(row))
    table.add_section()
    table.add_row(*cells(report.totals, "bold"), style="bold")
    return table


def bars(report: FundingReport, width: int = BAR_WIDTH, short_legend: bool = False) -> Group:
    """One bar per paragraph, scaled to the larger of its requirement and its pledges."""
    lines = []
    for row in report.rows:
        label = " U" if row.paragraph is None else f"{row.paragraph:>2}"
        if not (row.requirement or row.pledged):
            lines.append(Text.assemble((label, "bold"), " ", ("no activities, nothing pledged", "dim")))
            continue
        scale = max(row.requirement, row.pledged, 1)
        cash = max(row.available, 0)
        not_received = max(row.pledged - row.received, 0)
        parts = [
            (row.spent_on_activities / scale, "█", "green"),
            (cash / scale, "▓", "cyan"),
            (not_received / scale, "▒", "blue"),
        ]
        # the gap keeps its share of the bar whatever the other segments take (spending paid with
        # unearmarked money can fill the rest): a red gap in the table is always dots here
        gap_cells = min(width, round(row.gap / scale * width)) if row.gap > 0 else 0
        if row.gap > 0:
            gap_cells = max(gap_cells, 1)
        progress = row.progress_pct
        line = Text.assemble(
            (label, "bold"), " ", bar(parts, width, room=width - gap_cells), ("·" * gap_cells, "bold red"), " ",
            (f"{'' if row.coverage_pct is None else f'{row.coverage_pct:.0f}% covered':>13} ", "dim"),
            bar([(float(progress or 0) / 100, "■", "magenta")], 10),
            f" {percent(progress):>6}",
        )
        lines.append(line)
    lines.append(SHORT_LEGEND if short_legend else LEGEND)
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
        "All money in USD; in a terminal narrower than 140 columns, rounded to whole dollars so that the "
        "paragraph titles stay readable (the report and the workbook show cents). Requirement and progress "
        "are today's values (activities are reference data)."
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
            yield Label("Funding vs implementation, USD, as of", id="as-of-label")
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
        self.chain_checked_at: int | None = None  # the entry count the last check began at
        self.query_one("#funding").focus()
        self.reload()

    RELOAD_WHEN_STALE = False  # it reloads whenever it is shown again (below)

    def on_screen_resume(self) -> None:
        if getattr(self, "loaded", None) is not None:
            self.reload()

    def reload(self) -> None:
        self.query_one("#dash-meta", Static).update("loading…")
        self.alerts: AlertsLoaded | None = None
        self._load(self.ledger_app.as_of)  # the alerts follow the figures (they would compete for the CPU)

    @work(thread=True, exclusive=True, exit_on_error=False, group="dashboard")
    def _load(self, as_of: dt.date) -> None:
        from reports.funding import funding_report_for

        self.post_message(DashboardLoaded(DashboardData(funding_report_for(self.ledger, as_of))))

    @work(thread=True, exclusive=True, exit_on_error=False, group="alerts")
    def _load_alerts(self, as_of: dt.date) -> None:
        from ledger import queries

        count, overdue = queries.overdue_pledges(self.ledger, as_of, limit=5)
        self.post_message(AlertsLoaded(count, overdue, open_budgets(queries.activities(self.ledger))))

    def on_dashboard_loaded(self, message: DashboardLoaded) -> None:
        data = self.loaded = message.data
        report = data.report
        self.show_figures()
        today = "" if report.as_of == dt.date.today() else " · requirement and progress: today's"
        self.query_one("#dash-meta", Static).update(Text(
            f"{report.entries:,} entries · chain head {report.chain_head[:8]}… · "
            f"{report.generated_at:%Y-%m-%d %H:%M} UTC{today}", style="dim"))
        self.show_alerts()
        self.post_message(self.Ready())
        if self.alerts is None:
            self._load_alerts(report.as_of)
        if self.chain_checked_at != report.entries:
            # first time, or entries were posted since the check began: check again (in the background);
            # a check already running for this count is not started twice
            self.chain_checked_at = report.entries
            if self.chain_state is not None:
                self.query_one("#chain", Static).update(Text(f"… checking the chain again ({report.entries:,} "
                                                             "entries)", style="dim"))
            self._verify(report.entries)

    def show_figures(self) -> None:
        """The table and the bars, fitted to the width: cents only where titles stay readable."""
        if getattr(self, "loaded", None) is None:
            return
        report = self.loaded.report
        cents = self.app.size.width >= CENTS_FROM_WIDTH
        self.query_one("#as-of-label", Label).update(
            "Funding vs implementation, USD, as of" if cents else "Funding vs implementation, whole USD, as of")
        self.query_one("#funding", Static).update(
            funding_table(report, cents, requirement=self.app.size.width >= REQUIREMENT_FROM_WIDTH))
        # label, bar, "100% covered ", progress bar and figure: 36 cells besides the bar
        panel = self.query_one("#bars", Static).content_size.width or 60
        self.query_one("#bars", Static).update(
            bars(report, max(10, min(BAR_WIDTH, panel - 36)), short_legend=panel < LEGEND.cell_len))

    def on_resize(self) -> None:
        self.call_after_refresh(self.show_figures)

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
            text.append(f"⚠ {alerts.count} overdue pledge(s): outstanding, due date, days late\n", style="bold yellow")
            figures = [f"{p.outstanding:,}" for p in alerts.overdue]
            reference_width = max(len(f"{p.reference} {p.donor}") for p in alerts.overdue)
            figure_width = max(map(len, figures))
            for p, figure in zip(alerts.overdue, figures, strict=True):
                text.append(f"  {p.reference + ' ' + p.donor:<{reference_width}} {p.currency} {figure:>{figure_width}}"
                            f"  {p.due_on}  {p.days:>5,} d\n")
            if alerts.count > len(alerts.overdue):
                text.append(f"  … and {alerts.count - len(alerts.overdue)} more: Pledges (2), status overdue\n",
                            style="dim")
        else:
            text.append("✓ no overdue pledges\n", style="green")
        if alerts is not None:
            short = []
            for row in data.report.rows:
                need = alerts.open_budgets.get(row.paragraph, Decimal(0)) if row.paragraph is not None else Decimal(0)
                cash = Decimal(max(row.available, 0)).scaleb(-2)
                if need > cash:
                    short.append((row, need, cash))
            if short:
                text.append(f"⚠ {len(short)} paragraph(s) whose open activities need more than their cash "
                            "(USD):\n", style="bold yellow")
                for row, need, cash in short:
                    title = row.title if len(row.title) <= 22 else row.title[:21] + "…"
                    text.append(f"  ¶{row.paragraph} {title:<22} needs {usd_whole(int(need * 100))} · "
                                f"cash {usd_whole(int(cash * 100))}\n")
            else:
                text.append("✓ every paragraph holds the cash its open activities still need\n", style="green")
        self.query_one("#alerts", Static).update(text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="verify")
    def _verify(self, entries: int) -> None:
        try:
            ok, message = verify_in_child(self.ledger.url, self.ledger.user_name)
        except VerificationStopped:
            return
        self.post_message(ChainChecked(ok, message, entries))

    def on_chain_checked(self, message: ChainChecked) -> None:
        if message.entries != self.chain_checked_at:
            return  # an earlier check, overtaken by one for more entries
        self.chain_state = (message.ok, message.message)
        widget = self.query_one("#chain", Static)
        if message.ok:
            widget.update(Text(f"✓ Journal chain intact ({message.message.split(': ', 1)[-1].split(',')[0]})", style="green"))
        else:
            widget.update(Text(f"✗ BROKEN CHAIN: {message.message}", style="bold red"))

    @on(Input.Submitted, "#as-of")
    def _as_of_submitted(self, event: Input.Submitted) -> None:
        day = parse_date(event.value)
        shown = self.ledger_app.as_of.isoformat()
        if day is None or day > dt.date.today():
            why = "is not a date as YYYY-MM-DD" if day is None else "is after today: nothing is dated then yet"
            self.notify(f"{event.value!r} {why}; the figures stay as of {shown}", severity="error")
            event.input.value = shown  # the field says what the figures are as of
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
        self._verify(self.chain_checked_at)

    def action_export(self) -> None:
        self.ledger_app.run_on("transfer", "prepare_export")
