"""Disbursements: the table, and a form that shows who will pay (the funding plan) before saving."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from pydantic import ValidationError
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

from ledger import queries, services
from ledger.errors import LedgerError
from ledger.inputs import DisbursementIn
from ledger.roles import Act

from .base import LedgerScreen
from .common import date, describe, money_cell, usd_cents
from .forms import CodePicker, FormScreen, field_id, open_correction, picker_items
from .reversal import ReverseForm
from .tables import Column, LazyTable

# Reference to "Funded by" fit in 120 columns; payee and the reversal note follow (→ scrolls). A
# reversed disbursement's cells are struck through and its status names the reversal.
COLUMNS = [Column("Reference", 12), Column("Date", 10), Column("Activity", 8), Column("¶", 2), Column("Cur", 3),
           Column("Amount", 13), Column("USD", 13), Column("PSC USD", 10), Column("Status", 13),
           Column("Funded by", 26), Column("Payee", 24)]


def disbursement_cells(row: queries.DisbursementRow) -> tuple:
    """A reversed disbursement keeps its figures (as posted) but every cell is struck through and its
    status names the reversing entry: nobody adding up the USD column takes it for spending."""
    cells = (row.reference, date(row.disbursed_on), row.activity, str(row.paragraph), row.currency,
             money_cell(row.amount, 13), money_cell(row.usd, 13), money_cell(row.psc_usd, 10))
    if not row.reversed_by:
        return (*cells, f"corrects #{row.corrects}" if row.corrects else "posted", row.funded_by, row.payee)
    status = f"reversed #{row.reversed_by}" + (f" corrected #{row.corrected_by}" if row.corrected_by else "")
    return (*map(_struck, cells), Text(status, style="bold red"), row.funded_by, row.payee)


def _struck(cell: str) -> Text:
    """The cell's text struck through, its alignment padding not."""
    text = cell.strip()
    start = cell.find(text) if text else 0
    return Text.assemble(cell[:start], (text, "dim strike"), cell[start + len(text):])


class DisbursementsScreen(LedgerScreen):
    MODE = "disbursements"
    AUTO_FOCUS = "#disbursements"
    TITLE = "Disbursements"
    CSS_PATH = "disbursements.tcss"
    HELP = (
        "Cash paid for activities, newest first: reference, date, activity and its paragraph, the "
        "amount in its currency and in USD, the PSC charged on top, the pledges that funded it and the "
        "payee.\n\n**n** opens the form: choose the activity, amount, currency and, if a donor asked, "
        "the funding pledge (else automatic: allocations earmarked to the paragraph first, then "
        "unearmarked, oldest pledge first, only cash received). Before you save, the form shows which "
        "pledges will pay and the PSC, or why the disbursement would be refused."
    )
    WRITE_ACTIONS: ClassVar = {"new_disbursement": Act.RECORD_MONEY, "reverse": Act.RECORD_MONEY,
                               "correct": Act.RECORD_MONEY}
    BINDINGS: ClassVar = [
        Binding("n", "new_disbursement", "New disbursement"),
        Binding("x", "reverse", "Reverse"),
        Binding("e", "correct", "Correct"),
        Binding("slash", "filter", "Search"),
    ]

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="toolbar", id="disbursement-filters"):
            yield Input(placeholder="search: reference, activity, payee, description", id="search")
        yield LazyTable(COLUMNS, self._count, self._fetch, id="disbursements")
        yield Static("", id="disbursements-status", classes="status-line")

    def on_mount(self) -> None:
        self.text: str | None = None
        self._timer = None
        self.query_one(LazyTable).focus()
        self.reload()

    def _count(self) -> int:
        return queries.disbursement_count(self.ledger, self.text)

    def _fetch(self, offset: int, limit: int) -> list[tuple]:
        return [disbursement_cells(r) for r in queries.disbursements_page(self.ledger, self.text, offset, limit)]

    def reload(self) -> None:
        self.query_one(LazyTable).reload()

    def on_lazy_table_ready(self, message: LazyTable.Ready) -> None:
        self.query_one("#disbursements-status", Static).update(f"{message.total:,} disbursement(s) · newest first")

    @on(Input.Changed, "#search")
    def _search(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(0.3, lambda: self._apply(event.value))

    def _apply(self, value: str) -> None:
        text = value.strip() or None
        if text != self.text:
            self.text = text
            self.reload()

    @on(Input.Submitted, "#search")
    def _submitted(self, event: Input.Submitted) -> None:
        self._apply(event.value)
        self.query_one(LazyTable).focus()

    def action_filter(self) -> None:
        self.query_one("#search", Input).focus()

    def action_new_disbursement(self) -> None:
        if not self.refused(Act.RECORD_MONEY):
            self.app.push_screen(DisbursementForm(), self._written)

    def action_reverse(self) -> None:
        if self.refused(Act.RECORD_MONEY):
            return
        reference = self.query_one(LazyTable).row_key()
        if reference is None:
            self.notify("Select a disbursement first.", severity="warning")
            return
        self._entry_of(reference)

    def action_correct(self) -> None:
        if self.refused(Act.RECORD_MONEY):
            return
        reference = self.query_one(LazyTable).row_key()
        if reference is None:
            self.notify("Select a disbursement first.", severity="warning")
            return
        self._entry_of(reference, "correct")

    @work(thread=True, exclusive=True, exit_on_error=False, group="entry")
    def _entry_of(self, reference: str, purpose: str = "reverse") -> None:
        entry_id = queries.disbursement_entry(self.ledger, reference)
        entries = queries.journal_page(self.ledger, entry_id - 1, 1) if entry_id else []
        self.post_message(EntryFound(reference, entries, purpose))

    def on_entry_found(self, message: EntryFound) -> None:
        if message.purpose == "correct" and message.entries:
            open_correction(self, message.entries[0].id, lambda *_: DisbursementForm(), self._written)
            return
        self.app.push_screen(ReverseForm(entries=message.entries, title=f"Disbursement {message.reference}"),
                             self._written)

    def _written(self, result: Any) -> None:
        if result is not None:
            self.notify(describe(result), title="Saved")
            self.reload()


WHAT_TO_DO = ("Lower the amount, or record the receipts that bring the cash first (or name a pledge that holds "
              "it); Esc leaves without saving.")
NAMED_PLEDGE = ("Name a pledge allocated to the activity's paragraph or unearmarked, or leave the funding pledge "
                "empty to fund automatically.")


class EntryFound(Message):
    def __init__(self, reference: str, entries: list, purpose: str):
        super().__init__()
        self.reference, self.entries, self.purpose = reference, entries, purpose


class PlanReady(Message):
    def __init__(self, generation: int, plan: Any = None, problems: list[str] | None = None):
        super().__init__()
        self.generation, self.plan, self.problems = generation, plan, problems or []


class ActivitiesLoaded(Message):
    def __init__(self, activities, currencies, pledges):
        super().__init__()
        self.activities, self.currencies, self.pledges = activities, currencies, pledges


class DisbursementForm(FormScreen):
    MODEL = DisbursementIn
    TITLE = "New disbursement"
    HELP = DisbursementsScreen.HELP

    def compose_fields(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield self.field("reference", "Reference", placeholder="e.g. D-2016-014")
            yield self.field("activity", "Activity (type to search)", placeholder="activity code")
            yield self.field("disbursed_on", "Disbursed on", dt.date.today().isoformat(), "YYYY-MM-DD")
        with Horizontal(classes="row"):
            yield self.field("amount", "Amount")
            yield self.field("currency", "Currency", "USD")
            yield self.field("pledge", "Funding pledge", placeholder="empty: automatic")
        with Horizontal(classes="row"):
            yield self.field("payee", "Payee", placeholder="optional")
            yield self.field("description", "Description", placeholder="optional")

    def compose_extra(self) -> ComposeResult:
        yield Static("Funding plan: fill in activity, date and amount.", id="plan")

    def on_mount(self) -> None:
        self.plan = None
        self.plan_generation = 0
        self._plan_timer = None
        self.query_one("#plan").border_title = "Who pays (before saving)"
        self.query_one(f"#{field_id('reference')}").focus()
        self._load_choices()

    @work(thread=True, exclusive=True, exit_on_error=False, group="choices")
    def _load_choices(self) -> None:
        ledger = self.app.ledger
        pledges = queries.pledges_page(ledger, queries.PledgeFilter(), "pledged_on", True, 0, 500)
        self.post_message(ActivitiesLoaded(queries.activities(ledger), queries.currencies(), pledges))

    async def on_activities_loaded(self, message: ActivitiesLoaded) -> None:
        await self.mount(CodePicker(self.query_one(f"#{field_id('activity')}", Input), picker_items(
            (a.code, f"¶{a.paragraph} {a.title} ({a.status})") for a in message.activities if a.status != "cancelled")))
        await self.mount(CodePicker(self.query_one(f"#{field_id('currency')}", Input),
                                    picker_items((c, "") for c in message.currencies)))
        await self.mount(CodePicker(self.query_one(f"#{field_id('pledge')}", Input),
                                    picker_items((p.reference, f"{p.donor}, ¶ {p.paragraphs}, {p.status}") for p in message.pledges)))

    def values(self) -> dict:
        return {name: self.text(name) for name in
                ("reference", "activity", "disbursed_on", "amount", "currency", "pledge", "payee", "description")}

    def after_validation(self) -> None:
        if self._plan_timer is not None:
            self._plan_timer.stop()
        self._plan_timer = self.set_timer(0.25, self.request_plan)

    def request_plan(self) -> None:
        self.plan = None
        values = self.values()
        if not (values["activity"] and values["amount"] and values["disbursed_on"]):
            self.query_one("#plan", Static).update("Funding plan: fill in activity, date and amount.")
            return
        try:
            model = DisbursementIn.model_validate({**values, "reference": values["reference"] or "(preview)"})
        except ValidationError:
            self.query_one("#plan", Static).update("Funding plan: correct the fields marked in red.")
            return
        self.plan_generation += 1
        self.query_one("#plan", Static).update("Working out who pays…")
        self._plan(self.plan_generation, model)

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan")
    def _plan(self, generation: int, model: DisbursementIn) -> None:
        try:
            plan = services.plan_funding(self.app.ledger, model, self.correcting[0] if self.correcting else None)
        except LedgerError as exc:
            self.post_message(PlanReady(generation, problems=[str(p) for p in exc.problems]))
        else:
            self.post_message(PlanReady(generation, plan))

    def on_plan_ready(self, message: PlanReady) -> None:
        if message.generation != self.plan_generation:
            return
        widget = self.query_one("#plan", Static)
        if message.problems:
            hint = NAMED_PLEDGE if any(p.startswith("pledge:") for p in message.problems) else WHAT_TO_DO
            widget.update(Text.assemble(("Refused: " + "; ".join(message.problems), "bold red"), "\n",
                                        (hint, "italic")))
            widget.add_class("refused")
            return
        plan = self.plan = message.plan
        table = Table(expand=True, box=None)
        for name, justify in (("Pledge", "left"), ("Donor", "left"), ("Allocation", "left"), ("USD", "right"),
                              ("PSC", "right"), ("PSC rate", "right")):
            table.add_column(name, justify=justify)
        for s in plan.splits:
            table.add_row(s.pledge_reference, s.donor_code, "unearmarked" if s.paragraph is None else f"¶{s.paragraph}",
                          usd_cents(s.usd_cents), usd_cents(s.psc_cents), f"{s.psc_rate_bp / 100:g}%")
        lines: list[Any] = [table]
        summary = (f"Activity {plan.activity_code} (¶{plan.paragraph}): USD {usd_cents(plan.usd_cents)} "
                   f"+ PSC {usd_cents(plan.psc_cents)} = USD {usd_cents(plan.usd_cents + plan.psc_cents)}")
        if plan.shortfall_cents > 0:
            lines.append(Text(f"Refused: {plan.refusal().problems[0].message}", style="bold red"))
            lines.append(Text(WHAT_TO_DO, style="italic"))
            widget.add_class("refused")
        else:
            lines.append(Text(summary + " · ready to save (ctrl+s)", style="green"))
            widget.remove_class("refused")
        from rich.console import Group

        widget.update(Group(*lines))

    def action_save(self) -> None:
        # a correction's plan is of its second half alone: the ledger checks both halves on saving
        if not self.correcting and self.plan is not None and self.plan.shortfall_cents > 0:
            self.notify(f"{self.plan.refusal().problems[0].message}.\n{WHAT_TO_DO}", title="Refused, nothing was written",
                        severity="error")
            return
        super().action_save()

    def save(self, model: DisbursementIn) -> Any:
        return services.disburse(self.app.ledger, model)
