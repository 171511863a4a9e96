"""The frame every main screen shares: the navigation line, the footer, help and roles."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Protocol

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Checkbox, Footer, Input, Select, Static

from ledger.roles import Act, Actor

from .common import HelpScreen, keys_help

SCREENS = (
    ("1", "dashboard", "Dashboard"),
    ("2", "pledges", "Pledges"),
    ("3", "disbursements", "Disbursements"),
    ("4", "activities", "Activities"),
    ("5", "donors", "Donors"),
    ("6", "rates", "Rates"),
    ("7", "users", "Users"),
    ("8", "transfer", "Import/export"),
    ("9", "journal", "Journal"),
)
# the navigation line of a narrow terminal (the current screen keeps its full title)
SHORT_TITLES = {"dashboard": "Dash", "disbursements": "Disb", "activities": "Activ", "transfer": "Files"}


class LedgerApp(Protocol):
    """What the screens use of the app (``tui.app.DonorLedgerApp``)."""

    actor: Actor | None  # None until the ledger is open
    as_of: dt.date  # the date the screens' figures are as of

    @property
    def ledger(self) -> Any: ...  # the open ledger (waits while it is being opened)

    @property
    def ledger_if_open(self) -> Any: ...  # the ledger when it is open, else None

    def may(self, act: Act) -> bool: ...

    def run_on(self, mode: str, action: str) -> None: ...


class NavBar(Static):
    """`1 Dashboard  2 Pledges ...` with the current screen highlighted, and who is acting."""

    DEFAULT_CSS = """
    NavBar { height: 1; background: $panel; color: $text; }
    """

    def __init__(self, current: str):
        super().__init__()
        self.current = current

    def on_mount(self) -> None:
        self.update_text()

    def update_text(self) -> None:
        app: LedgerApp = self.app  # type: ignore[assignment]
        actor = app.actor
        who = f"  {actor.name} ({actor.role.value if actor.role else 'not a user'})" if actor is not None else ""
        text = self._screens(short=False)
        if text.cell_len + len(who) > self.app.size.width:
            text = self._screens(short=True)
        text.append(who, style="italic")
        self.update(text)

    def _screens(self, short: bool) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        for key, mode, title in SCREENS:
            current = mode == self.current
            text.append(f" {key}", style="bold reverse" if current else "bold yellow")
            text.append(f" {SHORT_TITLES.get(mode, title) if short and not current else title}",
                        style="bold reverse" if current else "")
        return text

    def on_resize(self) -> None:
        self.update_text()


class LedgerScreen(Screen):
    """A main screen. Subclasses list their write actions in WRITE_ACTIONS (action -> Act):
    for a role that may not do them they are hidden from the footer and the palette, and
    a key press says why instead of acting."""

    MODE: ClassVar[str] = ""
    NAV: ClassVar[str] = ""  # the mode the navigation line highlights, when not MODE (a screen reached from another)
    TITLE: ClassVar[str] = ""
    HELP: ClassVar[str] = ""
    WRITE_ACTIONS: ClassVar[dict[str, Act]] = {}
    # shown again after a write made elsewhere (another screen, a form, an import): reload
    RELOAD_WHEN_STALE: ClassVar[bool] = True
    AUTO_FOCUS = ""  # each screen names its main widget
    _commits_seen: int | None = None
    BINDINGS: ClassVar = [
        Binding("question_mark", "help", "Help"),
        Binding("f5", "reload", "Reload"),
        Binding("escape", "leave_field", "Leave the field", show=False),
    ]

    @property
    def ledger_app(self) -> LedgerApp:
        return self.app  # type: ignore[return-value]

    @property
    def ledger(self):
        return self.ledger_app.ledger

    def compose(self) -> ComposeResult:
        yield NavBar(self.NAV or self.MODE)
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def may(self, act: Act) -> bool:
        return self.ledger_app.may(act)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        act = self.WRITE_ACTIONS.get(action)
        if act is not None and not self.may(act):
            return False
        return True

    def on_key(self, event: events.Key) -> None:
        """A write key of this screen the role may not use is hidden and would do nothing: say why."""
        for binding in self._bindings.key_to_bindings.get(event.key, []):
            act = self.WRITE_ACTIONS.get(binding.action)
            if act is not None and self.refused(act):
                event.stop()
                return

    def refused(self, act: Act) -> bool:
        """True (and a message saying why) when the acting user may not do ``act``."""
        if self.may(act):
            return False
        actor = self.ledger_app.actor
        who = f"{actor.name} ({actor.role.value if actor and actor.role else 'not a user of this ledger'})" if actor else "you"
        self.notify(f"{who} may not {act.value}.", title="Not allowed", severity="warning")
        return True

    def role_changed(self) -> None:
        self.refresh_bindings()
        for bar in self.query(NavBar):
            bar.update_text()

    def chain_changed(self) -> None:
        """The app's latest chain check (``app.chain``) changed; screens that show it override this."""

    def action_help(self) -> None:
        bindings = [b for bs in self._bindings.key_to_bindings.values() for b in bs]
        bindings = [b for b in bindings if not isinstance(b, Binding) or self.check_action(b.action.split("(")[0], ())]
        text = (
            f"# {self.TITLE}\n\n{self.HELP}\n\n## Keys on this screen\n\n{keys_help(bindings)}\n\n"
            "## Everywhere\n\n| key | action |\n|---|---|\n"
            + "\n".join(f"| `{key}` | {title} |" for key, _mode, title in SCREENS)
            + "\n| `ctrl+p` | command palette: every screen and action by name |\n"
            "| `?` | this help |\n| `Esc` | leave a field (keys are commands again); back out of a form or dialog without saving |\n| `q` | quit |\n"
        )
        if self.WRITE_ACTIONS and not all(self.may(a) for a in self.WRITE_ACTIONS.values()):
            actor = self.ledger_app.actor
            role = actor.role.value if actor and actor.role else "not a user"
            text += f"\n\nYour role ({role}) may not change data here: write actions are not offered."
        self.app.push_screen(HelpScreen(text))

    def action_reload(self) -> None:
        self.reload()

    def action_leave_field(self) -> None:
        """Esc in a filter, a path or a choice: back to the screen's main widget, where keys are commands again."""
        if self.AUTO_FOCUS and isinstance(self.focused, Input | Select | Checkbox):
            self.query_one(self.AUTO_FOCUS).focus()

    def _commits(self) -> int | None:
        """Commits made through the app's ledger; None while it is being opened."""
        ledger = self.ledger_app.ledger_if_open
        return None if ledger is None else ledger.commits

    def on_screen_suspend(self) -> None:
        self._commits_seen = self._commits()

    def on_screen_resume(self) -> None:
        """Back on this screen: reload if anything was written through the app meanwhile."""
        seen, now = self._commits_seen, self._commits()
        if self.RELOAD_WHEN_STALE and seen is not None and now is not None and now != seen:
            self.reload()

    def reload(self) -> None:
        pass
