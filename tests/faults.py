"""What the fault tests share: the real ``slrbench`` command in a subprocess, a real tmpfs
(full or read-only), and reading run states straight from a sqlite MLflow store."""
from __future__ import annotations

import contextlib
import os
import re
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


def interruptible() -> None:
    """In the child: Ctrl-C and SIGHUP back to their defaults. A suite started in the
    background of a non-interactive shell runs with SIGINT ignored (under nohup, SIGHUP),
    and exec keeps that, so the command would never see the signal this test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


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
                            stderr=subprocess.PIPE, text=True, env=env or environment(),
                            preexec_fn=interruptible)


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
    """Every run of a sqlite store, oldest first: run_id, status, tags and params (read
    without MLflow)."""
    if not db.exists():
        return []
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as c:
        try:
            runs = c.execute("select run_uuid, status from runs order by start_time").fetchall()
            tags = c.execute("select run_uuid, key, value from tags").fetchall()
            params = c.execute("select run_uuid, key, value from params").fetchall()
        except sqlite3.OperationalError:      # the schema is still being created
            return []
    rows = {run: {"run_id": run, "status": status, "tags": {}, "params": {}}
            for run, status in runs}
    for kind, items in (("tags", tags), ("params", params)):
        for run, key, value in items:
            if run in rows:
                rows[run][kind][key] = value
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


def run_id_of(output: str) -> str:
    """The run id ``slrbench run`` printed."""
    return re.search(r"^run ([0-9a-f]{32}) in experiment", output, re.MULTILINE).group(1)


def cli(*args: object):
    """The CLI in this process (click's runner): for the cases that need no signal, no
    second process and no MediaPipe pool; stdout and stderr together in ``.output``."""
    from click.testing import CliRunner

    from harness.cli import main
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def assert_cli_error(result, *needles: str, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.lower().startswith("error")]
    assert len(lines) == 1, result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


_SHARED: dict[str, tuple[str, str, Path]] = {}


@pytest.fixture(scope="session")
def baseline_run(tmp_path_factory) -> tuple[str, str, Path]:
    """One real pooled_logreg run on asl-signs: (tracking URI, run id, its model folder),
    made once for every module that imports this fixture. A test that damages the model
    puts it back."""
    if "baseline" not in _SHARED:
        _SHARED["baseline"] = _baseline_run(tmp_path_factory.mktemp("baseline-run"))
    return _SHARED["baseline"]


def _baseline_run(folder: Path) -> tuple[str, str, Path]:
    uri = f"sqlite:///{folder / 'mlruns.db'}"
    result = cli("run", "--model", "pooled_logreg", "--dataset", "asl-signs",
                 "--tracking-uri", uri)
    assert result.exit_code == 0, result.output
    run_id = run_id_of(result.output)
    [model] = list((folder / "mlartifacts").glob(f"*/{run_id}/artifacts/model"))
    return uri, run_id, model


ESCAPES = ("dotdot", "absolute", "symlink")


def point_outside(index_file: Path, column: str, row: int, outside: Path, how: str) -> None:
    """Make ``row`` of an index name ``outside``, a file in the folder above the index's:
    through ``..``, as an absolute path, or through a symlink inside the folder."""
    import pandas as pd
    index = pd.read_csv(index_file)
    if how == "dotdot":
        index.loc[row, column] = f"../{outside.name}"
    elif how == "absolute":
        index.loc[row, column] = str(outside)
    else:
        (index_file.parent / f"link{outside.suffix}").symlink_to(outside)
        index.loc[row, column] = f"link{outside.suffix}"
    index.to_csv(index_file, index=False)
