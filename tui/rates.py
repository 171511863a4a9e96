from __future__ import annotations

from .base import LedgerScreen


class RatesScreen(LedgerScreen):
    MODE = "rates"
    TITLE = "rates"
