"""What the fault tests share: the real ``slrbench`` command in a subprocess, a real tmpfs
(full or read-only), and reading run states straight from a sqlite MLflow store."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

SLRBENCH = str(Path(sys.executable).with_name("slrbench"))
# Without these two capabilities root is held to permission bits like any other user,
# which is how a real "permission denied" is produced in a container where tests run as root.
NO_DAC = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
          "--bounding-set=-dac_override,-dac_read_search"]


def environment(**extra: str) -> dict[str, str]:
    env = {**os.environ, "SLRBENCH_PROGRESS": "0", **extra}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def slrbench(*args: object, cwd: Path | None = None, timeout: float = 300,
             env: dict[str, str] | None = None, prefix: list[str] | None = None
             ) -> subprocess.CompletedProcess:
    """Run the installed console script as a user would; stdout and stderr kept apart."""
    return subprocess.run([*(prefix or []), SLRBENCH, *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env=env or environment())


def start(*args: object, cwd: Path | None = None, env: dict[str, str] | None = None
          ) -> subprocess.Popen:
    return subprocess.Popen([SLRBENCH, *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env or environment())


def assert_one_error(result, *needles: str, code: int = 2) -> str:
    """Exit ``code``, no traceback, and exactly one ``error:`` line holding every needle."""
    text = (result.stderr or "") + (result.stdout or "")
    assert result.returncode == code, text
    assert "Traceback" not in text, text
    lines = [line for line in (result.stderr or "").splitlines()
             if line.lower().startswith("error")]
    assert len(lines) == 1, text
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def runs_in(db: Path) -> list[dict]:
    """Every run of a sqlite store: run_id, status and its tags (read without MLflow)."""
    if not db.exists():
        return []
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as c:
        try:
            runs = c.execute("select run_uuid, status from runs").fetchall()
            tags = c.execute("select run_uuid, key, value from tags").fetchall()
        except sqlite3.OperationalError:      # the schema is still being created
            return []
    rows = {run: {"run_id": run, "status": status, "tags": {}} for run, status in runs}
    for run, key, value in tags:
        if run in rows:
            rows[run]["tags"][key] = value
    return list(rows.values())


def stop(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Leave no process behind, whatever the test did."""
    if process.poll() is None:
        process.send_signal(sig)
        process.wait(timeout=60)


@contextlib.contextmanager
def tmpfs(folder: Path, size: str = "4m", read_only: bool = False) -> Iterator[Path]:
    """A real tmpfs mounted at ``folder`` (root only; the test is skipped otherwise)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the file system of ``folder`` up to ``leave`` bytes with a real file."""
    filler = folder / "filler"
    free = shutil.disk_usage(folder).free - leave
    with open(filler, "ab") as handle:
        block = b"\0" * (1 << 16)
        while free > 0:
            try:
                handle.write(block[:min(len(block), free)])
                handle.flush()
            except OSError:
                break
            free -= len(block)
    return filler
