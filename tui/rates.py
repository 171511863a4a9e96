"""Exchange rates: UN operational rates per currency and date; add one (finance)."""

from __future__ import annotations

import datetime as dt
from contextlib import suppress
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import RowDoesNotExist

from ledger import queries, services
from ledger.inputs import RateIn
from ledger.roles import Act

from .base import LedgerScreen
from .forms import CodePicker, FormScreen, SavedRecord, field_id, picker_items


def rate_key(currency: str, effective_from: dt.date) -> str:
    return f"{currency} {effective_from.isoformat()}"


COLUMNS = (('Currency', 8), ('Effective from', 14), ('Units per USD', 16), ('Entered by', 16), ('Entered at (UTC)', 16),
           ('Correction', 30))

class RatesLoaded(Message):
    def __init__(self, rates: list[queries.RateView]):
        super().__init__()
        self.rates = rates


class RatesScreen(LedgerScreen):
    MODE = "rates"
    AUTO_FOCUS = "#rates"
    TITLE = "Exchange rates"
    CSS_PATH = "rates.tcss"
    HELP = (
        "UN operational rates of exchange: units of a currency per US dollar, in force from a date until "
        "the next rate of that currency. USD is always 1. **n** adds a rate (finance); a different value for a "
        "stored currency and date is a correction and needs a reason (every value is kept). A rate recorded "
        "later never changes an event already posted: it applies to what is posted after it. **/** filters by "
        "currency (the first letters are enough); Esc goes back to the table."
    )
    WRITE_ACTIONS: ClassVar = {"new_rate": Act.MANAGE_DONORS_RATES}
    BINDINGS: ClassVar = [Binding("n", "new_rate", "Add rate"), Binding("slash", "filter", "Filter")]

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="toolbar"):
            yield Input(placeholder="currency", id="rates-filter")
        table = DataTable(id="rates", cursor_type="row", zebra_stripes=True)
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        yield table
        yield Static("", id="rates-status", classes="status-line")

    def on_mount(self) -> None:
        self.rates: list[queries.RateView] = []
        self.select_key: str | None = None
        self.query_one("#rates").focus()
        self.reload()

    def reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self) -> None:
        self.post_message(RatesLoaded(queries.rates(self.ledger)))

    def on_rates_loaded(self, message: RatesLoaded) -> None:
        self.rates = message.rates
        self.show_rates()

    def show_rates(self) -> None:
        """The rates of the currencies the filter names (all when it is empty), decimals aligned."""
        wanted = self.query_one("#rates-filter", Input).value.strip().upper()
        shown = [r for r in self.rates if not wanted or r.currency.startswith(wanted)]
        table = self.query_one("#rates", DataTable)
        table.clear(columns=True)
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        for r in shown:
            table.add_row(r.currency, r.effective_from.isoformat(), Text(f"{r.units_per_usd:.6f}", justify="right"),
                          r.entered_by, f"{r.entered_at:%Y-%m-%d %H:%M}",
                          f"{r.reason} ({r.versions} values)" if r.versions > 1 else "",
                          key=rate_key(r.currency, r.effective_from))
        if self.select_key is not None:
            with suppress(RowDoesNotExist):  # unless the filter hides it
                table.move_cursor(row=table.get_row_index(self.select_key))
            self.select_key = None
        currencies = len({r.currency for r in shown})
        of_all = f" (filter {wanted!r}; {len(self.rates)} in all)" if wanted else ""
        self.query_one("#rates-status", Static).update(f"{len(shown)} rate(s) of {currencies} currencies{of_all}")

    @on(Input.Changed, "#rates-filter")
    def _filter_changed(self) -> None:
        self.show_rates()

    @on(Input.Submitted, "#rates-filter")
    def _filter_submitted(self) -> None:
        self.query_one("#rates").focus()

    def action_filter(self) -> None:
        self.query_one("#rates-filter", Input).focus()

    def action_new_rate(self) -> None:
        if not self.refused(Act.MANAGE_DONORS_RATES):
            self.app.push_screen(RateForm(), self._written)

    def _written(self, result: Any) -> None:
        if result is not None:
            self.notify(str(result), title="Saved")
            self.select_key = getattr(result, "key", None)  # the rate just added, once reloaded
            self.reload()


class RateForm(FormScreen):
    MODEL = RateIn
    TITLE = "Add an exchange rate"
    HELP = RatesScreen.HELP

    def compose_fields(self) -> ComposeResult:
        yield self.field("currency", "Currency", placeholder="e.g. NOK")
        yield self.field("effective_from", "Effective from", dt.date.today().replace(day=1).isoformat(), "YYYY-MM-DD")
        yield self.field("units_per_usd", "Units per USD", placeholder="e.g. 5.8 (at most 6 decimals)")
        yield self.field("reason", "Reason", placeholder="only to correct a stored rate")

    async def on_mount(self) -> None:
        currency = self.query_one(f"#{field_id('currency')}")
        currency.focus()
        await self.mount(CodePicker(currency, picker_items((c, "") for c in queries.currencies())))

    def values(self) -> dict:
        return {"currency": self.text("currency"), "effective_from": self.text("effective_from"),
                "units_per_usd": self.text("units_per_usd"), "reason": self.text("reason")}

    def save(self, model: RateIn) -> Any:
        outcome = services.add_rate(self.app.ledger, model)
        return SavedRecord(f"Rate {model.currency} from {model.effective_from}: {outcome}",
                           rate_key(model.currency, model.effective_from))
