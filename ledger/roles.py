"""Roles and what each may do (docs/rules.md#roles)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    FINANCE = "finance"
    PROGRAMME = "programme"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Act(StrEnum):
    RECORD_MONEY = "record pledges, receipts, disbursements, cancellations and reversals"
    MANAGE_DONORS_RATES = "manage donors and exchange rates"
    UPDATE_ACTIVITIES = "update activities"
    MANAGE_USERS = "manage users"
    MANAGE_SETTINGS = "change ledger settings"
    CLOSE_PERIOD = "close periods"
    REOPEN_PERIOD = "reopen periods"


ALLOWED: dict[Act, frozenset[Role]] = {
    Act.RECORD_MONEY: frozenset({Role.FINANCE, Role.ADMIN}),
    Act.MANAGE_DONORS_RATES: frozenset({Role.FINANCE, Role.ADMIN}),
    Act.UPDATE_ACTIVITIES: frozenset({Role.PROGRAMME, Role.ADMIN}),
    Act.MANAGE_USERS: frozenset({Role.ADMIN}),
    Act.MANAGE_SETTINGS: frozenset({Role.ADMIN}),
    Act.CLOSE_PERIOD: frozenset({Role.FINANCE, Role.ADMIN}),
    Act.REOPEN_PERIOD: frozenset({Role.ADMIN}),
}


def may(role: Role | None, act: Act) -> bool:
    return role is not None and role in ALLOWED[act]


@dataclass(frozen=True)
class Actor:
    """The user acting on a ledger."""

    name: str
    role: Role | None  # None: not (yet) a user of this ledger
