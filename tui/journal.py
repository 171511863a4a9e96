"""Journal: every entry in chain order with its hash, the lines of the selected entry, and
verification of the whole chain with a visible result."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from ledger import queries
from ledger.inputs import (
    CancellationIn,
    DisbursementIn,
    PledgeCloseIn,
    ReallocationIn,
    ReceiptIn,
    RefundIn,
    ScheduleIn,
    SigningIn,
    WithdrawalIn,
)
from ledger.roles import Act

from .base import LedgerScreen
from .common import amount, date, describe, money_cell
from .disbursements import DisbursementForm
from .forms import open_correction
from .pledge_acts import ClosePledgeForm, ReallocateForm, RefundForm
from .pledges import CancelForm, PledgeForm, ReceiptForm, ScheduleForm, SignForm, WithdrawForm
from .reversal import ReverseForm
from .tables import Column, LazyTable
from .verification import ChainCheck, VerificationStopped, verify_in_child

COLUMNS = [Column("Entry", 8), Column("Date", 10), Column("Kind", 12), Column("Reference", 12), Column("User", 10),
           Column("Debits USD", 14), Column("Memo", 40), Column("Hash", 64)]


def entry_cells(e: queries.EntryView) -> tuple:
    kind = e.kind if e.reversed_by is None else f"{e.kind}*"
    return (str(e.id).rjust(8), date(e.event_date), kind, e.reference, e.user, money_cell(e.debits_usd),
            e.memo + (f" ({e.links})" if e.links else ""), e.hash)



# the form of each kind of event on a pledge, opened with the pledge's detail
PLEDGE_EVENT_FORMS = {ReceiptIn: ReceiptForm, CancellationIn: CancelForm, RefundIn: RefundForm, SigningIn: SignForm,
                      WithdrawalIn: WithdrawForm, ScheduleIn: ScheduleForm, PledgeCloseIn: ClosePledgeForm}


def correction_form(content: Any, detail: queries.PledgeDetail | None, paragraphs: list[int]):
    """The form of an event's kind, for its correction."""
    if isinstance(content, DisbursementIn):
        return DisbursementForm()
    if isinstance(content, ReallocationIn):
        return ReallocateForm(detail, paragraphs)
    if type(content) in PLEDGE_EVENT_FORMS:
        return PLEDGE_EVENT_FORMS[type(content)](detail)
    return PledgeForm()

class LinesLoaded(Message):
    def __init__(self, entry: queries.EntryView | None, lines: list[queries.LineView]):
        super().__init__()
        self.entry, self.lines = entry, lines


class JournalScreen(LedgerScreen):
    MODE = "journal"
    AUTO_FOCUS = "#journal"
    TITLE = "Journal"
    CSS_PATH = "journal.tcss"
    HELP = (
        "The journal is the record: every pledge, receipt, cancellation, disbursement and reversal "
        "is an entry of balanced lines (debits positive, credits negative) on a small chart of "
        "accounts, and every entry carries the SHA-256 hash of its content and of the entry before "
        "it. The table lists entries in chain order (a * marks an entry that was reversed); the panel "
        "below shows the lines of the selected one.\n\n**v** verifies the whole chain: every hash is "
        "recomputed and every entry checked to balance; the result shows at the top, in green or red. "
        "**x** reverses the selected entry (finance)."
    )
    WRITE_ACTIONS: ClassVar = {"reverse": Act.RECORD_MONEY, "correct": Act.RECORD_MONEY}
    BINDINGS: ClassVar = [
        Binding("v", "verify", "Verify chain"),
        Binding("x", "reverse", "Reverse"),
        Binding("e", "correct", "Correct"),
        Binding("enter", "lines", "Lines"),
    ]

    def compose_body(self) -> ComposeResult:
        yield Static("Chain not verified in this session: press v.", id="verify-result", classes="status-line")
        yield LazyTable(COLUMNS, self._count, self._fetch, id="journal")
        with Vertical(id="lines-box", classes="panel"):
            yield Static("", id="lines")

    def on_mount(self) -> None:
        self.query_one("#lines-box").border_title = "Lines of the selected entry"
        self._lines_timer = None
        self.query_one(LazyTable).focus()
        self.chain_changed()
        self.reload()

    def _count(self) -> int:
        return queries.journal_count(self.ledger)

    def _fetch(self, offset: int, limit: int) -> list[tuple]:
        return [entry_cells(e) for e in queries.journal_page(self.ledger, offset, limit)]

    def reload(self) -> None:
        self.query_one(LazyTable).reload()

    def on_lazy_table_ready(self, message: LazyTable.Ready) -> None:
        self.query_one(LazyTable).border_title = f"{message.total:,} entries"
        self.action_lines()

    def on_data_table_row_highlighted(self, _event: Any) -> None:
        if self._lines_timer is not None:
            self._lines_timer.stop()
        self._lines_timer = self.set_timer(0.15, self.action_lines)

    def on_data_table_row_selected(self, _event: Any) -> None:
        self.action_lines()

    def action_lines(self) -> None:
        key = self.query_one(LazyTable).row_key()
        if key is not None:
            self._load_lines(int(str(key).strip()))

    @work(thread=True, exclusive=True, exit_on_error=False, group="lines")
    def _load_lines(self, entry_id: int) -> None:
        entries = queries.journal_page(self.ledger, entry_id - 1, 1)
        self.post_message(LinesLoaded(entries[0] if entries else None, queries.entry_lines(self.ledger, entry_id)))

    def on_lines_loaded(self, message: LinesLoaded) -> None:
        entry = message.entry
        if entry is None:
            return
        table = Table(expand=True, box=None, title_justify="left",
                      title=f"Entry {entry.id} · {entry.kind} {entry.reference} · {entry.event_date} · by {entry.user} "
                            f"at {entry.posted_at:%Y-%m-%d %H:%M:%S} · previous hash {entry.prev_hash[:16]}…"
                            + (f"\n{entry.links}" if entry.links else ""))
        for name, justify in (("#", "right"), ("Account", "left"), ("Flow", "left"), ("Cur", "left"),
                              ("Amount", "right"), ("USD", "right")):
            table.add_column(name, justify=justify)
        for line in message.lines:
            table.add_row(str(line.line_no), f"{line.account} {line.account_name}", line.flow, line.currency,
                          amount(line.amount), amount(line.usd))
        self.query_one("#lines", Static).update(table)

    def action_correct(self) -> None:
        """The selected entry's event in its form, filled in: saving reverses it and posts the form."""
        key = self.query_one(LazyTable).row_key()
        if self.refused(Act.RECORD_MONEY) or key is None:
            return
        open_correction(self, int(str(key).strip()), correction_form, self._written)

    def action_verify(self) -> None:
        self.query_one("#verify-result", Static).update(Text("Verifying the chain…", style="bold"))
        self._verify()

    @work(thread=True, exclusive=True, exit_on_error=False, group="verify")
    def _verify(self) -> None:
        entries = queries.journal_count(self.ledger)
        try:
            ok, message = verify_in_child(self.ledger.url, self.ledger.user_name)
        except VerificationStopped:
            return
        self.app.call_from_thread(self.ledger_app.chain_checked, ChainCheck(ok, message, entries))
        if not ok:
            self.app.call_from_thread(self.notify, message, title="Journal chain broken", severity="error", timeout=30)

    def chain_changed(self) -> None:
        """The session's latest chain check, made here or on the dashboard (the same words on both)."""
        check = self.ledger_app.chain
        widget = self.query_one("#verify-result", Static)
        if check is None:
            widget.update("Chain not verified in this session: press v.")
        else:
            widget.update(Text(check.summary(), style="bold green" if check.ok else "bold red"))

    def action_reverse(self) -> None:
        if self.refused(Act.RECORD_MONEY):
            return
        key = self.query_one(LazyTable).row_key()
        if key is None:
            self.notify("Select an entry first.", severity="warning")
            return
        self._entry_for_reversal(int(str(key).strip()))

    @work(thread=True, exclusive=True, exit_on_error=False, group="entry")
    def _entry_for_reversal(self, entry_id: int) -> None:
        entries = queries.journal_page(self.ledger, entry_id - 1, 1)
        self.app.call_from_thread(self._open_reversal, entries)

    def _open_reversal(self, entries: list[queries.EntryView]) -> None:
        title = f"Journal entry {entries[0].id}" if entries else ""
        self.app.push_screen(ReverseForm(entries=entries, title=title), self._written)

    def _written(self, result: Any) -> None:
        if result is not None:
            self.notify(describe(result), title="Saved")
            self.reload()
