"""Chain verification in a child process.

Recomputing every hash of a long journal takes minutes of CPU (about 50 s for 400,000
entries here). Run in a thread it would hold the interpreter lock while the user works,
and quitting would wait for it; in a child process it runs beside the UI and is stopped
when the app quits. The child calls ``ledger.services.verify_chain`` like the CLI's
``verify``, reaching the ledger through DONOR_LEDGER_DB (never a password on a command line).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass

CHILD = (
    "import json, sys\n"
    "from ledger.services import open_ledger, verify_chain\n"
    "result = verify_chain(open_ledger(None, sys.argv[1] or None))\n"
    "print(json.dumps({'ok': result.ok, 'message': result.message}))\n"
)

_running: set[subprocess.Popen] = set()
_lock = threading.Lock()


@dataclass(frozen=True)
class ChainCheck:
    """The result of a chain check made in this session, and the entry count it began at. The
    app keeps the latest (``DonorLedgerApp.chain``): the dashboard and the journal show the same."""

    ok: bool
    message: str
    entries: int

    def summary(self) -> str:
        """One line for a status bar: what was checked, or what is broken."""
        if self.ok:
            counted, _, head = self.message.split(": ", 1)[-1].partition(", head ")
            return f"✓ Journal chain intact: {counted}" + (f", head {head[:8]}…" if head else "")
        return f"✗ BROKEN CHAIN: {self.message}"


class VerificationStopped(Exception):
    """The app quit while the chain was being verified."""


def verify_in_child(url: str, user: str) -> tuple[bool, str]:
    """(ok, message) of ``verify`` on the ledger at ``url``; blocks (call it from a worker)."""
    env = {**os.environ, "DONOR_LEDGER_DB": url}
    process = subprocess.Popen([sys.executable, "-c", CHILD, user or ""], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    with _lock:
        _running.add(process)
    try:
        out, err = process.communicate()
    finally:
        with _lock:
            _running.discard(process)
    if process.returncode < 0:
        raise VerificationStopped()
    if process.returncode != 0 or not out.strip():
        last = (err.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"verification could not run: {last}")
    answer = json.loads(out.strip().splitlines()[-1])
    return bool(answer["ok"]), str(answer["message"])


def stop_all() -> None:
    """Stop every verification still running (the app is quitting)."""
    with _lock:
        running = list(_running)
    for process in running:
        process.kill()
