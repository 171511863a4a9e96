from __future__ import annotations

from .base import LedgerScreen


class DisbursementsScreen(LedgerScreen):
    MODE = "disbursements"
    TITLE = "disbursements"
