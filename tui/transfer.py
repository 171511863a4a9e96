"""Imports and exports: check a file (dry run) and see every problem with its line, import it
(all or nothing), and export the audit workbook as of a date with its progress and path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, RichLog, Select, Static
from textual_autocomplete import PathAutoComplete

from imports.kinds import KINDS
from ledger.errors import LedgerError
from ledger.roles import Act

from .base import LedgerScreen
from .common import parse_date

IMPORT_ACTS = (Act.RECORD_MONEY, Act.MANAGE_DONORS_RATES, Act.UPDATE_ACTIVITIES)


class ImportDone(Message):
    def __init__(self, dry_run: bool, summary: str = "", problems: list[str] | None = None):
        super().__init__()
        self.dry_run, self.summary, self.problems = dry_run, summary, problems or []


class ImportProgress(Message):
    def __init__(self, rows: int):
        super().__init__()
        self.rows = rows


class ExportProgress(Message):
    def __init__(self, sheet: str, rows: int):
        super().__init__()
        self.sheet, self.rows = sheet, rows


class ExportDone(Message):
    def __init__(self, path: str, text: str, ok: bool, failed: bool = False):
        super().__init__()
        self.path, self.text, self.ok, self.failed = path, text, ok, failed


class TransferScreen(LedgerScreen):
    MODE = "transfer"
    AUTO_FOCUS = "#import-kind"
    TITLE = "Import and export"
    CSS_PATH = "transfer.tcss"
    HELP = (
        "**Import**: choose the kind (donors, rates, activities, pledges, receipts, disbursements) and "
        "a .csv or .xlsx file (Tab completes paths). **d** checks it (a dry run: every problem, business "
        "rules included, one line each as FILE:LINE: COLUMN: message, and nothing is written); **i** "
        "imports it: all of the file or none of it. Rows identical to what is stored are skipped and "
        "counted.\n\n**Export**: the audit workbook (.xlsx) as of a date: funding versus implementation, "
        "donors, pledges, receipts, disbursements, funding splits, activities, rates, ageing, the "
        "journal with hashes and an About sheet with the verification result. **e** writes it; the "
        "progress shows per sheet and the path of the file at the end. Auditors may export; importing "
        "needs the role of the kind (finance; programme for activities)."
    )
    WRITE_ACTIONS: ClassVar = {}
    BINDINGS: ClassVar = [
        Binding("d", "dry_run", "Dry run"),
        Binding("i", "import_file", "Import"),
        Binding("e", "export", "Export workbook"),
    ]

    def compose_body(self) -> ComposeResult:
        with Vertical(id="import-box", classes="panel"):
            with Horizontal(classes="toolbar"):
                yield Label("Kind")
                yield Select([(k, k) for k in KINDS], value="pledges", allow_blank=False, id="import-kind")
                yield Label("File")
                yield Input(placeholder="path of a .csv or .xlsx file", id="import-path")
            with Horizontal(classes="toolbar buttons"):
                yield Button("Dry run (d)", id="dry-run")
                yield Button("Import (i)", id="import", variant="primary")
                yield Static("", id="import-status", classes="status-line")
            # long problem lines wrap: the line number and the message both stay in sight
            yield RichLog(id="import-log", wrap=True, markup=False, highlight=False)
        with Vertical(id="export-box", classes="panel"):
            with Horizontal(classes="toolbar"):
                yield Label("Workbook")
                yield Input(id="export-path")
                yield Label("as of")
                yield Input(id="export-as-of", placeholder="YYYY-MM-DD", max_length=10)
                yield Button("Export (e)", id="export", variant="primary")
            yield Static("", id="export-status", classes="status-line")

    def on_mount(self) -> None:
        self.query_one("#import-box").border_title = "Import a file"
        self.query_one("#export-box").border_title = "Export the audit workbook"
        self.replace_confirmed: Path | None = None
        self._set_export_date(self.ledger_app.as_of)
        self.mount(PathAutoComplete(self.query_one("#import-path", Input)))
        self.busy = False
        self.role_changed()

    def role_changed(self) -> None:
        super().role_changed()
        allowed = any(self.may(a) for a in IMPORT_ACTS)
        for button in self.query("#dry-run, #import"):
            button.display = allowed
        # a role that may not import cannot focus or type into the import's kind and file either
        for field in self.query("#import-kind, #import-path"):
            field.disabled = not allowed
        if not allowed and self.ledger_app.actor is not None:
            self.query_one("#import-status", Static).update(
                Text("Your role may not import; export and verify are open to you.", style="yellow"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("dry_run", "import_file"):
            return any(self.may(a) for a in IMPORT_ACTS)
        return super().check_action(action, parameters)

    # -- import ------------------------------------------------------------------------------
    def action_dry_run(self) -> None:
        self._start_import(True)

    def action_import_file(self) -> None:
        self._start_import(False)

    @on(Button.Pressed, "#dry-run")
    def _dry(self) -> None:
        self._start_import(True)

    @on(Button.Pressed, "#import")
    def _import(self) -> None:
        self._start_import(False)

    def _start_import(self, dry_run: bool) -> None:
        if self.busy:
            self.notify("Wait for the running import or export to finish.", severity="warning")
            return
        kind = self.query_one("#import-kind", Select).value
        if self.refused(KINDS[kind].act):
            return
        path = self.query_one("#import-path", Input).value.strip()
        if not path:
            self.notify("Give the path of the file to import.", severity="warning")
            self.query_one("#import-path", Input).focus()
            return
        self.busy = True
        log = self.query_one("#import-log", RichLog)
        log.clear()
        self.query_one("#import-status", Static).update(f"{'Checking' if dry_run else 'Importing'} {path}…")
        self._run_import(kind, str(Path(path).expanduser()), dry_run)

    @work(thread=True, exclusive=True, exit_on_error=False, group="import")
    def _run_import(self, kind: str, path: str, dry_run: bool) -> None:
        from imports.importer import import_file
        from imports.readers import ImportFileError

        try:
            result = import_file(self.ledger, kind, path, dry_run=dry_run,
                                 progress=lambda rows: self.post_message(ImportProgress(rows)))
        except ImportFileError as exc:
            self.post_message(ImportDone(dry_run, problems=[str(p) for p in exc.problems]))
        except LedgerError as exc:
            self.post_message(ImportDone(dry_run, problems=[str(p) for p in exc.problems]))
        except OSError as exc:
            self.post_message(ImportDone(dry_run, problems=[f"{exc.filename or path}: {exc.strerror or exc}"]))
        except Exception as exc:  # noqa: BLE001 - said on the screen, which stays usable
            self.post_message(ImportDone(dry_run, problems=[f"{path}: not imported: {type(exc).__name__}: {exc}"]))
        else:
            self.post_message(ImportDone(dry_run, "\n".join([*result.notes, result.summary()])))
        # ``busy`` is cleared by on_import_done, on the event loop (cleared here, a second `i` could
        # start before the result is shown)

    def on_import_progress(self, message: ImportProgress) -> None:
        self.query_one("#import-status", Static).update(f"{message.rows:,} rows read…")

    def on_import_done(self, message: ImportDone) -> None:
        self.busy = False
        log = self.query_one("#import-log", RichLog)
        status = self.query_one("#import-status", Static)
        if message.problems:
            for problem in message.problems:
                log.write(Text(problem))
            count = len(message.problems)
            status.update(Text(f"✗ {count} problem{'s' if count != 1 else ''}; nothing was "
                               f"{'written' if message.dry_run else 'imported'}", style="bold red"))
            self.notify(f"{count} problem(s): see the list", title="Import refused" if not message.dry_run
                        else "Dry run found problems", severity="error")
        else:
            log.write(Text(message.summary))
            status.update(Text(("✓ checked: " if message.dry_run else "✓ imported: ") + message.summary,
                               style="bold green"))
            self.notify(message.summary, title="Dry run passed" if message.dry_run else "Imported")

    # -- export ------------------------------------------------------------------------------
    @staticmethod
    def default_path(as_of: dt.date) -> Path:
        return Path.cwd() / f"donor-ledger-{as_of.isoformat()}.xlsx"

    def _set_export_date(self, as_of: dt.date) -> None:
        """The as-of date (and the default file name, unless the user typed another path)."""
        date_field = self.query_one("#export-as-of", Input)
        path_field = self.query_one("#export-path", Input)
        previous = parse_date(date_field.value)
        if not path_field.value or (previous and path_field.value == str(self.default_path(previous))):
            path_field.value = str(self.default_path(as_of))
        date_field.value = as_of.isoformat()

    def action_prepare_export(self) -> None:
        """From the dashboard or the palette: the form with the dashboard's as-of date, nothing written yet."""
        if self.busy:
            self.notify("Wait for the running import or export to finish.", severity="warning")
            return
        self._set_export_date(self.ledger_app.as_of)
        field = self.query_one("#export-path", Input)
        field.focus()
        self.query_one("#export-status", Static).update(Text(
            "Check the path and the date, then Enter writes the workbook (or e, outside the fields).", style="bold"))

    @on(Input.Submitted, "#export-path, #export-as-of")
    def _export_submitted(self) -> None:
        self.action_export()

    def action_export(self) -> None:
        if self.busy:
            self.notify("Wait for the running import or export to finish.", severity="warning")
            return
        path_text = self.query_one("#export-path", Input).value.strip()
        as_of = parse_date(self.query_one("#export-as-of", Input).value)
        status = self.query_one("#export-status", Static)
        if as_of is None:
            status.update(Text("as of: give a date as YYYY-MM-DD", style="bold red"))
            return
        path = Path(path_text).expanduser()
        if path.suffix.lower() != ".xlsx":
            status.update(Text(f"{path_text}: the workbook must end in .xlsx", style="bold red"))
            return
        if not path.parent.exists():
            status.update(Text(f"{path_text}: folder {path.parent} does not exist", style="bold red"))
            return
        if path.exists() and self.replace_confirmed != path:
            self.replace_confirmed = path
            status.update(Text(f"{path} already exists: export again (Enter, or e) to replace it, or change the path.",
                               style="bold yellow"))
            return
        self.replace_confirmed = None
        self.busy = True
        status.update(f"Exporting as of {as_of}…")
        self._run_export(path, as_of)

    @on(Button.Pressed, "#export")
    def _export_pressed(self) -> None:
        self.action_export()

    @work(thread=True, exclusive=True, exit_on_error=False, group="export")
    def _run_export(self, path: Path, as_of: dt.date) -> None:
        from reports.workbook import export_workbook

        try:
            result = export_workbook(self.ledger, path, as_of,
                                     progress=lambda sheet, rows: self.post_message(ExportProgress(sheet, rows)))
        except Exception as exc:  # noqa: BLE001 - said on the screen, which stays usable
            why = (exc.strerror or exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
            self.post_message(ExportDone(str(path), f"not written: {why}", ok=False, failed=True))
            return
        verdict = "chain verified" if result.verified else "CHAIN VERIFICATION FAILED (see the About sheet)"
        self.post_message(ExportDone(str(result.path), f"{len(result.sheets)} sheets, {result.journal_lines:,} journal "
                                     f"lines, {verdict}", result.verified))

    def on_export_progress(self, message: ExportProgress) -> None:
        self.query_one("#export-status", Static).update(f"Writing sheet “{message.sheet}”: {message.rows:,} rows…")

    def on_export_done(self, message: ExportDone) -> None:
        self.busy = False
        if message.failed:
            self.query_one("#export-status", Static).update(Text(f"✗ {message.path}: {message.text}", style="bold red"))
            self.notify(f"{message.path}: {message.text}", title="Workbook not written", severity="error")
            return
        self.query_one("#export-status", Static).update(Text(
            f"✓ Saved {message.path} ({message.text})", style="bold green" if message.ok else "bold yellow"))
        self.notify(message.path, title="Workbook saved", timeout=10)

    def reload(self) -> None:
        pass


__all__ = ["TransferScreen"]
