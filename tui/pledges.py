"""Pledges: the table (filter, sort, lazily paged), the new-pledge form, and from a selected
pledge its detail, a receipt, a cancellation or a reversal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

from rich import box
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Footer, Input, Label, Select, Static
from textual.widgets.select import InvalidSelectValueError

from ledger import queries, services
from ledger.errors import Problem
from ledger.inputs import CancellationIn, PledgeIn, ReceiptIn, ScheduleIn, SigningIn, WithdrawalIn
from ledger.money import MoneyError, parse_decimal
from ledger.roles import Act

from .base import LedgerScreen
from .common import HelpScreen, amount, date, describe, keys_help, money_cell
from .forms import CodePicker, FormField, FormScreen, field_id, open_correction, picker_items
from .pledge_acts import ClosePledgeForm, ReallocateForm, RefundForm
from .reversal import ReverseForm
from .tables import Column, LazyTable

STATUS_STYLE = {"overdue": "bold yellow", "received": "green", "cancelled": "dim", "closed": "dim", "reversed": "dim strike",
                "partly received": "cyan", "open": "", "announced": "italic magenta", "withdrawn": "dim"}
SORTS = [("Reference", "reference"), ("Donor", "donor"), ("Date", "pledged_on"), ("Currency", "currency"),
         ("Amount", "amount"), ("USD", "usd"), ("Received", "received"), ("Outstanding", "outstanding"),
         ("Status", "status"), ("Due", "due_on")]
# What a finance officer reads first fits in 120 columns; the cancelled part and the USD value (at
# the pledge-date rate) come last, and the table scrolls sideways (→) to them in a narrow terminal.
NARROW_BELOW = 110  # columns under which the filters take two rows
# Amount = received + outstanding + cancelled, in the pledge's currency.
# The money columns come before the dates, so that at 80 columns (78 cells of table) reference, donor,
# currency, amount, received and outstanding are whole on screen.
COLUMNS = [Column("Reference", 12), Column("Donor", 5), Column("Cur", 3), Column("Amount", 13),
           Column("Received", 13), Column("Outstanding", 13), Column("Status", 15), Column("Date", 10),
           Column("Due", 10), Column("¶", 7), Column("Cancelled", 13), Column("USD", 13)]
COLUMN_SORT = ["reference", "donor", "currency", "amount", "received", "outstanding", "status", "pledged_on",
               "due_on", None, None, "usd"]


def pledge_cells(row: queries.PledgeRow) -> tuple:
    cancelled = None if row.status == "reversed" else row.amount - row.received - row.outstanding
    return (
        row.reference, row.donor, row.currency, money_cell(row.amount, 13),
        money_cell(row.received, 13), money_cell(row.outstanding, 13),
        Text(row.status, style=STATUS_STYLE.get(row.status, "")), date(row.pledged_on), date(row.due_on),
        row.paragraphs,
        money_cell(cancelled, 13), money_cell(row.usd, 13),
    )


class DetailLoaded(Message):
    def __init__(self, detail: queries.PledgeDetail | None, purpose: str, reference: str):
        super().__init__()
        self.detail, self.purpose, self.reference = detail, purpose, reference


class PledgesScreen(LedgerScreen):
    MODE = "pledges"
    AUTO_FOCUS = "#pledges"
    TITLE = "Pledges"
    CSS_PATH = "pledges.tcss"
    HELP = (
        "Every pledge with its donor, reference (the agreement number), date, currency, amount, its "
        "value in USD at the pledge-date rate, what was received, what is outstanding and what was "
        "cancelled (in the pledge's currency: amount = received + outstanding + cancelled), its status (open, partly received, overdue, received, cancelled, reversed), "
        "due date and the paragraphs it is allocated to (U = unearmarked).\n\n"
        "Filter by donor, paragraph, status or any text (reference, donor, notes); sort by any column "
        "(pick it in *Sort*, or click a header). The table reads a page at a time, so it opens at once "
        "on any number of pledges.\n\n"
        "From the selected pledge: **Enter** shows its detail (allocations, receipts, spending it "
        "funded, journal entries with hashes); **r** records a receipt; **c** cancels (writes off) "
        "part or all of what is outstanding; **i** re-plans its instalments with the donor (the whole "
        "schedule, adding up to the pledge's amount); **x** reverses one of its entries. **m** opens the "
        "reminders: per donor, the instalments overdue or due soon, with an export to a workbook."
    )
    WRITE_ACTIONS: ClassVar = {"new_pledge": Act.RECORD_MONEY, "receipt": Act.RECORD_MONEY,
                               "cancel_pledge": Act.RECORD_MONEY, "reverse": Act.RECORD_MONEY,
                               "correct": Act.RECORD_MONEY, "schedule": Act.RECORD_MONEY}
    BINDINGS: ClassVar = [
        Binding("n", "new_pledge", "New pledge"),
        Binding("r", "receipt", "Receipt"),
        Binding("c", "cancel_pledge", "Cancel"),
        Binding("i", "schedule", "Instalments"),
        Binding("m", "reminders", "Reminders"),
        Binding("x", "reverse", "Reverse"),
        Binding("e", "correct", "Correct"),
        Binding("enter", "detail", "Detail", show=True),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("o", "order", "Order"),
    ]

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="toolbar", id="pledge-filters"):
            yield Input(placeholder="donor code", id="filter-donor")
            yield Select([("All paragraphs", -1)], value=-1, allow_blank=False, id="filter-paragraph")
            yield Select([("Any status", ""), *[(s, s) for s in queries.PLEDGE_STATUSES]], value="",
                         allow_blank=False, id="filter-status")
            yield Input(placeholder="search text", id="filter-text")
            yield Select(SORTS, value="reference", allow_blank=False, id="sort")
            yield Checkbox("desc", id="descending")
        yield LazyTable(COLUMNS, self._count, self._fetch, id="pledges")
        yield Static("", id="pledges-status", classes="status-line")

    def on_mount(self) -> None:
        self.filters = queries.PledgeFilter(as_of=self.ledger_app.as_of)
        self.sort_key = "reference"
        self.descending = False
        self._text_timer = None
        self._load_choices()
        self.query_one(LazyTable).focus()
        self.reload()

    def on_screen_resume(self) -> None:
        self.query_one(LazyTable).focus()

    def on_resize(self) -> None:
        self.set_class(self.app.size.width < NARROW_BELOW, "narrow")  # filters in two rows (pledges.tcss)

    @work(thread=True, exclusive=True, exit_on_error=False, group="choices")
    def _load_choices(self) -> None:
        donors = queries.donors(self.ledger)
        paragraphs = queries.paragraphs(self.ledger)
        self.app.call_from_thread(self._set_choices, donors, paragraphs)

    def _set_choices(self, donors: list[queries.DonorView], paragraphs: list[queries.ParagraphView]) -> None:
        items = picker_items((d.code, d.name) for d in donors)
        pickers = self.query(CodePicker)
        if pickers:  # a reload: new donors join the picker; the filters stay as they are
            pickers.first().candidates = items
            return
        select = self.query_one("#filter-paragraph", Select)
        select.set_options([("All paragraphs", -1), *[(f"¶{p.number} {p.short_title}", p.number) for p in paragraphs],
                            ("Unearmarked", 0)])
        select.value = -1
        self.mount(CodePicker(self.query_one("#filter-donor", Input), items))

    # -- the table ----------------------------------------------------------------------------
    def _count(self) -> int:
        return queries.pledge_count(self.ledger, self.filters)

    def _fetch(self, offset: int, limit: int) -> list[tuple]:
        rows = queries.pledges_page(self.ledger, self.filters, self.sort_key, self.descending, offset, limit)
        return [pledge_cells(r) for r in rows]

    def reload(self) -> None:
        self.query_one("#pledges-status", Static).update("loading…")
        self.query_one(LazyTable).reload()
        if self.query(CodePicker):
            self._load_choices()  # a donor added meanwhile can be picked

    def on_lazy_table_ready(self, message: LazyTable.Ready) -> None:
        label = dict((v, k) for k, v in SORTS)[self.sort_key]
        shown = "" if self.filters == queries.PledgeFilter(as_of=self.ledger_app.as_of) else " (filtered)"
        self.query_one("#pledges-status", Static).update(
            f"{message.total:,} pledge(s){shown} · sorted by {label}{' descending' if self.descending else ''}"
            " · Enter detail · ? help")

    def _filters_changed(self) -> None:
        donor = self.query_one("#filter-donor", Input).value.strip() or None
        paragraph = self.query_one("#filter-paragraph", Select).value
        status = self.query_one("#filter-status", Select).value or None
        text = self.query_one("#filter-text", Input).value.strip() or None
        filters = queries.PledgeFilter(donor, None if paragraph in (-1, Select.BLANK) else paragraph,
                                       None if status is Select.BLANK else status, text, self.ledger_app.as_of)
        sort = self.query_one("#sort", Select).value
        descending = self.query_one("#descending", Checkbox).value
        if (filters, sort, descending) != (self.filters, self.sort_key, self.descending):
            self.filters, self.sort_key, self.descending = filters, sort, descending
            self.reload()

    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _select_changed(self) -> None:
        if hasattr(self, "filters"):
            self._filters_changed()

    @on(Input.Changed, "#filter-text, #filter-donor")
    def _text_changed(self) -> None:
        if self._text_timer is not None:
            self._text_timer.stop()
        self._text_timer = self.set_timer(0.3, self._filters_changed)

    @on(Input.Submitted, "#filter-text, #filter-donor")
    def _filter_submitted(self) -> None:
        self._filters_changed()
        self.query_one(LazyTable).focus()

    def on_data_table_header_selected(self, event) -> None:
        key = COLUMN_SORT[event.column_index] if event.column_index < len(COLUMN_SORT) else None
        if key is None:
            return
        select = self.query_one("#sort", Select)
        if select.value == key:
            checkbox = self.query_one("#descending", Checkbox)
            checkbox.value = not checkbox.value
        else:
            select.value = key

    def on_data_table_row_selected(self, _event: Any) -> None:
        self.action_detail()

    def action_filter(self) -> None:
        self.query_one("#filter-text", Input).focus()

    def action_sort(self) -> None:
        self.query_one("#sort", Select).focus()

    def action_order(self) -> None:
        checkbox = self.query_one("#descending", Checkbox)
        checkbox.value = not checkbox.value

    def selected(self) -> str | None:
        reference = self.query_one(LazyTable).row_key()
        if reference is None:
            self.notify("Select a pledge first (the table is empty or still loading).", severity="warning")
        return reference

    # -- actions ----------------------------------------------------------------------------
    def action_new_pledge(self) -> None:
        if self.refused(Act.RECORD_MONEY):
            return
        self.app.push_screen(PledgeForm(), self._pledge_entered)

    def action_detail(self) -> None:
        reference = self.selected()
        if reference:
            self._load_detail(reference, "detail")

    def action_receipt(self) -> None:
        if not self.refused(Act.RECORD_MONEY) and (reference := self.selected()):
            self._load_detail(reference, "receipt")

    def action_cancel_pledge(self) -> None:
        if not self.refused(Act.RECORD_MONEY) and (reference := self.selected()):
            self._load_detail(reference, "cancel")

    def action_reverse(self) -> None:
        if not self.refused(Act.RECORD_MONEY) and (reference := self.selected()):
            self._load_detail(reference, "reverse")

    def action_schedule(self) -> None:
        if not self.refused(Act.RECORD_MONEY) and (reference := self.selected()):
            self._load_detail(reference, "schedule")

    def action_reminders(self) -> None:
        from .reminders import RemindersScreen

        self.app.push_screen(RemindersScreen(self.ledger_app.as_of))

    def action_correct(self) -> None:
        if not self.refused(Act.RECORD_MONEY) and (reference := self.selected()):
            self._load_detail(reference, "correct")

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail")
    def _load_detail(self, reference: str, purpose: str) -> None:
        self.post_message(DetailLoaded(queries.pledge_detail(self.ledger, reference, self.ledger_app.as_of), purpose, reference))

    def on_detail_loaded(self, message: DetailLoaded) -> None:
        detail = message.detail
        if detail is None:
            self.notify(f"Pledge {message.reference} is no longer there.", severity="error")
            return
        open_pledge_form(self, message.purpose, detail, self._written)

    def _written(self, result: Any) -> None:
        if result is None:
            return
        self.notify(describe(result), title="Saved", severity="information")
        self.reload()

    def _pledge_entered(self, result: Any) -> None:
        """A new pledge: once the table is reloaded, its row is selected (ready for r, c, Enter)."""
        if result is not None:
            self._find(result.reference, self.filters, self.sort_key, self.descending)
        self._written(result)

    @work(thread=True, exclusive=True, exit_on_error=False, group="find")
    def _find(self, reference: str, filters: queries.PledgeFilter, sort: str, descending: bool) -> None:
        position = queries.pledge_position(self.ledger, reference, filters, sort, descending)
        self.app.call_from_thread(self._select_when_loaded, reference, position)

    def _select_when_loaded(self, reference: str, position: int | None) -> None:
        table = self.query_one(LazyTable)
        if position is None:
            self.notify(f"{reference} is not shown with these filters.", severity="information")
        elif not table.loaded:
            self.set_timer(0.05, lambda: self._select_when_loaded(reference, position))
        else:
            table.move_cursor(row=position)
            table.focus()


def open_pledge_form(screen, purpose: str, detail: queries.PledgeDetail, callback) -> None:
    if purpose == "detail":
        screen.app.push_screen(PledgeDetailScreen(detail), callback)
    elif purpose == "receipt":
        screen.app.push_screen(ReceiptForm(detail), callback)
    elif purpose == "cancel":
        screen.app.push_screen(CancelForm(detail), callback)
    elif purpose == "sign":
        screen.app.push_screen(SignForm(detail), callback)
    elif purpose == "withdraw":
        screen.app.push_screen(WithdrawForm(detail), callback)
    elif purpose == "reverse":
        screen.app.push_screen(ReverseForm(detail), callback)
    elif purpose == "reallocate":
        numbers = [p.number for p in queries.paragraphs(screen.app.ledger)]
        screen.app.push_screen(ReallocateForm(detail, numbers), callback)
    elif purpose == "refund":
        screen.app.push_screen(RefundForm(detail), callback)
    elif purpose == "close":
        screen.app.push_screen(ClosePledgeForm(detail), callback)
    elif purpose == "schedule":
        screen.app.push_screen(ScheduleForm(detail), callback)
    elif purpose == "correct":  # the pledge itself (its receipts and cancellations: from the journal)
        open_correction(screen, detail.entry_id, lambda *_: PledgeForm(), callback)


# -- detail --------------------------------------------------------------------------------


class PledgeDetailScreen(ModalScreen[Any]):
    CSS_PATH = "pledges.tcss"
    BINDINGS: ClassVar = [
        Binding("escape", "dismiss(None)", "Back"),
        Binding("r", "act('receipt')", "Receipt"),
        Binding("c", "act('cancel')", "Cancel"),
        Binding("i", "act('schedule')", "Instalments"),
        Binding("s", "act('sign')", "Sign"),
        Binding("w", "act('withdraw')", "Withdraw"),
        Binding("x", "act('reverse')", "Reverse"),
        Binding("e", "act('correct')", "Correct"),
        Binding("m", "act('reallocate')", "Reallocate"),
        Binding("f", "act('refund')", "Refund"),
        Binding("k", "act('close')", "Close"),
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(self, detail: queries.PledgeDetail):
        super().__init__()
        self.detail = detail

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "act":
            if not self.app.may(Act.RECORD_MONEY):
                return False
            if parameters and parameters[0] in ("sign", "withdraw"):  # only an announced pledge is signed or withdrawn
                return self.detail.stage == "announced"
        return True

    def compose(self) -> ComposeResult:
        d = self.detail
        with Vertical(id="detail"):
            closed = f" (entry {d.closed[0]} on {d.closed[1]})" if d.closed else ""
            yield Label(f"Pledge {d.reference} · {d.donor} {d.donor_name} · {d.status}{closed}", id="detail-title")
            with VerticalScroll():
                yield Static(Text(
                    f"Pledged on {d.pledged_on} in {d.currency} · PSC {d.psc_rate}% · due {d.due_on or '—'} · "
                    f"journal entry {d.entry_id}" + (f" · {d.links}" if d.links else "")
                    + (f"\n{self._stage()}" if self._stage() else "")
                    + (f"\nNotes: {d.notes}" if d.notes else "")))
                yield Static(self._allocations(), classes="detail-block")
                yield Static(self._schedule(), classes="detail-block")
                yield Static(self._receipts(), classes="detail-block")
                yield Static(self._spending(), classes="detail-block")
                yield Static(self._entries(), classes="detail-block")
        yield Footer()

    def _stage(self) -> str:
        """The stage, where the pledge was not simply recorded signed on its date."""
        d = self.detail
        if d.stage == "announced":
            return "Stage: announced, not signed (s signs it, w withdraws it); no receipt or funding until signed"
        if d.stage == "withdrawn":
            return f"Stage: withdrawn on {d.withdrawn_on}"
        return f"Stage: announced {d.pledged_on}, signed {d.signed_on}" if d.signed_on != d.pledged_on else ""

    def _allocations(self):
        from rich.console import Group
        from rich.table import Table

        d = self.detail
        own = Table(title=f"Allocations in {d.currency}, the pledge's currency", title_justify="left", expand=True, box=box.SIMPLE_HEAD)
        for name in ("¶", "Amount", "Received", "Cancelled", "Outstanding"):
            own.add_column(name, justify="right", no_wrap=True)
        usd = Table(title="The same allocations valued in USD: pledged, programmable, cash and spending", title_justify="left", expand=True, box=box.SIMPLE_HEAD)
        for name in ("¶", "Pledged", "Programmable", "Received", "Spent", "PSC", "Cash held"):
            usd.add_column(name, justify="right", no_wrap=True)
        for a in d.allocations:
            label = "U" if a.paragraph is None else str(a.paragraph)
            own.add_row(label, amount(a.amount), amount(a.received), amount(a.cancelled), amount(a.outstanding))
            usd.add_row(label, amount(a.pledged_usd), amount(a.programmable_usd), amount(a.received_usd),
                        amount(a.spent_usd), amount(a.psc_usd), amount(a.cash_usd))
        return Group(own, usd)

    def _schedule(self):
        from rich.console import Group
        from rich.table import Table

        d = self.detail
        table = Table(title=f"Instalments in {d.currency}: receipts paid the earliest due first, cancellations "
                            "came off the latest", title_justify="left", expand=True, box=box.SIMPLE_HEAD)
        for name, justify in (("#", "right"), ("Due on", "left"), ("Amount", "right"), ("Paid", "right"),
                              ("Unpaid", "right"), ("", "left")):
            table.add_column(name, justify=justify, no_wrap=True)
        for i in d.schedule:
            table.add_row(str(i.position), str(i.due_on), amount(i.amount), amount(i.paid), amount(i.unpaid),
                          Text(f"OVERDUE {i.days_late} d", style="bold red") if i.overdue else "")
        if not d.schedule:
            table.add_row("", "no schedule (no due date): never overdue", "", "", "", "")
        if not d.schedule_versions:
            return table
        history = Table(title="Schedule history (re-planned with the donor)", title_justify="left", expand=True,
                        box=box.SIMPLE_HEAD)
        for name in ("Entry", "Recorded (UTC)", "By", "Schedule and reason", ""):
            history.add_column(name, overflow="fold")
        for v in d.schedule_versions:
            history.add_row(str(v.entry_id), f"{v.posted_at:%Y-%m-%d %H:%M}", v.user, v.memo,
                            f"reversed by {v.reversed_by}" if v.reversed_by else "")
        return Group(table, history)

    def _receipts(self):
        from rich.table import Table

        d = self.detail
        table = Table(title="Receipts and cancellations", title_justify="left", expand=True, box=box.SIMPLE_HEAD)
        for name, justify in (("Date", "left"), ("What", "left"), (f"Amount {d.currency}", "right"), ("USD", "right"),
                              ("Entry", "right"), ("Note", "left")):
            table.add_column(name, justify=justify)
        for r in d.receipts:
            table.add_row(str(r.received_on), f"receipt {r.reference}", amount(r.amount), amount(r.usd), str(r.entry_id),
                          (f"{r.links} " if r.links else "") + r.bank_reference)
        for c in d.cancellations:
            table.add_row(str(c.cancelled_on), "cancellation", amount(c.amount), amount(c.usd), str(c.entry_id),
                          (f"{c.links} " if c.links else "") + c.reason)
        for m in d.reallocations:  # reallocated, never cancelled: the pledged USD change stated
            source, target = ("U" if n is None else f"¶{n}" for n in (m.source, m.target))
            change = f"pledged USD {m.pledged_change:+,}" if m.pledged_change else "pledged USD unchanged"
            table.add_row(str(m.reallocated_on), f"reallocated {source} → {target}", amount(m.amount), amount(m.to_usd),
                          str(m.entry_id), (f"{m.links} " if m.links else "") + f"{change}; consent: {m.consent}")
        for f in d.refunds:
            table.add_row(str(f.refunded_on), f"refund ({f.paragraph})", amount(f.amount), amount(f.usd), str(f.entry_id),
                          (f"{f.links} " if f.links else "") + f.reason)
        if not d.receipts and not d.cancellations and not d.reallocations and not d.refunds:
            table.add_row("", "none yet", "", "", "", "")
        return table

    def _spending(self):
        from rich.table import Table

        table = Table(title="Spending funded by this pledge", title_justify="left", expand=True, box=box.SIMPLE_HEAD)
        for name, justify in (("Date", "left"), ("Disbursement", "left"), ("Activity", "left"), ("¶", "right"),
                              ("USD", "right"), ("PSC USD", "right")):
            table.add_column(name, justify=justify)
        for s in self.detail.spending:
            table.add_row(str(s.disbursed_on), s.disbursement, s.activity, str(s.paragraph or ""), amount(s.usd),
                          amount(s.psc_usd))
        if not self.detail.spending:
            table.add_row("", "none yet", "", "", "", "")
        return table

    def _entries(self):
        from rich.table import Table

        table = Table(title="Journal entries", title_justify="left", expand=True, box=box.SIMPLE_HEAD)
        for name, justify, width in (("Entry", "right", 6), ("Date", "left", 10), ("Kind", "left", 12),
                                     ("Reference", "left", 10), ("Debits USD", "right", 14), ("Hash", "left", None)):
            table.add_column(name, justify=justify, no_wrap=True, min_width=width,
                             overflow="fold" if name == "Hash" else "ellipsis")
        for e in self.detail.entries:
            kind = e.kind + (f" ({e.links})" if e.links else "")
            table.add_row(str(e.id), str(e.event_date), kind, e.reference, amount(e.debits_usd), e.hash)
        return table

    def action_act(self, purpose: str) -> None:
        """The form over this detail: Esc comes back here; once saved, back to the list, reloaded."""
        below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else None
        written = getattr(below, "_written", None)

        def done(result: Any) -> None:
            if result is None:
                return
            self.dismiss(None)
            if written is not None:
                written(result)

        open_pledge_form(self, purpose, self.detail, done)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(
            "# Pledge detail\n\nIts allocations (per paragraph, U = unearmarked) with what was pledged, "
            "received, cancelled and is outstanding, and the cash each still holds; its receipts and "
            "cancellations; the disbursements it paid (funding splits) with PSC; and every journal entry "
            "that touches it, with its SHA-256 hash. **m** reallocates outstanding money between allocations with "
            "the donor's consent, **f** refunds unspent cash, **k** closes a pledge with nothing outstanding and no "
            "cash left.\n\n" + keys_help(self.BINDINGS)))


# -- forms ---------------------------------------------------------------------------------


def _decimal(text: str) -> Decimal | None:
    """The amount typed so far (same rules as the input models), or None."""
    try:
        return parse_decimal(text) if text.strip() else None
    except MoneyError:
        return None


class ChoicesLoaded(Message):
    def __init__(self, donors, paragraphs, currencies):
        super().__init__()
        self.donors, self.paragraphs, self.currencies = donors, paragraphs, currencies


class PledgeForm(FormScreen):
    MODEL = PledgeIn
    TITLE = "New pledge"
    HELP = (
        "A donor's promise of an amount in one currency on a date, split into allocations: one per "
        "operative paragraph it is earmarked to, and optionally one unearmarked. Type the total to see "
        "the running remainder as you allocate; **ctrl+r** puts the remainder into the allocation "
        "under the cursor. PSC (programme support cost) defaults to 13 %."
    )
    BINDINGS: ClassVar = [Binding("ctrl+r", "fill_remainder", "Remainder here")]

    def compose_fields(self) -> ComposeResult:
        today = dt.date.today().isoformat()
        with Horizontal(classes="row"):
            yield self.field("reference", "Reference (agreement number)", placeholder="e.g. NOR-2016-01")
            yield self.field("donor", "Donor (type to search)", placeholder="donor code")
        with Horizontal(classes="row"):
            yield self.field("pledged_on", "Pledged on", today, "YYYY-MM-DD")
            yield self.field("currency", "Currency", placeholder="e.g. NOK")
            yield self.field("total", "Total (for the remainder)", placeholder="optional")
        yield Label("Allocations (amount per paragraph; leave empty for none)", classes="field-label")
        yield Vertical(id="allocations")
        yield Static("", id="remainder")
        with Horizontal(classes="row"):
            yield self.field("psc_rate", "PSC %", "13")
            yield self.field("due_on", "Due on", placeholder="optional YYYY-MM-DD")
            yield self.choice("stage", "Stage", [("Signed (an agreement)", "signed"), ("Announced (intention)", "announced")],
                              "signed")
        yield self.field("notes", "Notes", placeholder="optional")

    def on_mount(self) -> None:
        self.paragraph_numbers: list[int] = []
        self.donor_currency: dict[str, str | None] = {}
        self._load_choices()
        self.query_one(f"#{field_id('reference')}").focus()

    @work(thread=True, exclusive=True, exit_on_error=False, group="choices")
    def _load_choices(self) -> None:
        self.post_message(ChoicesLoaded(queries.donors(self.ledger), queries.paragraphs(self.ledger), queries.currencies()))

    @property
    def ledger(self):
        return self.app.ledger

    async def on_choices_loaded(self, message: ChoicesLoaded) -> None:
        self.donor_currency = {d.code: d.currency for d in message.donors}
        self.paragraph_numbers = [p.number for p in message.paragraphs]
        box = self.query_one("#allocations", Vertical)
        fields = [self.field(f"alloc.{n}", f"¶{n}", classes="allocation") for n in self.paragraph_numbers]
        fields.append(self.field("alloc.U", "Unearmarked", classes="allocation"))
        rows = [Horizontal(*fields[start:start + 4], classes="row") for start in range(0, len(fields), 4)]
        await box.mount_all(rows)  # one layout pass for every allocation field
        if self.correcting:  # the allocations of the pledge corrected
            for allocation in self.correcting[1].allocations:
                self.set_text(f"alloc.{allocation.paragraph or 'U'}", str(allocation.amount))
        donor = self.query_one(f"#{field_id('donor')}", Input)
        await self.mount(CodePicker(donor, picker_items((d.code, d.name) for d in message.donors)))
        currency = self.query_one(f"#{field_id('currency')}", Input)
        await self.mount(CodePicker(currency, picker_items((c, "") for c in message.currencies)))
        self.update_remainder()

    def fill(self, content: PledgeIn) -> None:
        super().fill(content)
        self.query_one(f"#{field_id('stage')}", Select).value = content.stage  # a correction keeps the stage

    def allocation_names(self) -> list[tuple[str, int | None]]:
        return [*[(f"alloc.{n}", n) for n in self.paragraph_numbers], ("alloc.U", None)]

    def values(self) -> dict:
        allocations = []
        self.allocation_fields = []
        for name, paragraph in self.allocation_names():
            text = self.text(name) if self.query(f"#{field_id(name)}") else ""
            if text.strip():
                allocations.append({"paragraph": paragraph, "amount": text})
                self.allocation_fields.append(name)
        return {
            "reference": self.text("reference"), "donor": self.text("donor"), "pledged_on": self.text("pledged_on"),
            "currency": self.text("currency"), "allocations": allocations, "psc_rate": self.text("psc_rate"),
            "due_on": self.text("due_on"), "notes": self.text("notes"), "stage": self.selected("stage") or "signed",
        }

    def show_problems(self, problems: list[Problem], show_all: bool = True) -> None:
        """A problem of the n-th allocation given is shown at the field it was typed in."""
        mapped = []
        for p in problems:
            index = p.index_in("allocations")
            if index is not None and index < len(getattr(self, "allocation_fields", [])):
                p = Problem(self.allocation_fields[index], p.message)
            elif p.field == "allocations":  # none given
                p = Problem("total", p.message)
            mapped.append(p)
        super().show_problems(mapped, show_all)

    def total_and_allocated(self) -> tuple[Decimal | None, Decimal]:
        allocated = Decimal(0)
        for name, _ in self.allocation_names():
            if self.query(f"#{field_id(name)}"):
                allocated += _decimal(self.text(name)) or 0
        return _decimal(self.text("total")), allocated

    def extra_problems(self, model: Any) -> list[Problem]:
        total, allocated = self.total_and_allocated()
        if total is not None and total != allocated:
            return [Problem("total", f"allocations add up to {allocated:,}: {total - allocated:,} left to allocate")]
        return []

    def after_validation(self) -> None:
        self.update_remainder()

    def update_remainder(self) -> None:
        widget = self.query_one("#remainder", Static)
        total, allocated = self.total_and_allocated()
        currency = self.text("currency").upper()
        if total is None:
            widget.update(f"Allocated {currency} {allocated:,}")
            widget.remove_class("off")
        else:
            left = total - allocated
            widget.update(f"Total {currency} {total:,} · allocated {allocated:,} · remainder {left:,}")
            widget.set_class(left != 0, "off")

    def field_changed(self, name: str | None) -> None:
        if name == "donor":
            code = self.text("donor").strip()
            currency = self.donor_currency.get(code)
            if currency and not self.text("currency"):
                self.set_text("currency", currency)

    def action_fill_remainder(self) -> None:
        focused = self.focused
        if not isinstance(focused, Input) or not (focused.id or "").startswith("f-alloc-"):
            self.notify("Move to an allocation field first.", severity="warning")
            return
        total, allocated = self.total_and_allocated()
        if total is None:
            self.notify("Type the total first.", severity="warning")
            return
        current = _decimal(focused.value) or Decimal(0)
        focused.value = f"{total - allocated + current}"

    def save(self, model: PledgeIn) -> Any:
        return services.record_pledge(self.app.ledger, model)


class ReceiptForm(FormScreen):
    MODEL = ReceiptIn
    TITLE = "Record a receipt"
    HELP = ("Cash received against the pledge, in the pledge's currency. It is split over the allocations "
            "pro rata to what each has outstanding. Give the USD actually credited if the bank statement "
            "shows it; otherwise the rate of the receipt date is used.")

    def __init__(self, detail: queries.PledgeDetail):
        super().__init__()
        self.detail = detail

    def compose_fields(self) -> ComposeResult:
        d = self.detail
        yield Static(f"Pledge {d.reference} · {d.donor} · outstanding {d.currency} {amount(d.outstanding)}",
                     classes="hint")
        with Horizontal(classes="row"):
            yield self.field("reference", "Receipt reference", placeholder="e.g. bank credit number")
            yield self.field("received_on", "Received on", dt.date.today().isoformat(), "YYYY-MM-DD")
        with Horizontal(classes="row"):
            yield self.field("amount", f"Amount ({d.currency})", placeholder=amount(d.outstanding))
            yield self.field("usd_amount", "USD credited (optional)", placeholder="from the bank statement")
        yield self.field("bank_reference", "Bank reference", placeholder="optional")

    def on_mount(self) -> None:
        self.query_one(f"#{field_id('reference')}").focus()

    def values(self) -> dict:
        return {"reference": self.text("reference"), "pledge": self.detail.reference,
                "received_on": self.text("received_on"), "amount": self.text("amount"),
                "usd_amount": self.text("usd_amount"), "bank_reference": self.text("bank_reference")}

    def save(self, model: ReceiptIn) -> Any:
        return services.record_receipt(self.app.ledger, model)


class CancelForm(FormScreen):
    MODEL = CancellationIn
    TITLE = "Cancel (write off) a pledge"
    HELP = ("Writes off part or all of what is outstanding, in the pledge's currency, with a reason. "
            "Without a paragraph the amount is split over the allocations like a receipt.")

    def __init__(self, detail: queries.PledgeDetail):
        super().__init__()
        self.detail = detail

    def compose_fields(self) -> ComposeResult:
        d = self.detail
        options: list[tuple[str, Any]] = [("Whole pledge (split pro rata)", "all")]
        for a in d.allocations:
            if a.outstanding > 0:
                label = "Unearmarked" if a.paragraph is None else f"¶{a.paragraph}"
                options.append((f"{label} (outstanding {amount(a.outstanding)})", "U" if a.paragraph is None else a.paragraph))
        yield Static(f"Pledge {d.reference} · {d.donor} · outstanding {d.currency} {amount(d.outstanding)}",
                     classes="hint")
        with Horizontal(classes="row"):
            yield self.field("amount", f"Amount ({d.currency})", amount(d.outstanding).replace(",", ""))
            yield self.field("cancelled_on", "Cancelled on", dt.date.today().isoformat(), "YYYY-MM-DD")
        yield self.choice("paragraph", "Allocation", options, "all")
        yield self.field("reason", "Reason", placeholder="e.g. donor letter of 2016-03-01")

    def on_mount(self) -> None:
        self.query_one(f"#{field_id('amount')}").focus()

    def fill(self, content: CancellationIn) -> None:
        super().fill(content)
        target = "U" if content.unearmarked else content.paragraph or "all"
        try:
            self.query_one(f"#{field_id('paragraph')}", Select).value = target
        except InvalidSelectValueError:  # nothing left outstanding there: the whole pledge is offered
            pass

    def values(self) -> dict:
        target = self.selected("paragraph")
        return {"pledge": self.detail.reference, "amount": self.text("amount"),
                "cancelled_on": self.text("cancelled_on"), "reason": self.text("reason"),
                "paragraph": target if isinstance(target, int) else None, "unearmarked": target == "U"}

    def save(self, model: CancellationIn) -> Any:
        return services.cancel_pledge(self.app.ledger, model)


def instalment_items(text: str) -> list[dict]:
    """"2012-01-31=100000, 2012-06-30=200000" (commas, semicolons or new lines between them) as the
    instalments of a ScheduleIn; a part without "=" is given as its due date, for the model to name."""
    items = []
    for part in text.replace(";", ",").replace("\n", ",").split(","):
        if part.strip():
            due_on, _, value = part.partition("=")
            items.append({"due_on": due_on.strip(), "amount": value.strip()})
    return items


class ScheduleForm(FormScreen):
    MODEL = ScheduleIn
    TITLE = "Re-plan the instalments"
    HELP = ("The pledge's whole schedule as agreed with the donor: each instalment as DATE=AMOUNT (in the "
            "pledge's currency), separated by commas, adding up to the pledge's amount. It replaces the "
            "schedule in force from now on; the old one stays in the pledge's history (reverse the entry to "
            "go back to it).")

    def __init__(self, detail: queries.PledgeDetail):
        super().__init__()
        self.detail = detail

    def compose_fields(self) -> ComposeResult:
        d = self.detail
        now = ", ".join(f"{i.due_on}={i.amount}" for i in d.schedule)
        yield Static(f"Pledge {d.reference} · {d.donor} · amount {d.currency} {amount(d.amount)}", classes="hint")
        yield self.field("instalments", "Instalments (DATE=AMOUNT, ...)", now, "e.g. 2027-01-31=1000, 2027-06-30=500")
        yield self.field("reason", "Reason", placeholder="e.g. donor letter of 2026-11-20")

    def on_mount(self) -> None:
        self.query_one(f"#{field_id('instalments')}").focus()

    def fill(self, content: ScheduleIn) -> None:
        super().fill(content)
        self.set_text("instalments", ", ".join(f"{i.due_on}={i.amount}" for i in content.instalments))

    def values(self) -> dict:
        return {"pledge": self.detail.reference, "instalments": instalment_items(self.text("instalments")),
                "reason": self.text("reason")}

    def save(self, model: ScheduleIn) -> Any:
        return services.schedule_pledge(self.app.ledger, model) or f"{model.pledge}: that schedule is already in force"


class AnnouncedPledgeForm(FormScreen):
    """An act on an announced pledge (sign, withdraw): its date, today unless changed, and one more field."""

    DATE: ClassVar[tuple[str, str]]  # the date field, its label
    OTHER: ClassVar[tuple[str, str, str]]  # the other field, its label, its placeholder

    def __init__(self, detail: queries.PledgeDetail):
        super().__init__()
        self.detail = detail

    def compose_fields(self) -> ComposeResult:
        d = self.detail
        yield Static(f"Pledge {d.reference} · {d.donor} · announced {d.pledged_on} · {d.currency} {amount(d.amount)}",
                     classes="hint")
        with Horizontal(classes="row"):
            yield self.field(*self.DATE, dt.date.today().isoformat(), "YYYY-MM-DD")
            yield self.field(*self.OTHER[:2], placeholder=self.OTHER[2])

    def on_mount(self) -> None:
        self.query_one(f"#{field_id(self.DATE[0])}").focus()

    def values(self) -> dict:
        return {"pledge": self.detail.reference, self.DATE[0]: self.text(self.DATE[0]),
                self.OTHER[0]: self.text(self.OTHER[0])}


class SignForm(AnnouncedPledgeForm):
    MODEL = SigningIn
    TITLE = "Sign an announced pledge"
    HELP = ("The donor signed the contribution agreement: the pledge's receivable and revenue are posted at the "
            "rate of the signing date, which becomes the pledge's rate; its announcement (memorandum) is cleared.")
    DATE = ("signed_on", "Signed on")
    OTHER = ("agreement", "Agreement", "optional, e.g. agreement number")

    def save(self, model: SigningIn) -> Any:
        return services.sign_pledge(self.app.ledger, model)


class WithdrawForm(AnnouncedPledgeForm):
    MODEL = WithdrawalIn
    TITLE = "Withdraw an announced pledge"
    HELP = "The donor will not sign: the announcement ends (its memorandum lines are cleared). A signed pledge is cancelled instead."
    DATE = ("withdrawn_on", "Withdrawn on")
    OTHER = ("reason", "Reason", "e.g. donor letter of 2012-03-01")

    def save(self, model: WithdrawalIn) -> Any:
        return services.withdraw_pledge(self.app.ledger, model)


__all__ = ["PledgesScreen", "PledgeForm", "ReceiptForm", "CancelForm", "ScheduleForm", "SignForm", "WithdrawForm",
           "PledgeDetailScreen", "FormField"]
