"""No traceback reaches a user: every command, every broken environment, one clear line and exit 1.

The commands are discovered from the click group (``cli.main.cli`` after ``import
cli.commands``), so a command added later is covered without editing this file: each
required argument and option gets a plausible value from its name and type. Each command
runs in its own process, as a user runs it, against:
- ledgers that cannot be used: a missing folder, a directory, a FIFO, files that are not
  ledgers (random bytes, text, another program's SQLite database), an unreadable file (not
  for root, who reads everything), a database locked by another process for longer than
  the busy timeout, a PostgreSQL server that is down;
- files that cannot be used: an import file that is missing, a directory, a FIFO, not
  readable, or not a CSV/XLSX; an output in a missing folder or onto a directory.
"""

from __future__ import annotations

import getpass
import os
import queue
import random
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest

from ledger.database import Ledger
from tests import builders as b
from tests import reliability_tools as tools

DONOR_LEDGER = str(Path(sys.executable).with_name("donor-ledger"))
IS_ROOT = os.geteuid() == 0
NEEDS_NO_LEDGER = {"template"}  # writes an empty template: opens no ledger
INTERACTIVE = {"tui"}  # opens the ledger behind the UI: only run where opening must fail
WRITERS = {"pledge cancel", "pledge schedule", "reverse", "activity update", "user add", "import"}
DONORS_CSV = "code,name,kind\nXX1,A donor,other\n"
GROUPS = ("pledge", "activity", "user", "report", "admin")
ALTERNATE_SCREEN_OFF = "\x1b[?1049l"
SUMMARY = re.compile(r": \d+ problems?; nothing was (imported|written)$")  # the importer's closing count


def commands() -> list[tuple[str, click.Command]]:
    import cli.commands  # noqa: F401  (registers every sub-command)
    from cli.main import cli

    found = []

    def walk(group: click.Group, prefix: str) -> None:
        for name, command in sorted(group.commands.items()):
            path = f"{prefix} {name}".strip()
            if isinstance(command, click.Group):
                walk(command, path)
            else:
                found.append((path, command))

    walk(cli, "")
    return found


@dataclass
class Files:
    """What to hand a command for its file parameters."""

    input: str
    output_dir: Path
    outputs: list[str] = field(default_factory=list)

    def output(self, suffix: str) -> str:
        path = str(self.output_dir / f"out-{len(self.outputs)}{suffix}")
        self.outputs.append(path)
        return path


OUTPUT_SUFFIX = {"backup": ".db", "export": ".xlsx", "iati": ".xml", "template": ".xlsx"}


def is_input(name: str, param: click.Parameter) -> bool:
    return param.name in ("file", "path", "input") and name not in OUTPUT_SUFFIX


def is_output(name: str, param: click.Parameter) -> bool:
    return param.name in ("output", "out") or (name in OUTPUT_SUFFIX and param.name in ("file", "path"))


def argv(name: str, command: click.Command, files: Files) -> list[str]:
    """The command with a plausible value for each required parameter."""
    words = name.split()
    for param in command.params:
        if not param.required:
            continue
        if is_input(name, param):
            value = files.input
        elif is_output(name, param):
            value = files.output(OUTPUT_SUFFIX.get(words[0], ".out"))
        elif isinstance(param.type, click.Choice):
            value = param.type.choices[0]
        elif isinstance(param.type, click.types.IntParamType):
            value = "1"
        elif param.name in ("on", "as_of") or "date" in param.name:
            value = "2011-09-01"
        elif param.name == "through":  # a period closes through a month end
            value = "2011-09-30"
        else:
            value = {"reference": "P1", "amount": "1", "code": "A1", "name": "someone", "reason": "test",
                     "role": "auditor", "instalments": "2011-12-31=1", "source": "1",
                     "target": "unearmarked"}.get(param.name, "X")
        words += [value] if isinstance(param, click.Argument) else [param.opts[0], value]
    return words


@dataclass
class Run:
    case: str
    args: list[str]
    code: int | None
    out: str
    err: str


def run_process(case: str, db: str, args: list[str], env: dict | None = None, timeout: float = 90) -> Run:
    """The installed console script in a new process (Python start-up and all)."""
    try:
        done = subprocess.run([DONOR_LEDGER, "--db", db, *args], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, env=tools.child_env(**(env or {})), timeout=timeout)
        return Run(case, args, done.returncode, done.stdout, done.stderr)
    except subprocess.TimeoutExpired as exc:
        return Run(case, args, None, str(exc.stdout or ""), f"hung for {timeout} s")


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Two fork servers: each run is its own process, forked after the imports (fast)."""
    pool: queue.Queue = queue.Queue()
    started = [tools.CliServer() for _ in range(2)]
    for server in started:
        pool.put(server)
    pool.scratch = tmp_path_factory.mktemp("cli-runs")
    yield pool
    for server in started:
        server.close()


def run_all(servers, jobs: list[tuple]) -> list[Run]:
    """Each job: (case, db, args[, env[, timeout]]), run through the fork servers, two at a time."""
    counter = iter(range(10**9))

    def one(job) -> Run:
        case, db, args, env, timeout = (*job, None, None)[:5]
        n = next(counter)
        out, err = servers.scratch / f"{n}.out", servers.scratch / f"{n}.err"
        server = servers.get()
        try:
            code = server.run(["--db", db, *args], env, out, err, timeout or 90)
        finally:
            servers.put(server)
        return Run(case, args, code, out.read_text(errors="replace"),
                   err.read_text(errors="replace") if code is not None else f"hung for {timeout} s")

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, jobs))


def refusal_problem(r: Run, expected: str | None = None) -> str | None:
    """Why this run is not one clear line per problem ("error: ...") and exit 1, or None."""
    where = f"[{r.case}] donor-ledger {' '.join(r.args)}"
    if "Traceback" in r.err or "Traceback" in r.out:
        return f"{where}: a traceback reached the user:\n{r.err[-800:]}"
    if r.code != 1:
        return f"{where}: exit {r.code}, expected 1 (stderr {r.err.strip()[:300]!r})"
    # `tui` paints first and opens the ledger behind it: what stays on the terminal is what was
    # written after the UI left the alternate screen (ESC [?1049l)
    shown = r.err.rsplit(ALTERNATE_SCREEN_OFF, 1)[-1]
    lines = [line for line in shown.splitlines() if line.strip() and not SUMMARY.search(line)]
    if not lines or (len(lines) > 1 and not all(line.startswith("error: ") for line in lines)):
        return f"{where}: {len(lines)} lines on stderr, expected one per problem: {r.err[:500]!r}"
    if expected and expected.lower() not in lines[0].lower():
        return f"{where}: {lines[0]!r} does not say {expected!r}"
    return None


# -- broken ledgers ------------------------------------------------------------------------------
def broken_ledgers(tmp: Path, template: Path) -> list[tuple[str, str, str | None]]:
    """(case, --db value, what the message must say)."""
    directory = tmp / "a-folder"
    directory.mkdir()
    fifo = tmp / "fifo.db"
    os.mkfifo(fifo)
    noise = tmp / "noise.db"
    noise.write_bytes(random.Random(7).randbytes(8192))
    text_file = tmp / "notes.db"
    text_file.write_text("these are not the ledgers you are looking for\n" * 50)
    foreign = tmp / "foreign.db"
    import sqlite3

    conn = sqlite3.connect(foreign)
    conn.execute("create table recipes (name text, steps text)")
    conn.commit()
    conn.close()
    cases = [
        ("missing folder", str(tmp / "no-such-folder" / "ledger.db"), "does not exist"),
        ("a directory", str(directory), "directory"),
        ("a FIFO", str(fifo), None),
        ("random bytes", str(noise), "not a donor-ledger ledger"),
        ("a text file", str(text_file), "not a donor-ledger ledger"),
        ("another program's SQLite file", str(foreign), "not a donor-ledger ledger"),
        ("PostgreSQL server down", "postgresql+psycopg://finance:secret@127.0.0.1:1/ledger", "127.0.0.1"),
    ]
    if not IS_ROOT:  # root reads every file whatever its mode: the FIFO above stands in for it
        unreadable = tmp / "unreadable.db"
        shutil.copy(template, unreadable)
        unreadable.chmod(0)
        cases.append(("unreadable file", str(unreadable), None))
    return cases


def test_every_command_refuses_a_broken_ledger_in_one_line(servers, tmp_path, sqlite_template):
    files = Files(input=str(tmp_path / "donors.csv"), output_dir=tmp_path / "out")
    Path(files.input).write_text(DONORS_CSV)
    files.output_dir.mkdir()
    found = commands()
    assert {"init", "verify", "backup", "report funding", "user list", "pledge cancel", "reverse",
            "activity update"} <= {name for name, _ in found}
    cases = broken_ledgers(tmp_path, sqlite_template)
    expected = {case: text for case, _, text in cases}
    jobs = [(case, db, argv(name, command, files)) for case, db, _ in cases
            for name, command in found if name not in NEEDS_NO_LEDGER]
    problems = [p for r in run_all(servers, jobs) if (p := refusal_problem(r, expected[r.case]))]
    assert problems == [], f"{len(problems)} of {len(jobs)} runs:\n" + "\n".join(problems[:20])
    assert not any(Path(o).exists() for o in files.outputs), "an output was written from a broken ledger"


def test_the_installed_command_itself_answers_the_same(tmp_path, sqlite_template):
    """The console script in fresh processes (Python start-up included), for every broken ledger."""
    cases = broken_ledgers(tmp_path, sqlite_template)
    expected = {case: text for case, _, text in cases}
    jobs = [(case, db, args) for case, db, _ in cases for args in (["verify"], ["report", "funding", "--format", "json"])]
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda job: run_process(*job), jobs))
    problems = [p for r in runs if (p := refusal_problem(r, expected[r.case]))]
    assert problems == [], "\n".join(problems)


@pytest.fixture
def example_file(tmp_path, sqlite_template) -> Path:
    path = tmp_path / "ledger.db"
    shutil.copy(sqlite_template, path)
    ledger = Ledger(f"sqlite:///{path}", user=os.environ.get("DONOR_LEDGER_USER") or getpass.getuser())
    b.worked_example(ledger)
    ledger.close()
    return path


def test_a_locked_database_is_one_line_not_a_hang(servers, example_file, tmp_path):
    """Another process holds an EXCLUSIVE lock far longer than the busy timeout (300 ms)."""
    files = Files(input=str(tmp_path / "donors.csv"), output_dir=tmp_path / "out")
    Path(files.input).write_text(DONORS_CSV)
    files.output_dir.mkdir()
    holder = tools.start_child("hold-lock", str(example_file), "exclusive", "600")
    try:
        tools.wait_ready(holder)
        jobs = [("locked (exclusive)", str(example_file), argv(name, command, files),
                 {"DONOR_LEDGER_BUSY_TIMEOUT_MS": "300"})
                for name, command in commands() if name not in NEEDS_NO_LEDGER]
        runs = run_all(servers, jobs)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    problems = [p for r in runs if (p := refusal_problem(r, "locked"))]
    assert problems == [], "\n".join(problems[:20])


def test_writers_wait_then_refuse_while_readers_carry_on(servers, example_file, tmp_path):
    """WAL, another writer holds BEGIN IMMEDIATE: every write is one line "locked", reads still work."""
    files = Files(input=str(tmp_path / "donors.csv"), output_dir=tmp_path / "out")
    Path(files.input).write_text(DONORS_CSV)
    files.output_dir.mkdir()
    holder = tools.start_child("hold-lock", str(example_file), "immediate", "600")
    try:
        tools.wait_ready(holder)
        jobs = [("locked (immediate)", str(example_file), argv(name, command, files),
                 {"DONOR_LEDGER_BUSY_TIMEOUT_MS": "300"})
                for name, command in commands() if name not in INTERACTIVE]
        runs = run_all(servers, jobs)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    problems, succeeded = [], set()
    for r in runs:
        name = " ".join(r.args[: 2 if r.args[0] in GROUPS else 1])
        if r.code == 0:
            succeeded.add(name)
        if name in WRITERS:
            problem = refusal_problem(r, "locked")
        elif "Traceback" in r.err or r.code not in (0, 1):
            problem = f"[{r.case}] {' '.join(r.args)}: exit {r.code}: {r.err[-500:]}"
        elif r.code == 1:
            problem = refusal_problem(r)
        else:
            problem = None
        if problem:
            problems.append(problem)
    assert problems == [], "\n".join(problems[:20])
    assert {"report funding", "verify", "user list", "export"} <= succeeded  # readers are not blocked


# -- broken files --------------------------------------------------------------------------------
def broken_inputs(tmp: Path) -> list[tuple[str, str, str | None]]:
    folder = tmp / "inputs"
    folder.mkdir()
    (folder / "a-folder.csv").mkdir()
    os.mkfifo(folder / "fifo.csv")
    (folder / "noise.csv").write_bytes(random.Random(3).randbytes(4096))
    (folder / "fake.xlsx").write_text("not a zip file at all")
    (folder / "latin1.csv").write_bytes("code,name\nX,Côte d'Ivoire\n".encode("latin-1"))
    cases = [
        ("missing input", str(folder / "nowhere.csv"), None),
        ("input is a directory", str(folder / "a-folder.csv"), None),
        ("input is a FIFO", str(folder / "fifo.csv"), None),
        ("input is random bytes", str(folder / "noise.csv"), None),
        ("xlsx that is not a zip", str(folder / "fake.xlsx"), None),
    ]
    if not IS_ROOT:  # root reads every file whatever its mode: the directory and FIFO stand in for it
        unreadable = folder / "unreadable.csv"
        unreadable.write_text(DONORS_CSV)
        unreadable.chmod(0)
        cases.append(("unreadable input", str(unreadable), None))
    return cases


# Defects found by this file and not yet fixed (none now); a case listed here is left out of
# the no-traceback sweep above.
KNOWN_DEFECTS: dict[tuple[str, str], str] = {}


def file_jobs(tmp_path: Path, example_file: Path) -> list[tuple[str, str, tuple]]:
    """(case, command name, job) for every file parameter of every command and every broken file."""
    found = commands()
    jobs = []
    for case, path, _ in broken_inputs(tmp_path):
        files = Files(input=path, output_dir=tmp_path / "unused")
        for name, command in found:
            if any(is_input(name, p) for p in command.params if p.required):
                jobs.append((case, name, (case, str(example_file), argv(name, command, files), None, 10)))
    (tmp_path / "missing-parent").mkdir()
    for case in ("output in a missing folder", "output onto a directory"):
        for name, command in found:
            if not any(is_output(name, p) for p in command.params if p.required):
                continue
            files = Files(input="", output_dir=tmp_path / "no-such-folder")
            words = argv(name, command, files)
            if case == "output onto a directory":
                target = tmp_path / f"a-dir-{name.split()[0]}{OUTPUT_SUFFIX.get(name.split()[0], '.out')}"
                target.mkdir()
                words = [str(target) if w == files.outputs[-1] else w for w in words]
            jobs.append((case, name, (case, str(example_file), words, None, 90)))
    return jobs


def test_every_file_argument_refuses_a_broken_file_in_one_line(servers, example_file, tmp_path):
    jobs = file_jobs(tmp_path, example_file)
    cases = {case for case, _, _ in jobs}
    assert {"input is a FIFO", "input is a directory", "output onto a directory", "output in a missing folder"} <= cases
    runs = run_all(servers, [job for case, name, job in jobs if (case, name) not in KNOWN_DEFECTS])
    problems = [p for r in runs if (p := refusal_problem(r))]
    assert problems == [], f"{len(problems)} of {len(runs)} runs:\n" + "\n".join(problems[:20])
    check = Ledger(f"sqlite:///{example_file}", user="auditor")
    assert b.entry_count(check) == 5  # nothing was written
    check.close()

