from __future__ import annotations

from .base import LedgerScreen


class JournalScreen(LedgerScreen):
    MODE = "journal"
    TITLE = "journal"
