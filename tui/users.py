"""Users and roles (admin): who may do what in this ledger."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Static

from ledger import queries, services
from ledger.inputs import UserIn
from ledger.roles import ALLOWED, Act, Role

from .base import LedgerScreen
from .forms import FormScreen, field_id

COLUMNS = (('User', 20), ('Role', 10), ('Added at (UTC)', 16), ('Added by', 20))

class UsersLoaded(Message):
    def __init__(self, users: list[queries.UserView]):
        super().__init__()
        self.users = users


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
        "The users of this ledger and their roles. **n** adds a user or changes a role (admin only).\n\n"
        "On a local SQLite file the role check is the application's (accountability, not protection "
        "against someone who can edit the file); on PostgreSQL the database enforces it too.\n\n"
        + role_summary().replace("\n", "\n\n")
    )
    WRITE_ACTIONS: ClassVar = {"new_user": Act.MANAGE_USERS}
    BINDINGS: ClassVar = [Binding("n", "new_user", "Add user / role")]

    def compose_body(self) -> ComposeResult:
        table = DataTable(id="users", cursor_type="row", zebra_stripes=True)
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        yield table
        yield Static(role_summary(), id="roles", classes="panel")

    def on_mount(self) -> None:
        self.query_one("#roles").border_title = "What each role may do"
        self.query_one("#users").focus()
        self.reload()

    def reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self) -> None:
        self.post_message(UsersLoaded(queries.users(self.ledger)))

    def on_users_loaded(self, message: UsersLoaded) -> None:
        table = self.query_one("#users", DataTable)
        table.clear(columns=True)
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        for u in message.users:
            table.add_row(u.name, u.role, f"{u.created_at:%Y-%m-%d %H:%M}", u.created_by)

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
