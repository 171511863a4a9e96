from __future__ import annotations

from .base import LedgerScreen


class ActivitiesScreen(LedgerScreen):
    MODE = "activities"
    TITLE = "activities"
