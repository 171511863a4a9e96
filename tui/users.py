"""Users and roles (admin): who may do what in this ledger, the history of the selected user (its
versions), and the way to the ledger settings (``s``)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from ledger import queries, services
from ledger.inputs import UserIn
from ledger.roles import ALLOWED, Act, Role

from .base import LedgerScreen
from .forms import FormScreen, field_id
from .history import history_table

COLUMNS = (('User', 20), ('Role', 10), ('Added at (UTC)', 16), ('Added by', 20))

class UsersLoaded(Message):
    def __init__(self, users: list[queries.UserView]):
        super().__init__()
        self.users = users


class TrailLoaded(Message):
    def __init__(self, name: str, trail: list[queries.VersionView]):
        super().__init__()
        self.name, self.trail = name, trail


def role_summary() -> str:
    lines = []
    for role in Role:
        acts = [act.value for act in Act if role in ALLOWED[act]]
        lines.append(f"{role.value}: " + ("; ".join(acts) if acts else "read, report, export and verify only"))
    return "\n".join(lines)


class UsersScreen(LedgerScreen):
    MODE = "users"
    AUTO_FOCUS = "#users"
    TITLE = "Users and roles"
    CSS_PATH = "users.tcss"
    HELP = (
        "The users of this ledger and their roles. **n** adds a user or changes a role (admin only). "
        "Below the table: the history of the selected user, one line per version (who recorded it, when, "
        "why, and the fields it changed: its role, old and new).\n\n**s** shows the ledger settings: each "
        "one's value in force and its history (read-only but for an admin).\n\n"
        "On a local SQLite file the role check is the application's (accountability, not protection "
        "against someone who can edit the file); on PostgreSQL the database enforces it too.\n\n"
        + role_summary().replace("\n", "\n\n")
    )
    WRITE_ACTIONS: ClassVar = {"new_user": Act.MANAGE_USERS}
    BINDINGS: ClassVar = [Binding("n", "new_user", "Add user / role"), Binding("s", "settings", "Settings")]

    def compose_body(self) -> ComposeResult:
        table = DataTable(id="users", cursor_type="row", zebra_stripes=True)
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        yield table
        with Horizontal(id="users-below"):
            with VerticalScroll(id="trail-box", classes="panel"):
                yield Static("", id="trail")
            yield Static(role_summary(), id="roles", classes="panel")

    def on_mount(self) -> None:
        self.users: list[queries.UserView] = []
        self.query_one("#roles").border_title = "What each role may do"
        self.query_one("#trail-box").border_title = "History of the selected user (its versions)"
        self.query_one("#users").focus()
        self.reload()

    def reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self) -> None:
        self.post_message(UsersLoaded(queries.users(self.ledger)))

    def on_users_loaded(self, message: UsersLoaded) -> None:
        self.users = message.users
        table = self.query_one("#users", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        for u in message.users:
            table.add_row(u.name, u.role, f"{u.created_at:%Y-%m-%d %H:%M}", u.created_by, key=u.name)
        if self.users:
            table.move_cursor(row=min(max(row, 0), len(self.users) - 1))

    def selected(self) -> queries.UserView | None:
        if not self.users:
            return None
        return self.users[min(self.query_one("#users", DataTable).cursor_row, len(self.users) - 1)]

    def on_data_table_row_highlighted(self, _event: Any) -> None:
        user = self.selected()
        if user is not None:
            self._load_trail(user.name)

    @work(thread=True, exclusive=True, exit_on_error=False, group="trail")
    def _load_trail(self, name: str) -> None:
        self.post_message(TrailLoaded(name, queries.history(self.ledger, "users", name)))

    def on_trail_loaded(self, message: TrailLoaded) -> None:
        selected = self.selected()
        if selected is None or selected.name != message.name:
            return  # the cursor has moved on: that user's trail would be shown under another
        self.query_one("#trail", Static).update(history_table(f"User {message.name}", message.trail))

    def action_settings(self) -> None:
        self.app.switch_mode("settings")

    def action_new_user(self) -> None:
        if not self.refused(Act.MANAGE_USERS):
            self.app.push_screen(UserForm(), self._written)

    def _written(self, result: Any) -> None:
        if result is not None:
            self.notify(str(result), title="Saved")
            self.reload()


class UserForm(FormScreen):
    MODEL = UserIn
    TITLE = "Add a user or change a role"
    HELP = UsersScreen.HELP

    def compose_fields(self) -> ComposeResult:
        yield self.field("name", "User name (login)", placeholder="no spaces")
        yield self.choice("role", "Role", [(r.value, r.value) for r in Role], Role.FINANCE.value)

    def on_mount(self) -> None:
        self.query_one(f"#{field_id('name')}").focus()

    def values(self) -> dict:
        return {"name": self.text("name"), "role": self.selected("role")}

    def save(self, model: UserIn) -> Any:
        return f"User {model.name} ({model.role.value}): {services.add_user(self.app.ledger, model)}"
