"""Run every benchmark in bench/ and print one table of ratios against baselines and goals.

    .venv/bin/python bench/run_all.py [--db URL] [--only NAME ...] [--skip NAME ...] [--timeout S]

Each ``bench/bench_*.py`` runs as a subprocess with its own defaults (its output is shown as
it goes, indented); this script reads only the lines it prints of the form (bench/README.md)

    RESULT name=<name> ratio=<x> goal=<y> [direction=max|min] [baseline=<b>] [seconds=<s>]

``direction=max`` (the default): the ratio must be at most the goal (donor-ledger's time over
the baseline's); ``min``: at least (the baseline's time over donor-ledger's). A script that
fails, or prints no RESULT line, gets a row saying so. Exit status 1 when a goal is missed
or a script failed.

``--db URL`` (a PostgreSQL server whose user may create databases; default: the environment's
DONOR_LEDGER_BENCH_PG): every script that keeps its ledgers through bench/stores.py (all of them)
runs twice, on SQLite and with
``--db URL`` on PostgreSQL, and the table shows both, a row per database.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULT = re.compile(r"^RESULT\s+(.*)$")


def parse(line: str) -> dict[str, str] | None:
    found = RESULT.match(line.strip())
    if not found:
        return None
    fields = dict(part.split("=", 1) for part in found.group(1).split() if "=" in part)
    return fields if "name" in fields else None


# Scripts written before the RESULT convention: their own "ratio ... (goal ...)" line, read as
# a fallback (e.g. "ratio export / bare: 0.78 (goal <= 1.5)", "ratio: 1.23x (goal: at most 2x)").
PRINTED_RATIO = re.compile(r"ratio[^:\n]*:\s*([0-9.]+)x?\s*\(goal:?\s*(?:<=|at most)\s*([0-9.]+)x?\)")


def fallback(script: str, line: str) -> dict[str, str] | None:
    found = PRINTED_RATIO.search(line)
    if not found:
        return None
    return {"name": script.removeprefix("bench_"), "ratio": found.group(1), "goal": found.group(2),
            "baseline": "(its_printed_ratio)"}


def verdict(fields: dict[str, str]) -> str:
    if "skipped" in fields:
        return f"skipped ({fields['skipped']})"
    try:
        ratio = float(fields["ratio"])
    except (KeyError, ValueError):
        return "no ratio"
    goal = fields.get("goal", "none")
    if goal in ("none", "-", ""):
        return "-"
    try:
        target = float(goal)
    except ValueError:
        return "?"
    met = ratio >= target if fields.get("direction", "max") == "min" else ratio <= target
    return "met" if met else "MISSED"


def takes_db_url(script: Path) -> bool:
    """Scripts that keep their ledgers through bench/stores.py (``--db URL``) run on either database."""
    return "from stores import" in script.read_text()


def run_script(script: Path, timeout: float, extra: list[str]) -> tuple[list[dict[str, str]], int | None, float]:
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(script), *extra], cwd=BENCH.parent, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1)
    results, printed = [], []
    try:
        for line in process.stdout:
            print(f"    {line}", end="", flush=True)
            fields = parse(line)
            if fields:
                results.append(fields)
            elif (old_style := fallback(script.stem, line)) is not None:
                printed.append(old_style)
            if time.perf_counter() - started > timeout:
                process.kill()
                break
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        code = None
    if time.perf_counter() - started > timeout:
        code = None
    return results or printed, code, time.perf_counter() - started


def goal_text(fields: dict[str, str]) -> str:
    goal = fields.get("goal", "none")
    if goal in ("none", "-", ""):
        return "-"
    return f"{'>=' if fields.get('direction', 'max') == 'min' else '<='} {goal}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=None, help="script names, e.g. bench_report")
    parser.add_argument("--skip", nargs="*", default=[])
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per script")
    parser.add_argument("--db", default=os.environ.get("DONOR_LEDGER_BENCH_PG"),
                        help="a PostgreSQL server URL: the scripts that can also run there")
    args = parser.parse_args()
    scripts = sorted(p for p in BENCH.glob("bench_*.py"))
    if args.only is not None:
        scripts = [p for p in scripts if p.stem in args.only or p.name in args.only]
    scripts = [p for p in scripts if p.stem not in args.skip and p.name not in args.skip]
    rows = []
    runs = [(script, "sqlite", []) for script in scripts]
    if args.db:
        runs += [(script, "postgresql", ["--db", args.db]) for script in scripts if takes_db_url(script)]
    for script, database, extra in runs:
        print(f"== {script.name} on {database}", flush=True)
        results, code, seconds = run_script(script, args.timeout, extra)
        row = {"script": script.stem, "database": database, "name": "-"}
        if code is None:
            rows.append({**row, "verdict": f"timed out after {seconds:.0f} s"})
        elif code != 0:
            rows.append({**row, "verdict": f"FAILED (exit {code})"})
        elif not results:
            rows.append({**row, "verdict": "no RESULT line (see bench/README.md)"})
        for fields in results:
            rows.append({**row, **fields, "verdict": verdict(fields)})
        print(f"== {script.name} on {database}: {seconds:.0f} s", flush=True)

    header = ("benchmark", "database", "script", "donor-ledger s", "baseline", "ratio", "goal", "verdict")
    table = [header] + [(
        r.get("name", "-"), r["database"], r["script"], r.get("seconds", "-"), r.get("baseline", "-"),
        f"{float(r['ratio']):.2f}x" if "ratio" in r and re.fullmatch(r"[0-9.]+", r["ratio"]) else "-",
        goal_text(r) if "ratio" in r else "-", r["verdict"],
    ) for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    print()
    for n, row in enumerate(table):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * width for width in widths))
    bad = [r for r in rows if r["verdict"] == "MISSED" or r["verdict"].startswith(("FAILED", "timed out"))]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
