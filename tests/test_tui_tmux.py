"""The scripted tmux session (tests/tmux_demo.sh): the installed command, a pledge entered, quit."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("tmux_demo.sh")


@pytest.mark.slow
def test_tmux_session_enters_a_pledge():
    if shutil.which("tmux") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tmux is required in CI for the scripted TUI session")
        pytest.skip("tmux is not installed")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}  # the pane sets the size
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tmux_demo: passed" in done.stdout
