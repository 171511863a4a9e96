"""Paragraphs and activities: the paragraph's text, its activities (programme leads update
status and progress here) and the pledges that fund it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

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

# Code to spending fit beside the paragraph list at 120 columns (the title takes what is left);
# the planned dates follow (→ scrolls).
COLUMNS = (('Code', 6), ('Title', 30), ('Status', 9), ('Progress', 8), ('Budget USD', 12), ('Spent USD', 12),
           ('Start', 10), ('End', 10))
TITLE_COLUMN = 1


@dataclass(frozen=True)
class ParagraphData:
    paragraphs: list[queries.ParagraphView]
    activities: list[queries.ActivityView]
    funding: dict[int | None, list[queries.FundingAllocationView]]


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
        "progress, and the pledges earmarked to it with what they hold in cash.\n\n"
        "**Tab** moves from the paragraphs to their activities. Programme leads: **u** (or **Enter** on "
        "an activity) updates its status and progress; **n** adds an activity to the paragraph. Finance "
        "and auditors see the same, read only."
    )
    WRITE_ACTIONS: ClassVar = {"update_activity": Act.UPDATE_ACTIVITIES, "new_activity": Act.UPDATE_ACTIVITIES}
    BINDINGS: ClassVar = [
        Binding("u", "update_activity", "Update activity"),
        Binding("n", "new_activity", "New activity"),
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
        self.call_after_refresh(self.show_paragraph)

    def on_mount(self) -> None:
        self.data: ParagraphData | None = None
        self.current: int | None = 1
        self.query_one("#paragraph-text-box").border_title = "Text"
        self.query_one("#funding-box").border_title = "Pledges funding it"
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
        self.post_message(ParagraphsLoaded(ParagraphData(paragraphs, queries.activities(ledger), funding)))

    def on_paragraphs_loaded(self, message: ParagraphsLoaded) -> None:
        self.data = message.data
        options = self.query_one("#paragraph-list", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for p in self.data.paragraphs:
            # activities that count (as in the reports): not the cancelled ones
            count = sum(1 for a in self.data.activities if a.paragraph == p.number and a.status != "cancelled")
            options.add_option(Option(f"¶{p.number} {p.short_title} ({count})", id=str(p.number)))
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
        table = self.query_one("#activities", DataTable)
        table.clear(columns=True)
        # the title gets what the other columns up to "Spent USD" leave (2 cells of padding each)
        others = sum(width + 2 for label, width in COLUMNS[:6] if label != "Title")
        title_width = max(16, (table.size.width or 92) - others - 4)
        for index, (label, width) in enumerate(COLUMNS):
            table.add_column(label, width=title_width if index == TITLE_COLUMN else width)
        for a in self.data.activities:
            if a.paragraph == number:
                table.add_row(a.code, a.title, a.status, Text(f"{a.progress_pct}%", justify="right"),
                              Text(amount(a.budget_usd), justify="right"), Text(amount(a.spent_usd), justify="right"),
                              date(a.planned_start), date(a.planned_end), key=a.code)
        funding = Table(expand=True, box=None, padding=(0, 1), pad_edge=False)
        for name, justify in (("Pledge", "left"), ("Donor", "left"), ("Amount", "right"), ("Received USD", "right"),
                              ("Spent USD", "right"), ("Cash USD", "right")):
            funding.add_column(name, justify=justify, no_wrap=True)
        rows = self.data.funding.get(number, [])
        for f in rows:
            funding.add_row(f.pledge, f.donor, f"{f.currency} {amount(f.amount)}", amount(f.received_usd),
                            amount(f.spent_usd), amount(f.cash_usd))
        if not rows:
            funding.add_row("no pledges earmarked here", "", "", "", "", "")
        self.query_one("#paragraph-funding", Static).update(funding)

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
    HELP = "Status (planned, ongoing, completed, cancelled) and progress in whole percent, 0-100."

    def __init__(self, activity: queries.ActivityView):
        super().__init__()
        self.activity = activity

    def compose_fields(self) -> ComposeResult:
        a = self.activity
        yield Static(f"{a.code} · ¶{a.paragraph} · {a.title} · budget USD {amount(a.budget_usd)}", classes="hint")
        yield self.choice("status", "Status", [(s, s) for s in ACTIVITY_STATUSES], a.status)
        yield self.field("progress_pct", "Progress %", str(a.progress_pct))

    def on_mount(self) -> None:
        self.query_one(f"#{field_id('progress_pct')}").focus()

    def values(self) -> dict:
        return {"code": self.activity.code, "status": self.selected("status"), "progress_pct": self.text("progress_pct")}

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
