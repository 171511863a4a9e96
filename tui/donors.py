"""Donors: the list with what each pledged and paid, add and edit (every change is a new version,
recorded by the service), and the history of the selected donor (its versions)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from ledger import queries, services
from ledger.inputs import DONOR_KINDS, DonorIn
from ledger.roles import Act

from .base import LedgerScreen
from .common import amount
from .forms import FormScreen, SavedRecord, field_id
from .history import history_table

COLUMNS = (('Code', 8), ('Name', 30), ('Kind', 18), ('Country', 7), ('Currency', 8), ('Pledges', 7), ('Pledged USD', 16), ('Received USD', 16))

class DonorsLoaded(Message):
    def __init__(self, donors: list[queries.DonorView]):
        super().__init__()
        self.donors = donors


class TrailLoaded(Message):
    def __init__(self, code: str, trail: list[queries.VersionView]):
        super().__init__()
        self.code, self.trail = code, trail


class DonorsScreen(LedgerScreen):
    MODE = "donors"
    AUTO_FOCUS = "#donors"
    TITLE = "Donors"
    CSS_PATH = "donors.tcss"
    HELP = (
        "Every donor with its code, name, kind, country, usual currency, number of pledges and what "
        "it pledged and paid in USD. Below the table: the history of the selected donor, one line per "
        "version (who recorded it, when, why, and the fields it changed, old and new value).\n\n**s** shows the selected "
        "donor's statement as of the app's date (its pledges and their events, the spending its money paid for, its "
        "balance) and writes its workbook with **x**; **n** adds a donor, **e** edits the selected one (finance)."
    )
    WRITE_ACTIONS: ClassVar = {"new_donor": Act.MANAGE_DONORS_RATES, "edit_donor": Act.MANAGE_DONORS_RATES}
    BINDINGS: ClassVar = [Binding("s", "statement", "Statement"), Binding("n", "new_donor", "Add donor"),
                          Binding("e", "edit_donor", "Edit donor")]

    def compose_body(self) -> ComposeResult:
        table = DataTable(id="donors", cursor_type="row", zebra_stripes=True)
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        yield table
        with VerticalScroll(id="trail-box", classes="panel"):
            yield Static("", id="trail")

    def on_mount(self) -> None:
        self.donors: list[queries.DonorView] = []
        self.select_key: str | None = None
        self.query_one("#trail-box").border_title = "History of the selected donor (its versions)"
        self.query_one("#donors").focus()
        self.reload()

    def reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self) -> None:
        self.post_message(DonorsLoaded(queries.donors(self.ledger)))

    def on_donors_loaded(self, message: DonorsLoaded) -> None:
        self.donors = message.donors
        table = self.query_one("#donors", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        for d in self.donors:
            table.add_row(d.code, d.name, d.kind, d.country or "", d.currency or "", Text(str(d.pledges), justify="right"),
                          Text(amount(d.pledged_usd), justify="right"), Text(amount(d.received_usd), justify="right"),
                          key=d.code)
        codes = [d.code for d in self.donors]
        if self.select_key in codes:
            row = codes.index(self.select_key)
        self.select_key = None
        if self.donors:
            table.move_cursor(row=min(row, len(self.donors) - 1))

    def selected(self) -> queries.DonorView | None:
        table = self.query_one("#donors", DataTable)
        if not self.donors:
            return None
        return self.donors[min(table.cursor_row, len(self.donors) - 1)]

    def on_data_table_row_highlighted(self, _event: Any) -> None:
        donor = self.selected()
        if donor is not None:
            self._load_trail(donor.code)

    @work(thread=True, exclusive=True, exit_on_error=False, group="trail")
    def _load_trail(self, code: str) -> None:
        self.post_message(TrailLoaded(code, queries.history(self.ledger, "donors", code)))

    def on_trail_loaded(self, message: TrailLoaded) -> None:
        selected = self.selected()
        if selected is None or selected.code != message.code:
            return  # the cursor has moved on: that donor's trail would be shown under another
        table = history_table(f"Donor {message.code}", message.trail)
        self.query_one("#trail", Static).update(table)

    def action_statement(self) -> None:
        from .statement import StatementDialog

        donor = self.selected()
        if donor is None:
            self.notify("No donor selected.", severity="warning")
            return
        self.app.push_screen(StatementDialog(self.ledger, donor.code, self.app.as_of))

    def action_new_donor(self) -> None:
        if not self.refused(Act.MANAGE_DONORS_RATES):
            self.app.push_screen(DonorForm(), self._written)

    def action_edit_donor(self) -> None:
        if self.refused(Act.MANAGE_DONORS_RATES):
            return
        donor = self.selected()
        if donor is None:
            self.notify("No donor selected.", severity="warning")
            return
        self.app.push_screen(DonorForm(donor), self._written)

    def _written(self, result: Any) -> None:
        if result is not None:
            self.notify(str(result), title="Saved")
            self.select_key = getattr(result, "key", None)  # the donor just saved, once reloaded
            self.reload()


class DonorForm(FormScreen):
    MODEL = DonorIn
    TITLE = "Donor"
    HELP = ("A donor has a unique short code, a name, a kind, optionally an ISO 3166-1 alpha-3 country "
            "(NOR, USA, JPN), a usual currency and its IATI organisation identifier (XM-DAC-8 for Norway; "
            "the IATI file names it). Each change is kept as a new version (its history).")

    def __init__(self, donor: queries.DonorView | None = None):
        super().__init__()
        self.donor = donor

    def compose_fields(self) -> ComposeResult:
        d = self.donor
        yield self.field("code", "Code" + (" (cannot change)" if d else ""), d.code if d else "", disabled=d is not None)
        yield self.field("name", "Name", d.name if d else "")
        yield self.choice("kind", "Kind", [(k, k) for k in DONOR_KINDS], d.kind if d else "member-state")
        yield self.field("country", "Country (ISO alpha-3)", (d.country or "") if d else "", "e.g. NOR")
        yield self.field("currency", "Usual currency", (d.currency or "") if d else "", "e.g. NOK")
        yield self.field("iati_ref", "IATI organisation identifier", (d.iati_ref or "") if d else "", "e.g. XM-DAC-8")

    def on_mount(self) -> None:
        self.query_one(f"#{field_id('name' if self.donor else 'code')}").focus()

    def values(self) -> dict:
        return {"code": self.text("code"), "name": self.text("name"), "kind": self.selected("kind"),
                "country": self.text("country"), "currency": self.text("currency"),
                "iati_ref": self.text("iati_ref")}

    def save(self, model: DonorIn) -> Any:
        return SavedRecord(f"Donor {model.code} {services.save_donor(self.app.ledger, model)}", model.code)
