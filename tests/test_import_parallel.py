"""The import's reading and validating in a forked child (imports/rows.py): the same outcome
as reading in the importing process, row for row and problem for problem, and no child left
behind when the importing process is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli.commands  # noqa: F401  (registers the sub-commands)
from cli.main import cli
from imports import rows
from imports.readers import open_table
from tests.test_imports import WORKED_EXAMPLE, dump, load, write

DONOR_LEDGER = str(Path(sys.executable).with_name("donor-ledger"))
FORCE = "DONOR_LEDGER_PARALLEL_FROM_BYTES"


def pledge_file(tmp_path: Path, count: int, bad_every: int = 0) -> Path:
    lines = ["reference,donor,pledged_on,currency,amount,paragraph,notes"]
    for i in range(count):
        amount = "12.345" if bad_every and i % bad_every == 7 else f"{1000 + i}.50"
        donor = "NOPE" if bad_every and i % bad_every in (11, 13) else "USA"
        paragraph = 9 if bad_every and i % bad_every == 13 else 1 + i % 7  # a valid row naming two unknowns
        lines.append(f"PX{i:05d},{donor},2011-07-01,USD,{amount},{paragraph},note {i}")
    if bad_every:
        lines.append("PX99999,USA,2011-07-01,USD,5,1,too,many,cells")  # a reader problem
    return write(tmp_path, f"pledges-{count}-{bad_every}.csv", "\n".join(lines) + "\n")


def run_import(url: str, path: Path, parallel: bool, monkeypatch) -> tuple[int, str]:
    monkeypatch.setenv(FORCE, "0" if parallel else str(10**12))
    chunk = rows.CHUNK_ROWS
    monkeypatch.setattr(rows, "CHUNK_ROWS", 700)  # several chunks, the last one short
    try:
        result = CliRunner().invoke(cli, ["--db", url, "--user", "officer", "import", "pledges", str(path)])
    finally:
        monkeypatch.setattr(rows, "CHUNK_ROWS", chunk)
    return result.exit_code, result.stderr if result.exit_code else result.stdout


@pytest.fixture
def ready(tmp_path, sqlite_template):
    """Two copies of a ledger holding the worked example's reference data."""
    import shutil

    urls = []
    for name in ("a.db", "b.db"):
        shutil.copy(sqlite_template, tmp_path / name)
        urls.append(f"sqlite:///{tmp_path / name}")
        load(urls[-1], tmp_path, "donors", "rates", "activities")
    return tuple(urls)


# what depends on the clock: posting times and the hashes over them
CLOCK = frozenset({"posted_at", "hash", "prev_hash", "entered_at", "created_at", "recorded_at", "at"})


def test_a_file_read_in_a_child_stores_what_a_file_read_here_stores(ready, tmp_path, monkeypatch):
    here, there = ready
    path = pledge_file(tmp_path, 3000)
    outcome = run_import(here, path, parallel=False, monkeypatch=monkeypatch)
    assert outcome == (0, f"{path}: 3000 rows: 3000 pledges added (3000 allocation rows), 0 pledges skipped (identical)\n"), outcome[1][:2000]
    outcome = run_import(there, path, parallel=True, monkeypatch=monkeypatch)
    assert outcome == (0, f"{path}: 3000 rows: 3000 pledges added (3000 allocation rows), 0 pledges skipped (identical)\n"), outcome[1][:2000]
    assert dump(here, without=CLOCK) == dump(there, without=CLOCK)
    assert len(dump(there)["pledges"]) == 3000


def test_a_file_read_in_a_child_has_the_same_problems(ready, tmp_path, monkeypatch):
    here, there = ready
    path = pledge_file(tmp_path, 3000, bad_every=500)
    serial = run_import(here, path, parallel=False, monkeypatch=monkeypatch)
    parallel = run_import(there, path, parallel=True, monkeypatch=monkeypatch)
    assert serial[0] == parallel[0] == 1
    assert serial[1] == parallel[1]
    problems = serial[1].splitlines()
    assert f"{path}:9: amount: 12.345 has more decimals than USD allows (2)" in problems
    assert f"{path}:13: donor: no donor with code 'NOPE'; add the donor first" in problems
    assert f"{path}:15: paragraph: resolution 20/7 has no operative paragraph 9 (it has 1-7)" in problems
    assert f"{path}:15: donor: no donor with code 'NOPE'; add the donor first" in problems
    assert any(line.startswith(f"{path}:3002: ") for line in problems)  # the reader's own problem
    assert problems[-1] == f"{path}: {len(problems) - 1} problems; nothing was imported"


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads /proc")
def test_the_reading_child_ends_when_the_import_is_killed(ready, tmp_path):
    url, _ = ready
    path = pledge_file(tmp_path, 60_000)
    env = {**os.environ, FORCE: "0"}
    importer = subprocess.Popen([DONOR_LEDGER, "--db", url, "--user", "officer", "import", "pledges", str(path)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (children := children_of(importer.pid)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert children, "the import did not start a reading child"
    importer.send_signal(signal.SIGKILL)
    importer.wait()
    deadline = time.monotonic() + 20
    while any(Path(f"/proc/{c}").exists() and "Z" not in Path(f"/proc/{c}/stat").read_text().rsplit(")", 1)[1][:3]
              for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [c for c in children if Path(f"/proc/{c}").exists()
             and "Z" not in Path(f"/proc/{c}/stat").read_text().rsplit(")", 1)[1][:3]]
    assert alive == [], "the reading child outlived the import"


def test_small_files_and_threaded_processes_read_here(tmp_path, monkeypatch):
    import threading

    from imports.kinds import KINDS

    monkeypatch.delenv(FORCE, raising=False)
    spec = KINDS["pledges"]
    small = open_table(write(tmp_path, "small.csv", WORKED_EXAMPLE["pledges"]), required=spec.required, optional=spec.optional)
    large = open_table(pledge_file(tmp_path, 20_000), required=spec.required, optional=spec.optional)
    assert os.path.getsize(large.path) > rows.PARALLEL_FROM_BYTES > os.path.getsize(small.path)
    assert rows._parallel(small) is False  # a fork would cost more than it saves
    threads = threading.active_count()
    assert rows._parallel(large) is (threads == 1)
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)  # as in the TUI, whose imports run in a worker thread
    worker.start()
    try:
        assert rows._parallel(large) is False  # no fork beside other threads
    finally:
        stop.set()
        worker.join()
