"""The donor-ledger terminal UI: ``DonorLedgerApp(ledger)`` and ``run(ledger)``.

Layers: screens call ``ledger.services`` (writes) and ``ledger.queries`` / ``reports`` (reads)
in thread workers, which answer with messages; the UI never opens a session. One handler
here turns every failed worker into a dialog, so no traceback reaches the user.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from ledger.errors import LedgerError
from ledger.roles import Act, may

from .base import SCREENS, LedgerScreen
from .common import MessageDialog
from .verification import ChainCheck, stop_all

IMPORT_ACTS = (Act.RECORD_MONEY, Act.MANAGE_DONORS_RATES, Act.UPDATE_ACTIVITIES)


def _screen(module: str, name: str):
    """A screen class, imported when its mode is first shown (so the dashboard paints before
    the pledge forms, their models and the database layers are loaded)."""

    def make():
        from importlib import import_module

        return getattr(import_module(f"tui.{module}"), name)()

    return make


def _modes() -> dict:
    return {
        "dashboard": _screen("dashboard", "DashboardScreen"), "pledges": _screen("pledges", "PledgesScreen"),
        "disbursements": _screen("disbursements", "DisbursementsScreen"),
        "activities": _screen("activities", "ActivitiesScreen"), "donors": _screen("donors", "DonorsScreen"),
        "rates": _screen("rates", "RatesScreen"), "users": _screen("users", "UsersScreen"),
        "settings": _screen("settings", "SettingsScreen"),
        "transfer": _screen("transfer", "TransferScreen"), "journal": _screen("journal", "JournalScreen"),
    }


# (mode, action, title, help, the act it needs or None)
ACTIONS: tuple[tuple[str, str, str, str, Act | None], ...] = (
    ("dashboard", "as_of", "Change the as-of date", "Dashboard figures as of another date", None),
    ("pledges", "new_pledge", "New pledge", "Enter a pledge with its allocations", Act.RECORD_MONEY),
    ("pledges", "receipt", "Record a receipt", "Cash received on the selected pledge", Act.RECORD_MONEY),
    ("pledges", "cancel_pledge", "Cancel (write off) a pledge", "Part or all of what is outstanding on the selected pledge", Act.RECORD_MONEY),
    ("pledges", "reverse", "Reverse an entry of a pledge", "A mirror entry for the pledge, a receipt or a cancellation", Act.RECORD_MONEY),
    ("pledges", "detail", "Pledge detail", "Allocations, receipts, spending and journal entries of the selected pledge", None),
    ("pledges", "filter", "Filter pledges", "By donor, paragraph, status or text", None),
    ("disbursements", "new_disbursement", "New disbursement", "Pay for an activity; shows who funds it before saving", Act.RECORD_MONEY),
    ("disbursements", "reverse", "Reverse a disbursement", "A mirror entry for the selected disbursement", Act.RECORD_MONEY),
    ("activities", "update_activity", "Update an activity", "Status, progress or budget (with a reason) of the selected activity", Act.UPDATE_ACTIVITIES),
    ("activities", "new_activity", "New activity", "An activity of the selected paragraph", Act.UPDATE_ACTIVITIES),
    ("donors", "statement", "Donor statement", "The selected donor's pledges, events, spending and balance; x writes its workbook", None),
    ("donors", "new_donor", "Add a donor", "Code, name, kind, country, currency", Act.MANAGE_DONORS_RATES),
    ("donors", "edit_donor", "Edit a donor", "Changes are kept in the audit trail", Act.MANAGE_DONORS_RATES),
    ("rates", "new_rate", "Add an exchange rate", "UN operational rate of a currency from a date", Act.MANAGE_DONORS_RATES),
    ("users", "new_user", "Add a user or change a role", "finance, programme, auditor or admin", Act.MANAGE_USERS),
    ("settings", "set_setting", "Set a ledger setting", "A new version of the selected setting, with a reason", Act.MANAGE_SETTINGS),
    ("transfer", "dry_run", "Import: dry run", "Check a file, every problem with its line; nothing is written", None),
    ("transfer", "import_file", "Import a file", "All of the file or none of it", None),
    ("transfer", "prepare_export", "Export the audit workbook", "An .xlsx of every sheet as of a date", None),
    ("journal", "verify", "Verify the journal", "Recompute the hash chain and the balance of every entry", None),
    ("journal", "reverse", "Reverse a journal entry", "A mirror entry for the selected entry", Act.RECORD_MONEY),
)


class ActorLoaded(Message):
    def __init__(self, actor):
        super().__init__()
        self.actor = actor


class DonorLedgerApp(App):
    """The finance officer's desk, the programme lead's dashboard and the auditor's view."""

    TITLE = "donor-ledger"
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses may live anywhere
    MODES: ClassVar = {}  # filled in __init__ (screens import lazily)
    BINDINGS: ClassVar = [
        *[Binding(key, f"go('{mode}')", title, show=False) for key, mode, title in SCREENS],
        Binding("q", "quit", "Quit", show=False),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, ledger, as_of: dt.date | None = None, start: str = "dashboard"):
        """``ledger``: an open ledger, or a function that opens one; the app then paints its first
        screen at once and opens the ledger in a worker (every worker waits for it)."""
        self.MODES = _modes()
        super().__init__()
        self._opener: Callable[[], object] | None = ledger if callable(ledger) else None
        self._ledger = None if self._opener else ledger
        self._opened = threading.Event()
        self._open_error: BaseException | None = None
        if self._opener is None:
            self._opened.set()
        self.actor = None
        self.as_of = as_of or dt.date.today()
        self.recorded_at: dt.datetime | None = None  # the dashboard's "as recorded at" moment (None: now)
        self.start = start
        self.chain: ChainCheck | None = None  # the latest chain check of this session (dashboard and journal)

    @property
    def ledger(self):
        """The open ledger (waits while it is being opened; raises why it could not be)."""
        self._opened.wait()
        if self._open_error is not None:
            raise self._open_error
        return self._ledger

    @property
    def ledger_if_open(self):
        """The ledger when it is open, else None: for the event loop, which must never wait."""
        return self._ledger if self._opened.is_set() and self._open_error is None else None

    # -- start-up and roles ------------------------------------------------------------------
    async def on_mount(self) -> None:
        await self.switch_mode(self.start)
        self.call_after_refresh(self._open)  # after the first paint: the screen takes keys meanwhile

    @work(thread=True, exclusive=True, exit_on_error=False, group="actor")
    def _open(self) -> None:
        if self._opener is not None and not self._opened.is_set():
            try:
                self._ledger = self._opener()
            except BaseException as exc:  # noqa: BLE001 - reported by run() after the app has closed
                self._open_error = exc
                self._opened.set()
                self.call_from_thread(self.exit, return_code=1)
                return
            self._opened.set()
        self.post_message(ActorLoaded(self.ledger.actor))

    def on_actor_loaded(self, message: ActorLoaded) -> None:
        self.actor = message.actor
        for screen in self._all_screens():
            if isinstance(screen, LedgerScreen):
                screen.role_changed()

    def _all_screens(self) -> Iterable[Screen]:
        seen = set()
        for stack in self._screen_stacks.values():
            for screen in stack:
                if id(screen) not in seen:
                    seen.add(id(screen))
                    yield screen

    def chain_checked(self, check: ChainCheck) -> None:
        """A chain check finished (on any screen): every screen shows its result."""
        self.chain = check
        for screen in self._all_screens():
            if isinstance(screen, LedgerScreen):
                screen.chain_changed()

    def may(self, act: Act) -> bool:
        return self.actor is not None and may(self.actor.role, act)

    # -- navigation ------------------------------------------------------------------------
    def action_go(self, mode: str) -> None:
        if isinstance(self.screen, ModalScreen):
            return
        self.switch_mode(mode)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "go" and isinstance(self.screen, ModalScreen):
            return False
        return True

    def run_on(self, mode: str, action: str) -> None:
        """Go to a screen and run one of its actions (the command palette uses this)."""

        async def go() -> None:
            await self.switch_mode(mode)
            await self.screen.run_action(action)

        self.call_later(go)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for key, mode, title in SCREENS:
            yield SystemCommand(f"Go to {title}", f"screen {key}", lambda m=mode: self.switch_mode(m))
        yield SystemCommand("Go to Ledger settings", "Each setting's value in force and its history (s on Users)",
                            lambda: self.switch_mode("settings"))
        for mode, action, title, help_text, act in ACTIONS:
            if (act is None and action not in ("dry_run", "import_file")) or (act is not None and self.may(act)) or (
                    act is None and any(self.may(a) for a in IMPORT_ACTS)):
                yield SystemCommand(title, help_text, lambda m=mode, a=action: self.run_on(m, a))
        if isinstance(screen, LedgerScreen):
            yield SystemCommand("Help for this screen", "What it shows and its keys (?)", screen.action_help)
        yield from super().get_system_commands(screen)

    async def action_quit(self) -> None:
        stop_all()
        await super().action_quit()

    def on_unmount(self) -> None:
        stop_all()

    # -- failures --------------------------------------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, LedgerError):
            self.push_screen(MessageDialog("Refused; nothing was written", [str(p) for p in error.problems]))
        elif isinstance(error, OSError):
            self.push_screen(MessageDialog("File problem", [f"{error.filename or ''}: {error.strerror or error}".lstrip(": ")]))
        else:
            self.push_screen(MessageDialog(
                "Something went wrong",
                [f"{type(error).__name__}: {error}", "Nothing half-done was kept: every write is all or nothing."],
            ))

    def notify_result(self, title: str, message: str) -> None:
        self.notify(Text(message).plain, title=title, severity="information", timeout=6)


def run(ledger, as_of: dt.date | None = None) -> None:
    """Open the terminal UI on a ledger, or on a function that opens one (the ``tui`` command);
    a ledger that could not be opened is raised here, once the terminal is restored."""
    app = DonorLedgerApp(ledger, as_of=as_of)
    app.run()
    if app._open_error is not None:
        raise app._open_error
