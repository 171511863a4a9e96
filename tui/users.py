from __future__ import annotations

from .base import LedgerScreen


class UsersScreen(LedgerScreen):
    MODE = "users"
    TITLE = "users"
