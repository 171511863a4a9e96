from __future__ import annotations

from .base import LedgerScreen


class TransferScreen(LedgerScreen):
    MODE = "transfer"
    TITLE = "transfer"
