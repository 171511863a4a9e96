from __future__ import annotations

from .base import LedgerScreen


class DonorsScreen(LedgerScreen):
    MODE = "donors"
    TITLE = "donors"
