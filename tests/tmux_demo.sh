#!/usr/bin/env bash
# A scripted tmux session: start the installed `donor-ledger ... demo`, enter a pledge through
# the new-pledge form, check that it is in the ledger, and quit. Exits non-zero on any failure.
# Usage: tests/tmux_demo.sh   (DONOR_LEDGER_BIN overrides the command; needs tmux)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="${DONOR_LEDGER_BIN:-$ROOT/.venv/bin/donor-ledger}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
command -v tmux >/dev/null || { echo "tmux_demo: tmux is not installed" >&2; exit 1; }

WORK=$(mktemp -d)
DB="$WORK/demo.db"
SESSION="dl-demo-$$"
cleanup() { tmux kill-session -t "$SESSION" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

fail() {
    echo "tmux_demo: FAILED: $*" >&2
    echo "----- screen -----" >&2
    tmux capture-pane -p -t "$SESSION" >&2 2>/dev/null || true
    exit 1
}

wait_for() {  # wait_for TEXT [SECONDS]
    local text="$1" limit="${2:-60}" start=$SECONDS
    while (( SECONDS - start < limit )); do
        if tmux capture-pane -p -t "$SESSION" 2>/dev/null | grep -qF -- "$text"; then return 0; fi
        sleep 0.2
    done
    fail "did not see '$text' within ${limit}s"
}

keys() { for k in "$@"; do tmux send-keys -t "$SESSION" "$k"; sleep 0.5; done; }
type_text() { tmux send-keys -t "$SESSION" -l -- "$1"; sleep 1; }

if "$BIN" demo --help >/dev/null 2>&1; then
    COMMAND="$BIN --db $DB --user officer demo"
else  # the demo command is not installed: a ledger built by the test builders instead
    (cd "$ROOT" && "$PYTHON" -c "from ledger.database import Ledger; from tests.builders import worked_example; \
worked_example(Ledger('sqlite:///$DB', user='officer'))")
    COMMAND="$BIN --db $DB --user officer"
fi

# COLUMNS/LINES in the environment (a test runner may set them) would override the pane's size
unset COLUMNS LINES
tmux new-session -d -s "$SESSION" -x 140 -y 45 "env -u COLUMNS -u LINES $COMMAND; echo DONOR-LEDGER-EXITED-\$?; sleep 60"
wait_for "Dashboard" 120
wait_for "Totals" 120
keys 2
wait_for "pledge(s)"
keys n
wait_for "New pledge"
wait_for "Unearmarked"            # the allocation fields are in
type_text "TMUX-001"
wait_for "TMUX-001"               # the form has taken the text (it validates each keystroke)
sleep 1
keys Tab
sleep 1
type_text "NOR"
wait_for "NOR · Norway"           # the donor picker offers the donor
keys Enter                        # take it, on to "pledged on" (today)
keys Tab                          # currency: the donor's (NOK)
keys Tab                          # total
type_text "1500"
keys Tab                          # paragraph 1
type_text "1000"
keys Tab Tab Tab Tab Tab Tab Tab  # unearmarked
type_text "500"
wait_for "remainder 0"
keys C-s
wait_for "TMUX-001: journal entry"
keys Escape
keys q
wait_for "DONOR-LEDGER-EXITED-0" 30

"$PYTHON" - "$DB" <<'PY' || fail "the pledge is not in the ledger"
import sys
from decimal import Decimal
from ledger.database import Ledger
from ledger.queries import pledge_detail
detail = pledge_detail(Ledger(f"sqlite:///{sys.argv[1]}", user="officer"), "TMUX-001")
assert detail is not None, "no pledge TMUX-001"
assert detail.currency == "NOK", detail.currency
assert [(a.paragraph, a.amount) for a in detail.allocations] == [(1, Decimal("1000.00")), (None, Decimal("500.00"))]
print("tmux_demo: pledge TMUX-001 entered through the TUI:", detail.allocations)
PY
echo "tmux_demo: passed"
