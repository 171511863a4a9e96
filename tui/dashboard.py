"""Dashboard: per operative paragraph as of a date, in two views a person can add up.

- the funding view: whose money, per row of allocations (each paragraph's earmarked money, then the
  unearmarked money): pledged, received, disbursed from it, PSC charged on it, and the cash still
  available (= received - disbursed - PSC);
- the implementation view: each paragraph's activities, whatever money paid for them: requirement,
  programmable pledges, spent, gap and progress; the unearmarked row fills part of the gaps.

Figures come from ``reports.funding`` (the same computation as ``report funding`` and the
workbook), alerts from ``ledger.alerts`` (as ``report alerts``) and the chain check from
``ledger.services`` (in a child process; the app keeps its result for the journal screen too).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from .base import LedgerScreen
from .common import bar, parse_date, percent, usd_cents
from .verification import ChainCheck, VerificationStopped, verify_in_child

if TYPE_CHECKING:  # the database layers load in the workers, after the first paint
    from ledger.alerts import Alerts
    from reports.funding import FundingReport, FundingRow

BAR_WIDTH = 36  # the widest bar; narrower when the panel is
# Below this width the implementation view leaves out "% covered" (80x24 terminals): the money
# columns keep their cents, so that every column adds up to its total as shown.
COVERED_FROM_WIDTH = 100
FUNDING, IMPLEMENTATION = "funding", "implementation"
# what each view is and how its columns add up: (wide, narrow)
VIEW_TITLES = {
    FUNDING: (("Funding view", ": each row's own money (earmarked or unearmarked) · "),
              ("Funding view", " · ")),
    IMPLEMENTATION: (("Implementation view", ": each paragraph's activities, whatever money paid · "),
                     ("Implementation view", " · ")),
}
VIEW_SUMS = {FUNDING: "Available = Received − Refunded − Disbursed − PSC", IMPLEMENTATION: "Gap = Requirement − Programmable"}
WIDE_TITLE_FROM = 118
# Below this height (80x24 terminals) the bars make way for the alerts (the table shows the same figures).
SHORT_BELOW = 30


def view_title(view: str, width: int) -> Text:
    name, what = VIEW_TITLES[view][0 if width >= WIDE_TITLE_FROM else 1]
    return Text.assemble((name, "bold"), what, (VIEW_SUMS[view], "italic"))


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
    pipeline: tuple = ([], 0, 0)  # queries.pipeline: (the announced pledges, how many, their USD)


class AlertsLoaded(Message):
    def __init__(self, alerts: Alerts):
        super().__init__()
        self.alerts = alerts


class DashboardLoaded(Message):
    def __init__(self, data: DashboardData):
        super().__init__()
        self.data = data


def usd_whole(cents: int) -> str:
    """Cents as whole dollars, rounded half up (the alerts' short lines)."""
    dollars = (abs(cents) + 50) // 100
    return f"{'-' if cents < 0 and dollars else ''}{dollars:,}"


def _table(title_min: int) -> Table:
    # one blank cell of padding plus the box's blank divider between columns
    table = Table(box=box.SIMPLE_HEAD, expand=True, padding=(0, 0, 0, 1), pad_edge=False, show_edge=False)
    table.add_column("¶", justify="right", width=2, no_wrap=True)
    table.add_column("Paragraph", ratio=1, no_wrap=True, overflow="ellipsis", min_width=title_min)
    return table


def _label(report: FundingReport, row: FundingRow) -> str:
    return "Σ" if row is report.totals else "U" if row.paragraph is None else str(row.paragraph)


def funding_view(report: FundingReport) -> Table:
    """Per row of money (paragraphs, then Unearmarked) and in total: every column is the sum of
    its rows, and Available = Received - Refunded - Disbursed - PSC on every row."""
    table = _table(8)
    for name in ("Pledged", "Received", "Disbursed", "PSC", "Available"):
        table.add_column(name, justify="right", no_wrap=True)

    def cells(row: FundingRow) -> list:
        available = Text(usd_cents(row.available), style="yellow" if row.requirement and row.available <= 0 else "")
        title = "Totals" if row is report.totals else row.title
        return [_label(report, row), title, usd_cents(row.pledged), usd_cents(row.received),
                usd_cents(row.disbursed), usd_cents(row.psc), available]

    for row in report.rows:
        table.add_row(*cells(row))
    table.add_section()
    table.add_row(*cells(report.totals), style="bold")
    return table


def implementation_view(report: FundingReport, covered: bool = True) -> Table:
    """Per paragraph and in total: requirement, programmable pledges, spent on its activities
    (whatever paid), gap and progress. The unearmarked row adds its programmable money and takes
    from the paragraphs' gaps what it covers, so that every column adds up to the total."""
    table = _table(8)
    for name in ("Requirement", "Programmable", *(["% covered"] if covered else []), "Spent", "Gap", "Progress"):
        table.add_column(name, justify="right", no_wrap=True)

    def cells(row: FundingRow, gap: int, title: str) -> list:
        return [_label(report, row), title, usd_cents(row.requirement), usd_cents(row.programmable),
                *([percent(row.coverage_pct)] if covered else []), usd_cents(row.spent_on_activities),
                Text(usd_cents(gap), style="bold red" if gap > 0 else ""), percent(row.progress_pct)]

    for row in report.rows:
        if row.paragraph is not None:
            table.add_row(*cells(row, row.gap, row.title))
        else:
            table.add_row(*cells(row, -report.gap_covered_by_unearmarked, "Unearmarked, fills gaps"))
    table.add_section()
    table.add_row(*cells(report.totals, report.totals.gap, "Totals"), style="bold")
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
    """The table of the view shown; focusable so that the screen's keys work without a field in the way."""


class DashboardScreen(LedgerScreen):
    MODE = "dashboard"
    AUTO_FOCUS = "#funding"
    TITLE = "Dashboard"
    CSS_PATH = "dashboard.tcss"
    HELP = (
        "Two views of resolution 20/7's operative paragraphs, each a table whose columns add up to its "
        "totals row; **t** switches between them.\n\n"
        "**Funding view** (whose money): per paragraph, the money donors earmarked to it, and the "
        "*unearmarked* money on its own row: **pledged**, **received**, **disbursed** from that money (on "
        "whatever activity it paid for), the **PSC** charged on it, and the cash still **available** "
        "(= received − disbursed − PSC).\n\n"
        "**Implementation view** (what the activities need and used): per paragraph its **requirement** "
        "(the budgets of its activities, cancelled ones excluded), the **programmable** part of its "
        "earmarked pledges (net of PSC) and the share of the requirement it covers, what was **spent** on "
        "its activities whatever money paid (earmarked or unearmarked), the **gap** (requirement less "
        "programmable) and the **progress** of its activities, weighted by budget. Unearmarked money can "
        "fill any paragraph's gap: its row takes from the gaps what it covers, so the total gap counts it. "
        "Which pledges paid for a paragraph: the Activities screen (4).\n\n"
        "The bars show, per paragraph, spent / cash available / pledged but not received / gap, scaled "
        "to the larger of requirement and pledges. **Alerts** (as `report alerts`) list overdue pledges "
        "(a due date before the as-of date and something outstanding), paragraphs whose open activities "
        "need more than their cash, and the state of the journal's hash chain (checked in the background; "
        "the Journal screen shows the same check). Their first line is the **pipeline**: the pledges "
        "announced and not signed as of the date, at the announcement's rate (not part of pledged); "
        "**p** lists them.\n\n"
        "All money in USD with cents, as in the report and the workbook. Requirement, progress and the "
        "alerts are as recorded at the moment in the \"recorded at\" field (default: now)."
    )
    BINDINGS: ClassVar = [
        Binding("t", "switch_view", "Funding/implementation"),
        Binding("a", "as_of", "As-of date"),
        Binding("v", "verify", "Verify chain"),
        Binding("e", "export", "Export"),
        Binding("p", "pipeline", "Pipeline"),
    ]

    class Ready(Message):
        """The dashboard's figures are on screen (tests and the benchmark wait for this)."""

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="dash-top", classes="toolbar"):
            yield Label("Paragraphs, USD, as of", id="as-of-label")
            yield Input(self.ledger_app.as_of.isoformat(), id="as-of", placeholder="YYYY-MM-DD", max_length=10)
            yield Label("recorded at", id="recorded-at-label")
            yield Input(self._recorded_at_text(), id="recorded-at", placeholder="now", max_length=30)
            yield Static("loading…", id="dash-meta", classes="status-line")
        yield Static(view_title(FUNDING, self.app.size.width), id="view-title")
        yield FundingView("", id="funding")
        with Horizontal(id="dash-bottom"):
            with Vertical(id="bars-box", classes="panel"):
                yield Static("", id="bars")
            with Vertical(id="alerts-box", classes="panel"):
                yield Static("", id="pipeline")
                yield Static("Journal chain: not checked yet", id="chain")
                yield Static("", id="alerts")

    def on_mount(self) -> None:
        self.query_one("#bars-box").border_title = "Funding and progress per paragraph"
        self.query_one("#alerts-box").border_title = "Alerts"
        self.loaded: DashboardData | None = None
        self.shown_view = FUNDING
        self.chain_checked_at: int | None = None  # the entry count the last check started here began at
        self.query_one("#funding").focus()
        self.reload()

    RELOAD_WHEN_STALE = False  # it reloads whenever it is shown again (below)

    def on_screen_resume(self) -> None:
        if getattr(self, "loaded", None) is not None:
            self.reload()

    def reload(self) -> None:
        self.query_one("#dash-meta", Static).update("loading…")
        self.alerts: Alerts | None = None
        self._load(self.ledger_app.as_of, self.ledger_app.recorded_at)  # the alerts follow the figures

    @work(thread=True, exclusive=True, exit_on_error=False, group="dashboard")
    def _load(self, as_of: dt.date, recorded_at: dt.datetime | None) -> None:
        from ledger import queries
        from reports.funding import funding_report_for

        report = funding_report_for(self.ledger, as_of, recorded_at)
        self.post_message(DashboardLoaded(DashboardData(report, queries.pipeline(self.ledger, report.as_of, None))))

    @work(thread=True, exclusive=True, exit_on_error=False, group="alerts")
    def _load_alerts(self, as_of: dt.date, recorded_at: dt.datetime | None) -> None:
        from ledger.alerts import alerts_for

        self.post_message(AlertsLoaded(alerts_for(self.ledger, as_of, limit=5, recorded_at=recorded_at)))

    def on_dashboard_loaded(self, message: DashboardLoaded) -> None:
        data = self.loaded = message.data
        report = data.report
        self.show_figures()
        today = ("" if report.as_of == dt.date.today()
                 else f" · requirement and progress as recorded at {report.as_recorded_at:%Y-%m-%d %H:%M} UTC")
        closed = f" · closed through {report.closed_through}" if report.closed_through else ""
        self.query_one("#dash-meta", Static).update(Text(
            f"{report.entries:,} entries{closed} · chain head {report.chain_head[:8]}… · "
            f"{report.generated_at:%Y-%m-%d %H:%M} UTC{today}", style="dim"))
        self.show_pipeline()
        self.show_alerts()
        self.post_message(self.Ready())
        if self.alerts is None:
            self._load_alerts(report.as_of, report.as_recorded_at if self.ledger_app.recorded_at else None)
        checked = self.ledger_app.chain
        if (checked is None or checked.entries != report.entries) and self.chain_checked_at != report.entries:
            # first time, or entries were posted since the last check: check again (in the background);
            # a check already running for this count is not started twice
            self.chain_checked_at = report.entries
            if checked is not None:
                self.query_one("#chain", Static).update(Text(f"… checking the chain again ({report.entries:,} "
                                                             "entries)", style="dim"))
            self._verify(report.entries)
        else:
            self.chain_changed()

    def show_figures(self) -> None:
        """The table of the view shown and the bars, fitted to the width."""
        if getattr(self, "loaded", None) is None:
            return
        report = self.loaded.report
        self.query_one("#view-title", Static).update(view_title(self.shown_view, self.app.size.width))
        self.set_class(self.app.size.height < SHORT_BELOW, "short")
        table = (funding_view(report) if self.shown_view == FUNDING
                 else implementation_view(report, covered=self.app.size.width >= COVERED_FROM_WIDTH))
        self.query_one("#funding", Static).update(table)
        # label, bar, "100% covered ", progress bar and figure: 36 cells besides the bar
        panel = self.query_one("#bars", Static).content_size.width or 60
        self.query_one("#bars", Static).update(
            bars(report, max(10, min(BAR_WIDTH, panel - 36)), short_legend=panel < LEGEND.cell_len))

    def action_switch_view(self) -> None:
        self.shown_view = IMPLEMENTATION if self.shown_view == FUNDING else FUNDING
        self.show_figures()

    def on_resize(self) -> None:
        self.call_after_refresh(self.show_figures)

    def on_alerts_loaded(self, message: AlertsLoaded) -> None:
        self.alerts = message.alerts
        self.show_alerts()

    def show_alerts(self) -> None:
        data, alerts = self.loaded, self.alerts
        if data is None:
            return
        text = Text()
        if alerts is None:
            text.append("… looking for overdue pledges\n", style="dim")
        elif alerts.overdue_count:
            text.append(f"⚠ {alerts.overdue_count} overdue pledge(s): outstanding, due date, days late\n",
                        style="bold yellow")
            figures = [f"{p.outstanding:,}" for p in alerts.overdue]
            reference_width = max(len(f"{p.reference} {p.donor}") for p in alerts.overdue)
            figure_width = max(map(len, figures))
            for p, figure in zip(alerts.overdue, figures, strict=True):
                text.append(f"  {p.reference + ' ' + p.donor:<{reference_width}} {p.currency} {figure:>{figure_width}}"
                            f"  {p.due_on}  {p.days_late:>5,} d\n")
            if alerts.overdue_count > len(alerts.overdue):
                text.append(f"  … and {alerts.overdue_count - len(alerts.overdue)} more: Pledges (2), status overdue\n",
                            style="dim")
        else:
            text.append("✓ no overdue pledges\n", style="green")
        if alerts is not None:
            if alerts.cash_needs:
                text.append(f"⚠ {len(alerts.cash_needs)} paragraph(s) whose open activities need more than their "
                            "cash (USD):\n", style="bold yellow")
                for need in alerts.cash_needs:
                    title = need.title if len(need.title) <= 22 else need.title[:21] + "…"
                    text.append(f"  ¶{need.paragraph} {title:<22} needs {usd_whole(int(need.need_usd * 100))} · "
                                f"cash {usd_whole(int(need.cash_usd * 100))}\n")
            else:
                text.append("✓ every paragraph holds the cash its open activities still need\n", style="green")
        self.query_one("#alerts", Static).update(text)

    def show_pipeline(self) -> None:
        """One line at the top of the alerts, seen at any size: the announced pledges (not signed yet,
        not part of pledged), how many and their USD; none, no line."""
        _listed, count, total = self.loaded.pipeline
        line = self.query_one("#pipeline", Static)
        line.display = count > 0
        line.update(Text(f"Pipeline: {count} announced pledge{'s' if count > 1 else ''}, USD {total:,.2f} · p lists",
                         style="bold magenta"))

    def action_pipeline(self) -> None:
        if getattr(self, "loaded", None) is None:
            return
        listed, count, _total = self.loaded.pipeline
        if not count:
            self.notify(f"No pledge is announced and not signed as of {self.loaded.report.as_of}.")
            return
        self.app.push_screen(PipelineDialog(self.loaded.pipeline, self.loaded.report.as_of))

    @work(thread=True, exclusive=True, exit_on_error=False, group="verify")
    def _verify(self, entries: int) -> None:
        try:
            ok, message = verify_in_child(self.ledger.url, self.ledger.user_name)
        except VerificationStopped:
            return
        self.app.call_from_thread(self._chain_checked, ChainCheck(ok, message, entries))

    def _chain_checked(self, check: ChainCheck) -> None:
        if check.entries == self.chain_checked_at:  # not an earlier check, overtaken by one for more entries
            self.ledger_app.chain_checked(check)

    def chain_changed(self) -> None:
        """The session's latest chain check, made here or on the Journal screen (the same words on both)."""
        check = self.ledger_app.chain
        if check is not None:
            self.query_one("#chain", Static).update(Text(check.summary(), style="green" if check.ok else "bold red"))

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

    def _recorded_at_text(self) -> str:
        from ledger.clock import format_moment

        return "" if self.ledger_app.recorded_at is None else format_moment(self.ledger_app.recorded_at)

    @on(Input.Submitted, "#recorded-at")
    def _recorded_at_submitted(self, event: Input.Submitted) -> None:
        """A moment (UTC, or a date: the end of that day), or nothing for now."""
        from ledger.clock import parse_moment

        text = event.value.strip()
        try:
            self.ledger_app.recorded_at = parse_moment(text) if text else None
        except ValueError as exc:
            self.notify(f"{exc}; the figures stay as recorded at {self._recorded_at_text() or 'now'}", severity="error")
            event.input.value = self._recorded_at_text()
            return
        self.query_one("#funding").focus()
        self.reload()

    def action_as_of(self) -> None:
        field = self.query_one("#as-of", Input)
        field.focus()
        field.select_all()

    def action_verify(self) -> None:
        self.query_one("#chain", Static).update("Journal chain: checking…")
        self.chain_checked_at = self.loaded.report.entries if self.loaded else None
        self._verify(self.chain_checked_at)

    def action_export(self) -> None:
        self.ledger_app.run_on("transfer", "prepare_export")


class PipelineDialog(ModalScreen[None]):
    """The announced pledges as of the dashboard's date (``p``): donor, pledge, date, amount and USD at
    the announcement's rate, latest first (ledger/queries.py::pipeline)."""

    BINDINGS: ClassVar = [Binding("escape", "dismiss", "Close")]
    DEFAULT_CSS = """
    PipelineDialog { align: center middle; }
    PipelineDialog > VerticalScroll { width: 80; max-width: 100%; height: auto; max-height: 90%;
                                      border: thick $primary; background: $surface; padding: 0 1; }
    """

    def __init__(self, pipeline: tuple, as_of: dt.date):
        super().__init__()
        self.pipeline, self.as_of = pipeline, as_of

    def compose(self) -> ComposeResult:
        listed, count, total = self.pipeline
        table = Table(title=f"Pipeline as of {self.as_of}: {count} announced pledge{'s' if count > 1 else ''}, "
                            "not part of pledged", caption="USD at the announcement's rate · Escape: close",
                      box=box.SIMPLE_HEAD)
        for heading in ("Donor", "Pledge", "Announced on", "Amount", "USD"):
            table.add_column(heading, justify="right" if heading in ("Amount", "USD") else "left", no_wrap=True)
        for p in listed:
            table.add_row(p.donor, p.reference, str(p.pledged_on), f"{p.currency} {p.amount:,.2f}", f"{p.usd:,.2f}")
        table.add_row("Total", "", "", "", f"{total:,.2f}", style="bold")
        with VerticalScroll():
            yield Static(table, id="pipeline-list")
