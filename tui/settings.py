"""Ledger settings: each setting's value in force and who set it, and below the history of the
selected setting (every version: value, who, when, why; docs/rules.md#ledger-settings). Read-only
but for an admin, who sets the selected setting with ``s``."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from ledger import queries, services
from ledger.inputs import SettingIn
from ledger.roles import Act

from .base import LedgerScreen
from .forms import FormScreen, field_id

COLUMNS = (("Setting", 26), ("Value", 24), ("Set by", 14), ("At (UTC)", 19), ("Why", 30))
InForce = tuple[str, str, Any]  # (name, value, (who, when, why) or None while the default holds)


class SettingsLoaded(Message):
    def __init__(self, in_force: list[InForce], versions: list[queries.SettingVersionView]):
        super().__init__()
        self.in_force, self.versions = in_force, versions


def versions_table(name: str, versions: list[queries.SettingVersionView]) -> Table:
    """The versions of setting ``name``, oldest first."""
    table = Table(expand=True, box=None, padding=(0, 1), pad_edge=False, title=f"Setting {name}", title_justify="left")
    table.add_column("Version", justify="right", no_wrap=True)
    table.add_column("When (UTC)", no_wrap=True)
    table.add_column("Who", no_wrap=True)
    table.add_column("Value")
    table.add_column("Why")
    mine = [v for v in versions if v.name == name]
    for number, v in enumerate(mine, start=1):
        table.add_row(str(number), f"{v.at:%Y-%m-%d %H:%M:%S}", v.user, v.value if v.value else "(cleared)",
                      Text(v.reason, style="italic"))
    if not mine:
        table.add_row("", "", "", "never set: its default holds", "")
    return table


class SettingsScreen(LedgerScreen):
    MODE = "settings"
    NAV = "users"
    AUTO_FOCUS = "#settings"
    TITLE = "Ledger settings"
    CSS_PATH = "settings.tcss"
    HELP = (
        "The ledger settings (tolerance of a receipt's USD amount, reminder days, default PSC rate, the "
        "IATI facts): each one's value in force, who set it, when (UTC) and why; \"(default)\" while it "
        "has never been set. Below the table: the history of the selected setting, one line per version "
        "(every change is kept, never overwritten).\n\nReached from the Users screen (**s**) or the command "
        "palette. Read-only but for an admin: **s** sets the selected setting, with a reason (the CLI's "
        "`settings set NAME VALUE --reason TEXT`; `settings list --history` lists the same)."
    )
    WRITE_ACTIONS: ClassVar = {"set_setting": Act.MANAGE_SETTINGS}
    BINDINGS: ClassVar = [Binding("s", "set_setting", "Set the setting")]

    def compose_body(self) -> ComposeResult:
        table = DataTable(id="settings", cursor_type="row", zebra_stripes=True)
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        yield table
        with VerticalScroll(id="setting-history-box", classes="panel"):
            yield Static("", id="setting-history")

    def on_mount(self) -> None:
        self.in_force: list[InForce] = []
        self.versions: list[queries.SettingVersionView] = []
        self.query_one("#setting-history-box").border_title = "History of the selected setting (its versions)"
        self.query_one("#settings").focus()
        self.reload()

    def reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self) -> None:
        self.post_message(SettingsLoaded(services.settings_in_force(self.ledger), queries.settings_history(self.ledger)))

    def on_settings_loaded(self, message: SettingsLoaded) -> None:
        self.in_force, self.versions = message.in_force, message.versions
        table = self.query_one("#settings", DataTable)
        row = table.cursor_row
        table.clear()
        for name, value, origin in self.in_force:
            if origin is None:
                table.add_row(name, value, "(default)" if value else "(not set)", "", "", key=name)
            else:
                who, when, why = origin
                table.add_row(name, value, who, f"{when:%Y-%m-%d %H:%M:%S}", why, key=name)
        if self.in_force:
            table.move_cursor(row=min(max(row, 0), len(self.in_force) - 1))
        self._show_history()

    def selected(self) -> str | None:
        if not self.in_force:
            return None
        return self.in_force[min(self.query_one("#settings", DataTable).cursor_row, len(self.in_force) - 1)][0]

    def on_data_table_row_highlighted(self, _event: Any) -> None:
        self._show_history()

    def _show_history(self) -> None:
        name = self.selected()
        if name is not None:
            self.query_one("#setting-history", Static).update(versions_table(name, self.versions))

    def action_set_setting(self) -> None:
        if self.refused(Act.MANAGE_SETTINGS):
            return
        name = self.selected()
        if name is not None:
            value = next(v for n, v, _ in self.in_force if n == name)
            self.app.push_screen(SettingForm(name, value), self._written)

    def _written(self, result: Any) -> None:
        if result is not None:
            self.notify(str(result), title="Saved")
            self.reload()


class SettingForm(FormScreen):
    MODEL = SettingIn
    TITLE = "Set a ledger setting"
    HELP = ("A new version of the setting: its value and why it changes (kept with who and when). An empty "
            "value clears an IATI setting (e.g. the recipient country, before a recipient region is set).")

    def __init__(self, name: str, value: str):
        super().__init__()
        self.setting, self.current = name, value

    def compose_fields(self) -> ComposeResult:
        yield self.field("name", "Setting (cannot change)", self.setting, disabled=True)
        yield self.field("value", "Value", self.current)
        yield self.field("reason", "Why it changes", placeholder="kept with the version")

    def on_mount(self) -> None:
        self.query_one(f"#{field_id('value')}").focus()

    def values(self) -> dict:
        return {"name": self.setting, "value": self.text("value"), "reason": self.text("reason")}

    def save(self, model: SettingIn) -> Any:
        result = services.set_setting(self.app.ledger, model.name, model.value, model.reason)
        return f"{model.name} = {model.value}: {result}"
