"""Paragraphs and activities: the paragraph's text, its activities (programme leads update
status, progress and budget here; each activity's history of versions on **h**), every pledge whose money paid for them (unearmarked ones included)
and the pledges earmarked to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from ledger import queries, services
from ledger.inputs import ACTIVITY_STATUSES, ActivityIn, ActivityUpdate
from ledger.roles import Act

from .base import LedgerScreen
from .common import amount, date
from .forms import FormScreen, field_id
from .history import HistoryDialog

# Code to spending fit beside the paragraph list at 120 columns (the title takes what is left);
# the planned dates follow (→ scrolls).
COLUMNS = (('Code', 6), ('Title', 30), ('Status', 9), ('Progress', 8), ('Budget USD', 12), ('Spent USD', 12),
           ('Start', 10), ('End', 10))
TITLE_COLUMN = 1
# Below this width (80x24 terminals) the paragraph list, the text and the status column make room
# for the activities and the pledges.
NARROW_BELOW = 100
NARROW_HIDDEN = ("Status",)
NARROW_TITLE = 9  # cells of a paragraph's title in the narrow list


@dataclass(frozen=True)
class ParagraphData:
    paragraphs: list[queries.ParagraphView]
    activities: list[queries.ActivityView]
    funding: dict[int | None, list[queries.FundingAllocationView]]
    spending: dict[int, list[queries.PledgeSpendingView]]


def spending_table(rows: list[queries.PledgeSpendingView] | None, narrow: bool = False) -> Table:
    """Who paid for the paragraph's activities: each pledge's money, earmarked or not, with its sums
    (a narrow screen leaves out the donor's code: the reference names the pledge)."""
    table = Table(expand=True, box=None, padding=(0, 1), pad_edge=False, title_justify="left",
                  title=Text("Paid for its activities (funding splits)", style="bold"))
    rows = rows or []
    # the references and the sums keep their width; "unearmarked" gives way on a narrow screen
    widest = max((len(s.pledge) for s in rows), default=6)
    table.add_column("Pledge", no_wrap=True, min_width=widest)
    if not narrow:
        table.add_column("Donor", no_wrap=True)
    table.add_column("Earmarked", no_wrap=True, overflow="ellipsis")
    spent, psc = sum(s.spent_usd for s in rows), sum(s.psc_usd for s in rows)
    table.add_column("Spent USD", justify="right", no_wrap=True, min_width=len(amount(spent)))
    table.add_column("PSC USD", justify="right", no_wrap=True, min_width=len(amount(psc)))
    for s in rows:
        money = "unearmarked" if s.earmarked is None else f"¶{s.earmarked}"
        table.add_row(s.pledge, *(() if narrow else (s.donor,)), Text(money, style="cyan" if s.earmarked is None else ""),
                      amount(s.spent_usd), amount(s.psc_usd))
    if not rows:
        table.add_row("nothing spent yet", *[""] * (len(table.columns) - 1))
    else:
        table.add_section()
        table.add_row("Total", *[""] * (len(table.columns) - 3), amount(spent), amount(psc), style="bold")
    return table


def earmarked_table(rows: list[queries.FundingAllocationView], number: int | None, narrow: bool = False) -> Table:
    """The allocations earmarked to the paragraph (or the unearmarked ones), with their cash; a
    narrow screen leaves out the donor and the amount in the pledge's currency (the USD figures stay)."""
    title = "Unearmarked pledges" if number is None else "Earmarked to it (spent on any of its activities)"
    table = Table(expand=True, box=None, padding=(0, 1), pad_edge=False, title_justify="left",
                  title=Text(title, style="bold"))
    names = ("Pledge", *(() if narrow else ("Donor", "Amount")), "Received USD", "Spent USD", "Cash USD")
    for name in names:
        table.add_column(name, justify="left" if name in ("Pledge", "Donor") else "right", no_wrap=True)
    for f in rows:
        table.add_row(f.pledge, *(() if narrow else (f.donor, f"{f.currency} {amount(f.amount)}")),
                      amount(f.received_usd), amount(f.spent_usd), amount(f.cash_usd))
    if not rows:
        table.add_row("no pledges earmarked here", *[""] * (len(names) - 1))
    return table


class ParagraphsLoaded(Message):
    def __init__(self, data: ParagraphData):
        super().__init__()
        self.data = data


class ActivitiesScreen(LedgerScreen):
    MODE = "activities"
    AUTO_FOCUS = "#paragraph-list"
    TITLE = "Paragraphs and activities"
    CSS_PATH = "activities.tcss"
    HELP = (
        "Left: the operative paragraphs of resolution 20/7 (and unearmarked money). Right: the text of "
        "the selected paragraph, its activities with budget (the requirement), spending, status and "
        "progress; then **who paid for its activities**: every pledge whose money was disbursed on them, "
        "earmarked to this paragraph, to another or unearmarked, with the USD spent and the PSC charged "
        "(they add up to the paragraph's *spent* on the dashboard's implementation view); then the pledges "
        "**earmarked** to it with what they received, spent (on any paragraph) and hold in cash.\n\n"
        "**Tab** moves from the paragraphs to their activities; **h** shows the selected activity's history "
        "(every version: who, when, why and what changed). Programme leads: **u** (or **Enter** on "
        "an activity) updates its status, progress or budget (a budget revision needs a reason); **n** adds "
        "an activity to the paragraph. Finance and auditors see the same, read only."
    )
    WRITE_ACTIONS: ClassVar = {"update_activity": Act.UPDATE_ACTIVITIES, "new_activity": Act.UPDATE_ACTIVITIES}
    BINDINGS: ClassVar = [
        Binding("u", "update_activity", "Update activity"),
        Binding("n", "new_activity", "New activity"),
        Binding("h", "activity_history", "History"),
    ]

    def compose_body(self) -> ComposeResult:
        with Horizontal():
            yield OptionList(id="paragraph-list")
            with Vertical(id="paragraph-pane"):
                # not focusable: Tab goes from the paragraphs straight to their activities
                with VerticalScroll(id="paragraph-text-box", classes="panel", can_focus=False):
                    yield Static("", id="paragraph-text")
                yield DataTable(id="activities", cursor_type="row", zebra_stripes=True)
                with VerticalScroll(id="funding-box", classes="panel"):
                    yield Static("", id="paragraph-funding")

    def on_resize(self) -> None:
        self.set_class(self.app.size.width < NARROW_BELOW, "narrow")
        self.call_after_refresh(self.show_paragraph)

    def on_mount(self) -> None:
        self.data: ParagraphData | None = None
        self.current: int | None = 1
        self.set_class(self.app.size.width < NARROW_BELOW, "narrow")
        self.query_one("#paragraph-text-box").border_title = "Text"
        self.query_one("#funding-box").border_title = "Pledges that paid for it · pledges earmarked to it"
        self.query_one("#paragraph-list").focus()
        self.reload()

    def reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self) -> None:
        ledger = self.ledger
        paragraphs = queries.paragraphs(ledger)
        funding = {p.number: queries.paragraph_funding(ledger, p.number) for p in paragraphs}
        funding[None] = queries.paragraph_funding(ledger, None)
        spending = {p.number: queries.paragraph_spending(ledger, p.number) for p in paragraphs}
        self.post_message(ParagraphsLoaded(ParagraphData(paragraphs, queries.activities(ledger), funding, spending)))

    def on_paragraphs_loaded(self, message: ParagraphsLoaded) -> None:
        self.data = message.data
        options = self.query_one("#paragraph-list", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for p in self.data.paragraphs:
            # activities that count (as in the reports): not the cancelled ones
            count = sum(1 for a in self.data.activities if a.paragraph == p.number and a.status != "cancelled")
            title = p.short_title
            if self.has_class("narrow") and len(title) > NARROW_TITLE:  # one line per paragraph
                title = title[:NARROW_TITLE - 1] + "…"
            options.add_option(Option(f"¶{p.number} {title} ({count})", id=str(p.number)))
        options.add_option(Option("Unearmarked", id="U"))
        options.highlighted = highlighted if highlighted is not None else 0
        self.show_paragraph()

    @on(OptionList.OptionHighlighted, "#paragraph-list")
    def _paragraph_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.current = None if event.option.id == "U" else int(event.option.id)
        self.show_paragraph()

    def show_paragraph(self) -> None:
        if self.data is None:
            return
        number = self.current
        text = self.query_one("#paragraph-text", Static)
        paragraph = next((p for p in self.data.paragraphs if p.number == number), None)
        if paragraph is None:
            text.update("Unearmarked money: contributions for the resolution as a whole. Any paragraph's "
                        "activities may use it once the money earmarked to that paragraph is spent.")
        else:
            text.update(Text.assemble((f"{paragraph.number}. {paragraph.short_title}\n", "bold"), paragraph.text))
        self.show_activities(number)
        self.query_one("#paragraph-funding", Static).update(Group(
            spending_table(self.data.spending.get(number), narrow=self.has_class("narrow")) if number is not None else Text(
                "Unearmarked money pays for any paragraph's activities: each paragraph lists what it paid there.",
                style="dim"),
            Text(""),
            earmarked_table(self.data.funding.get(number, []), number, narrow=self.has_class("narrow")),
        ))

    def show_activities(self, number: int | None) -> None:
        table = self.query_one("#activities", DataTable)
        selected = self.selected_activity()  # stays selected when the list is shown again (after a save)
        table.clear(columns=True)
        shown = [(i, label, width) for i, (label, width) in enumerate(COLUMNS)
                 if not (self.has_class("narrow") and label in NARROW_HIDDEN)]
        # the title gets what the other columns up to "Spent USD" leave (2 cells of padding each)
        others = sum(width + 2 for i, label, width in shown if i < 6 and i != TITLE_COLUMN)
        title_width = max(12, (table.size.width or 92) - others - 4)
        for i, label, width in shown:
            table.add_column(label, width=title_width if i == TITLE_COLUMN else width)
        for a in self.data.activities:
            if a.paragraph == number:
                cells = {"Code": a.code, "Title": a.title, "Status": a.status,
                         "Progress": Text(f"{a.progress_pct}%", justify="right"),
                         "Budget USD": Text(amount(a.budget_usd), justify="right"),
                         "Spent USD": Text(amount(a.spent_usd), justify="right"),
                         "Start": date(a.planned_start), "End": date(a.planned_end)}
                table.add_row(*(cells[label] for _i, label, _w in shown), key=a.code)
        if selected is not None and selected.code in table.rows:
            table.move_cursor(row=table.get_row_index(selected.code))

    @on(DataTable.RowSelected, "#activities")
    def _activity_chosen(self) -> None:
        if self.app.may(Act.UPDATE_ACTIVITIES):
            self.action_update_activity()

    def selected_activity(self) -> queries.ActivityView | None:
        table = self.query_one("#activities", DataTable)
        if self.data is None or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((a for a in self.data.activities if a.code == key), None)

    def action_update_activity(self) -> None:
        if self.refused(Act.UPDATE_ACTIVITIES):
            return
        activity = self.selected_activity()
        if activity is None:
            self.notify("Choose a paragraph with activities, then an activity (Tab moves between panes).",
                        severity="warning")
            return
        self.app.push_screen(ActivityUpdateForm(activity), self._written)

    def action_activity_history(self) -> None:
        activity = self.selected_activity()
        if activity is None:
            self.notify("Choose a paragraph with activities, then an activity (Tab moves between panes).",
                        severity="warning")
            return
        self._load_history(activity.code)

    @work(thread=True, exclusive=True, exit_on_error=False, group="history")
    def _load_history(self, code: str) -> None:
        versions = queries.history(self.ledger, "activities", code)
        self.app.call_from_thread(self.app.push_screen, HistoryDialog(f"History of activity {code}", versions))

    def action_new_activity(self) -> None:
        if self.refused(Act.UPDATE_ACTIVITIES):
            return
        self.app.push_screen(ActivityForm(self.current or 1), self._written)

    def _written(self, result: Any) -> None:
        if result is not None:
            self.notify(f"Activity {result}", title="Saved")
            self.reload()


class ActivityUpdateForm(FormScreen):
    MODEL = ActivityUpdate
    TITLE = "Update an activity"
    HELP = ("Status (planned, ongoing, completed, cancelled), progress in whole percent, 0-100, and the budget "
            "in USD. A budget revision needs a reason and cannot go below what is spent; the reason is kept "
            "with the new version in the activity's history.")

    def __init__(self, activity: queries.ActivityView):
        super().__init__()
        self.activity = activity

    def compose_fields(self) -> ComposeResult:
        a = self.activity
        yield Static(f"{a.code} · ¶{a.paragraph} · {a.title} · spent USD {amount(a.spent_usd)}", classes="hint")
        yield self.choice("status", "Status", [(s, s) for s in ACTIVITY_STATUSES], a.status)
        with Horizontal(classes="row"):
            yield self.field("progress_pct", "Progress %", str(a.progress_pct))
            yield self.field("budget_usd", "Budget USD", str(a.budget_usd))
        yield self.field("reason", "Reason", placeholder="why (a budget revision needs one)")

    def on_mount(self) -> None:
        self.query_one(f"#{field_id('progress_pct')}").focus()

    def values(self) -> dict:
        return {"code": self.activity.code, "status": self.selected("status"), "progress_pct": self.text("progress_pct"),
                "budget_usd": self.text("budget_usd"), "reason": self.text("reason")}

    def save(self, model: ActivityUpdate) -> Any:
        return f"{model.code} {services.update_activity(self.app.ledger, model)}"


class ActivityForm(FormScreen):
    MODEL = ActivityIn
    TITLE = "New activity"
    HELP = "An activity implements one operative paragraph; its budget (USD, programme cost without PSC) is its requirement."

    def __init__(self, paragraph: int):
        super().__init__()
        self.paragraph = paragraph

    def compose_fields(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield self.field("code", "Code", placeholder="e.g. A7")
            yield self.field("paragraph", "Paragraph", str(self.paragraph))
            yield self.field("budget_usd", "Budget USD")
        yield self.field("title", "Title")
        with Horizontal(classes="row"):
            yield self.field("planned_start", "Planned start", placeholder="YYYY-MM-DD")
            yield self.field("planned_end", "Planned end", placeholder="YYYY-MM-DD")
        with Horizontal(classes="row"):
            yield self.choice("status", "Status", [(s, s) for s in ACTIVITY_STATUSES], "planned")
            yield self.field("progress_pct", "Progress %", "0")

    def on_mount(self) -> None:
        self.query_one(f"#{field_id('code')}").focus()

    def values(self) -> dict:
        return {"code": self.text("code"), "paragraph": self.text("paragraph"), "title": self.text("title"),
                "budget_usd": self.text("budget_usd"), "planned_start": self.text("planned_start"),
                "planned_end": self.text("planned_end"), "status": self.selected("status"),
                "progress_pct": self.text("progress_pct")}

    def save(self, model: ActivityIn) -> Any:
        return f"{model.code} {services.save_activity(self.app.ledger, model)}"
