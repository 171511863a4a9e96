"""Helpers of the reliability suite: small ledgers, database copies, and child processes.

Child processes run this module: ``python -m tests.reliability_tools post URL WORKER N``.
A child prints ``ready`` once its ledger is open and waits for one line on stdin before it
starts, so that the parent can start several children at the same moment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
PLEDGES = 20  # the concurrency ledger's pledges P0..P19, one per activity A0..A19
RECEIPT = "100.00"
SPEND = "50.00"  # + 13 % PSC = 56.50 of each 100.00 received: never short


def child_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **extra}
    env.pop("DONOR_LEDGER_DB", None)
    return env


def start_child(*args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability_tools", *args], cwd=ROOT, env=child_env(**env),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_ready(child: subprocess.Popen, timeout: float = 60) -> None:
    line = child.stdout.readline()
    if line.strip() != "ready":
        child.kill()
        raise AssertionError(f"child did not start: {line!r} {child.stderr.read()}")


def go(*children: subprocess.Popen) -> None:
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()


def funded_ledger(ledger, pledges: int = PLEDGES) -> None:
    """Donor D, activities A0.. and USD pledges P0.. (1,000,000 each, on the activity's paragraph)."""
    from tests import builders as b

    b.donor(ledger, "D", "Donor D")
    for i in range(pledges):
        b.activity(ledger, f"A{i}", 1 + i % 7, "1000000")
        b.pledge(ledger, f"P{i}", "D", "2020-01-01", "USD", {1 + i % 7: "1000000.00"})


def fast_postgres(url: str) -> None:
    """Commit without waiting for the WAL flush on a throw-away test database.

    Durability on power loss is not what these tests check; every lock and every
    transaction boundary stays as it is.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    engine = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{parsed.database}" SET synchronous_commit = off'))
    engine.dispose()


# -- children ------------------------------------------------------------------------------
def post_entries(url: str, worker: str, count: int) -> None:
    """Post ``count`` entries, alternating a receipt and a disbursement on the same pledge."""
    from ledger.database import Ledger
    from tests import builders as b

    ledger = Ledger(url, user="officer")
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(count):
        pledge = (i // 2) % PLEDGES
        if i % 2 == 0:
            b.receipt(ledger, f"{worker}-R{i}", f"P{pledge}", "2021-01-01", RECEIPT)
        else:
            b.disburse(ledger, f"{worker}-D{i}", f"A{pledge}", "2021-01-02", SPEND, pledge=f"P{pledge}")
    ledger.close()
    print("done", flush=True)


def write_until_stopped(url: str, worker: str) -> None:
    """Post receipts and disbursements until stdin closes (a live ledger under a backup)."""
    import selectors

    from ledger.database import Ledger
    from tests import builders as b

    ledger = Ledger(url, user="officer")
    print("ready", flush=True)
    sys.stdin.readline()
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin, selectors.EVENT_READ)
    i = 0
    while not selector.select(timeout=0):
        pledge = (i // 2) % PLEDGES
        if i % 2 == 0:
            b.receipt(ledger, f"{worker}-R{i}", f"P{pledge}", "2021-01-01", RECEIPT)
        else:
            b.disburse(ledger, f"{worker}-D{i}", f"A{pledge}", "2021-01-02", SPEND, pledge=f"P{pledge}")
        i += 1
        if i == 20:
            print("writing", flush=True)
    ledger.close()
    print(f"done {i}", flush=True)


def hold_lock(path: str, mode: str, seconds: float) -> None:
    """Hold an SQLite write lock (``immediate`` or ``exclusive``) until stdin closes, at most ``seconds``."""
    import select
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    if mode == "exclusive":  # in WAL mode readers would still get in: lock them out too
        conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute(f"BEGIN {mode.upper()}")
    conn.execute("select count(*) from sqlite_master").fetchone()
    print("ready", flush=True)
    select.select([sys.stdin], [], [], seconds)
    conn.rollback()
    conn.close()


def verify_url(url: str):
    from ledger.database import Ledger
    from ledger.services import verify_chain

    ledger = Ledger(url, user="auditor", migrate=False)
    try:
        return verify_chain(ledger)
    finally:
        ledger.close()


def journal_ids(url: str) -> list[int]:
    from ledger.schema import JournalEntry

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(JournalEntry.id).order_by(JournalEntry.id)).scalars())
    finally:
        engine.dispose()


def cli_server() -> None:
    """Run ``donor-ledger`` many times, each in its own forked process, without paying Python's
    start-up and imports each time (a zygote). One JSON job a line on stdin: ``{"args": [...],
    "env": {...}, "stdout": FILE, "stderr": FILE, "timeout": s}``; answers ``{"code": N}``
    (null when the run was killed after ``timeout``). The child runs the console script's own
    entry point, ``cli.main:main``, and reports an uncaught exception as the interpreter would:
    a traceback on stderr and exit 1.
    """
    import json
    import signal
    import traceback

    import cli.commands  # noqa: F401
    from cli.main import main

    for module in ("ledger.services", "ledger.migrate", "ledger.backup", "ledger.queries", "reports.funding",
                   "reports.render", "imports.importer", "imports.readers", "reports.workbook", "alembic.command",
                   "rich.console", "psycopg", "openpyxl", "python_calamine_plus"):
        try:
            __import__(module)
        except ImportError:
            pass
    print("ready", flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.environ.update(job.get("env") or {})
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                for fd, path in ((1, job["stdout"]), (2, job["stderr"])):
                    os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
                sys.argv = ["donor-ledger", *job["args"]]
                try:
                    main()
                    code = 0
                except SystemExit as exc:
                    if exc.code is None or isinstance(exc.code, int):
                        code = exc.code or 0
                    else:
                        print(exc.code, file=sys.stderr)
                except BaseException:  # noqa: BLE001 - what the interpreter would print
                    traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        deadline = time.monotonic() + job.get("timeout", 60)
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), flush=True)
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                print(json.dumps({"code": None}), flush=True)
                break
            time.sleep(0.005)


class CliServer:
    """The parent side of :func:`cli_server`."""

    def __init__(self):
        self.child = start_child("cli-server")
        wait_ready(self.child)

    def run(self, args: list[str], env: dict | None, out: Path, err: Path, timeout: float) -> int | None:
        import json

        self.child.stdin.write(json.dumps({"args": args, "env": env or {}, "stdout": str(out), "stderr": str(err),
                                           "timeout": timeout}) + "\n")
        self.child.stdin.flush()
        return json.loads(self.child.stdout.readline())["code"]

    def close(self) -> None:
        self.child.stdin.close()
        self.child.wait(timeout=30)


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command == "post":
        post_entries(arguments[0], arguments[1], int(arguments[2]))
    elif command == "write":
        write_until_stopped(arguments[0], arguments[1])
    elif command == "cli-server":
        cli_server()
    elif command == "hold-lock":
        hold_lock(arguments[0], arguments[1], float(arguments[2]))
    else:
        raise SystemExit(f"unknown command {command}")
