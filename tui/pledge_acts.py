"""The acts on a signed pledge's money from its detail screen: reallocate (with the donor's
consent), refund unspent cash, close the pledge (docs/rules.md#reallocations, #refunds,
#closing-a-pledge)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Select, Static

from ledger import queries, services
from ledger.inputs import PledgeCloseIn, ReallocationIn, RefundIn

from .common import amount
from .forms import FormScreen, field_id


def _label(paragraph: int | None) -> str:
    return "Unearmarked" if paragraph is None else f"¶{paragraph}"


class ReallocateForm(FormScreen):
    MODEL = ReallocationIn
    TITLE = "Reallocate with the donor's consent"
    HELP = ("Moves money still to be received from one allocation of the pledge to another (created if the "
            "pledge has none for that paragraph), in the pledge's currency, at most what the source has "
            "outstanding. Each side's carrying value is rounded to the cent, so the pledge's pledged USD may "
            "move by a cent: the saved message says so. Money already received is not moved.")

    def __init__(self, detail: queries.PledgeDetail, paragraphs: list[int]):
        super().__init__()
        self.detail = detail
        self.paragraphs = paragraphs

    def compose_fields(self) -> ComposeResult:
        d = self.detail
        corrected = self.correcting[1].source if self.correcting else 0  # its source: offered, whatever is left on it
        sources = [(f"{_label(a.paragraph)} (outstanding {amount(a.outstanding)})", a.paragraph or "U")
                   for a in d.allocations if a.outstanding > 0 or a.paragraph == corrected]
        targets = [(f"¶{n}", n) for n in self.paragraphs] + [("Unearmarked", "U")]
        yield Static(f"Pledge {d.reference} · {d.donor} · outstanding {d.currency} {amount(d.outstanding)}", classes="hint")
        source = sources[0][1] if sources else "U"
        with Horizontal(classes="row"):
            yield self.choice("source", "From", sources or [("nothing outstanding", "U")], source)
            yield self.choice("target", "To", targets, next(value for _, value in targets if value != source))
        with Horizontal(classes="row"):
            yield self.field("amount", f"Amount ({d.currency})", placeholder="at most the source's outstanding")
            yield self.field("reallocated_on", "On", dt.date.today().isoformat(), "YYYY-MM-DD")
        yield self.field("consent", "Donor's consent", placeholder="e.g. letter of 2016-03-01")

    def on_mount(self) -> None:
        self.query_one(f"#{field_id('amount')}").focus()

    def fill(self, content: ReallocationIn) -> None:
        super().fill(content)
        for name in ("source", "target"):
            self.query_one(f"#{field_id(name)}", Select).value = getattr(content, name) or "U"

    def values(self) -> dict:
        source, target = self.selected("source"), self.selected("target")
        return {"pledge": self.detail.reference, "source": "unearmarked" if source == "U" else source,
                "target": "unearmarked" if target == "U" else target, "amount": self.text("amount"),
                "reallocated_on": self.text("reallocated_on"), "consent": self.text("consent")}

    def save(self, model: ReallocationIn) -> Any:
        return services.reallocate(self.app.ledger, model)


class RefundForm(FormScreen):
    MODEL = RefundIn
    TITLE = "Refund unspent cash to the donor"
    HELP = ("Pays back unspent cash in the pledge's currency. Its USD is the amount at the refund date's rate, "
            "or the USD actually paid. From one allocation, or split over the allocations pro rata to the "
            "cash each holds on that date. A refund lowers pledged and available cash, not what was received.")

    def __init__(self, detail: queries.PledgeDetail):
        super().__init__()
        self.detail = detail

    def compose_fields(self) -> ComposeResult:
        d = self.detail
        options: list[tuple[str, Any]] = [("Split pro rata to available cash", "all")]
        options += [(f"{_label(a.paragraph)} (cash USD {amount(a.cash_usd)})", a.paragraph or "U") for a in d.allocations]
        held = sum((a.cash_usd for a in d.allocations), start=0)
        yield Static(f"Pledge {d.reference} · {d.donor} · cash held USD {amount(held)}", classes="hint")
        with Horizontal(classes="row"):
            yield self.field("amount", f"Amount ({d.currency})")
            yield self.field("usd_amount", "USD paid (optional)", placeholder="from the bank statement")
            yield self.field("refunded_on", "Refunded on", dt.date.today().isoformat(), "YYYY-MM-DD")
        yield self.choice("paragraph", "From", options, "all")
        yield self.field("reason", "Reason", placeholder="e.g. project closed, balance returned")

    def on_mount(self) -> None:
        self.query_one(f"#{field_id('amount')}").focus()

    def fill(self, content: RefundIn) -> None:
        super().fill(content)
        self.query_one(f"#{field_id('paragraph')}", Select).value = "U" if content.unearmarked else content.paragraph or "all"

    def values(self) -> dict:
        target = self.selected("paragraph")
        return {"pledge": self.detail.reference, "amount": self.text("amount"), "usd_amount": self.text("usd_amount"),
                "refunded_on": self.text("refunded_on"), "reason": self.text("reason"),
                "paragraph": target if isinstance(target, int) else None, "unearmarked": target == "U"}

    def save(self, model: RefundIn) -> Any:
        return services.refund(self.app.ledger, model)


class ClosePledgeForm(FormScreen):
    MODEL = PledgeCloseIn
    TITLE = "Close the pledge"
    HELP = ("A pledge is closed when nothing is outstanding and no allocation holds cash from the closing "
            "date on. A closed pledge takes no further entry until the closing is reversed.")

    def __init__(self, detail: queries.PledgeDetail):
        super().__init__()
        self.detail = detail

    def compose_fields(self) -> ComposeResult:
        d = self.detail
        held = sum((a.cash_usd for a in d.allocations), start=0)
        yield Static(f"Pledge {d.reference} · {d.donor} · outstanding {d.currency} {amount(d.outstanding)} · "
                     f"cash held USD {amount(held)}", classes="hint")
        yield self.field("closed_on", "Closed on", dt.date.today().isoformat(), "YYYY-MM-DD")

    def on_mount(self) -> None:
        self.query_one(f"#{field_id('closed_on')}").focus()

    def values(self) -> dict:
        return {"pledge": self.detail.reference, "closed_on": self.text("closed_on")}

    def save(self, model: PledgeCloseIn) -> Any:
        return services.close_pledge(self.app.ledger, model)
