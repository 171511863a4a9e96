"""The seven import kinds: their columns (docs/imports.md; rules in docs/rules.md#imports) and who may import them."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.roles import Act


@dataclass(frozen=True)
class Kind:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    act: Act
    key: tuple[str, ...]  # what may not appear twice in one file
    text: frozenset[str]  # columns read as text even when a spreadsheet holds a number
    dates: frozenset[str] = frozenset()
    amounts: frozenset[str] = frozenset()
    whole_numbers: frozenset[str] = frozenset()
    percents: frozenset[str] = frozenset()  # numbers of percent (13 for 13%)

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.required, *self.optional)


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "donors", ("code", "name"), ("kind", "country", "currency", "iati_ref"), Act.MANAGE_DONORS_RATES,
            key=("code",), text=frozenset({"code", "name", "kind", "country", "currency", "iati_ref"}),
        ),
        Kind(
            "rates", ("currency", "effective_from", "units_per_usd"), ("reason",), Act.MANAGE_DONORS_RATES,
            key=("currency", "effective_from"), text=frozenset({"currency", "reason"}),
            dates=frozenset({"effective_from"}), amounts=frozenset({"units_per_usd"}),
        ),
        Kind(
            "activities", ("code", "paragraph", "title", "budget_usd"),
            ("planned_start", "planned_end", "status", "progress_pct"), Act.UPDATE_ACTIVITIES,
            key=("code",), text=frozenset({"code", "title", "status"}),
            dates=frozenset({"planned_start", "planned_end"}), amounts=frozenset({"budget_usd"}),
            whole_numbers=frozenset({"paragraph", "progress_pct"}), percents=frozenset({"progress_pct"}),
        ),
        Kind(
            "pledges", ("reference", "donor", "pledged_on", "currency", "amount"),
            ("paragraph", "psc_rate", "due_on", "notes", "stage", "signed_on"), Act.RECORD_MONEY,
            key=("reference", "paragraph"), text=frozenset({"reference", "donor", "currency", "notes", "stage"}),
            dates=frozenset({"pledged_on", "due_on", "signed_on"}), amounts=frozenset({"amount", "psc_rate"}),
            whole_numbers=frozenset({"paragraph"}), percents=frozenset({"psc_rate"}),
        ),
        Kind(
            "instalments", ("pledge", "due_on", "amount"), ("reason",), Act.RECORD_MONEY,
            key=("pledge", "due_on"), text=frozenset({"pledge", "reason"}),
            dates=frozenset({"due_on"}), amounts=frozenset({"amount"}),
        ),
        Kind(
            "receipts", ("reference", "pledge", "received_on", "amount"), ("usd_amount", "bank_reference"),
            Act.RECORD_MONEY, key=("reference",), text=frozenset({"reference", "pledge", "bank_reference"}),
            dates=frozenset({"received_on"}), amounts=frozenset({"amount", "usd_amount"}),
        ),
        Kind(
            "disbursements", ("reference", "activity", "disbursed_on", "amount"),
            ("currency", "pledge", "payee", "description"), Act.RECORD_MONEY, key=("reference",),
            text=frozenset({"reference", "activity", "currency", "pledge", "payee", "description"}),
            dates=frozenset({"disbursed_on"}), amounts=frozenset({"amount"}),
        ),
    )
}
