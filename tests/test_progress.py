"""Progress bars go to stderr, whose terminal decides whether they show: stdout carries
results and may be piped into another program."""
from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
from harness.util.progress import bar
with bar(3, "extracting", unit="frames") as progress:
    for _ in range(3):
        progress.advance(1)
print("result")
"""


def test_a_shown_bar_draws_on_stderr_and_leaves_stdout_to_results():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "SLRBENCH_PROGRESS": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "result\n"
    assert "extracting" in done.stderr and "3/3" in done.stderr


def test_a_bar_is_silent_when_asked():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "SLRBENCH_PROGRESS": "0"})
    assert (done.stdout, done.stderr) == ("result\n", "")
