"""Read models for lists and details (what the CLI and the TUI show). Plain dataclasses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from .database import Ledger
from .schema import User


@dataclass(frozen=True)
class UserView:
    name: str
    role: str
    created_at: dt.datetime
    created_by: str


def users(ledger: Ledger) -> list[UserView]:
    with ledger.reading() as session:
        rows = session.execute(select(User.name, User.role, User.created_at, User.created_by).order_by(User.name))
        return [UserView(*row) for row in rows]
