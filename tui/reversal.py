"""The form that reverses a posted entry (from a pledge, a disbursement or the journal)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from textual.app import ComposeResult
from textual.widgets import Static

from ledger import queries, services
from ledger.inputs import ReversalIn

from .common import amount
from .forms import FormScreen, field_id


class ReverseForm(FormScreen):
    MODEL = ReversalIn
    TITLE = "Reverse an entry"
    HELP = ("Posts a new entry that mirrors the chosen one exactly, dated on the reversal date; nothing "
            "posted is changed. A pledge can be reversed only after its receipts, cancellations and "
            "spending are reversed.")

    def __init__(self, detail: queries.PledgeDetail | None = None, entries: list[queries.EntryView] | None = None,
                 title: str = ""):
        super().__init__()
        self.detail = detail
        self.entries = entries if entries is not None else (detail.entries if detail else [])
        self.heading = title or (f"Pledge {detail.reference} · {detail.donor}" if detail else "")

    def compose_fields(self) -> ComposeResult:
        options = [(f"entry {e.id} · {e.event_date} · {e.kind} {e.reference} · USD {amount(e.debits_usd)}", e.id)
                   for e in self.entries if e.kind != "reversal" and e.reversed_by is None]
        yield Static(self.heading, classes="hint")
        if options:
            yield self.choice("entry_id", "Entry to reverse", options, options[-1][1])
        else:
            yield Static("Nothing here can be reversed (every entry is reversed already).", classes="problem")
        yield self.field("reason", "Reason", placeholder="why (kept in the journal)")
        yield self.field("reversed_on", "Reversal date", dt.date.today().isoformat(), "YYYY-MM-DD")

    def on_mount(self) -> None:
        self.query_one(f"#{field_id('reason')}").focus()

    def values(self) -> dict:
        entry = self.selected("entry_id") if self.query(f"#{field_id('entry_id')}") else None
        return {"entry_id": entry, "reason": self.text("reason"), "reversed_on": self.text("reversed_on")}

    def save(self, model: ReversalIn) -> Any:
        return services.reverse(self.app.ledger, model)
