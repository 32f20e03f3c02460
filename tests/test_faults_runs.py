"""Runs are never lost, never left RUNNING, never hang on a dead tracking server (issue 14,
items 7, 9, 10): real signals to real ``slrbench run`` processes, a real full tmpfs, a real
socket that never answers, two real processes racing for a new store."""
from __future__ import annotations

import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.faults import (assert_one_error, environment, fill, runs_in, slrbench, start, stop, tmpfs,
                          wait_for)

# A run that stays in training long enough to be signalled (SPOTER, 200 epochs, 1 thread).
LONG_RUN = ("run", "--model", "spoter", "--dataset", "signo", "--epochs", "200",
            "--threads", "1")


# --- item 9: where runs go ------------------------------------------------------------------
@pytest.mark.parametrize("uri", ["sqlite:///", "sqlite://", "sqlite:///:memory:"])
def test_a_store_without_a_file_is_refused(tmp_path, uri):
    result = slrbench("run", "--model", "pooled_logreg", "--dataset", "signo",
                      "--tracking-uri", uri, cwd=tmp_path)
    assert_one_error(result, uri)
    assert not (tmp_path / "mlartifacts").exists()     # no stray artifact folder either


@pytest.fixture
def silent_server():
    """A real TCP server that accepts connections and never answers a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted = []
    stopping = threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stopping.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stopping.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


def closed_port_uri() -> str:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()                              # nothing listens there any more
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("command, timeout", [
    (("runs",), None),                         # the default: one try of 10 s
    (("run", "--model", "pooled_logreg", "--dataset", "signo"), "2"),
    (("report", "--out", "{tmp}/report.html"), "2"),
    (("predict", "--run", "0123456789abcdef", "x.npy"), "2"),
])
def test_a_server_that_never_answers_fails_fast(tmp_path, silent_server, command, timeout):
    args = [part.format(tmp=tmp_path) for part in command]
    env = environment(**({"MLFLOW_HTTP_REQUEST_TIMEOUT": timeout} if timeout else {}))
    started = time.monotonic()
    result = slrbench(*args, "--tracking-uri", silent_server, cwd=tmp_path, timeout=150, env=env)
    seconds = time.monotonic() - started
    assert_one_error(result, silent_server)
    assert seconds < (20 if timeout is None else 10), f"took {seconds:.0f} s"


def test_a_server_that_is_down_is_one_line(tmp_path):
    uri = closed_port_uri()
    result = slrbench("run", "--model", "pooled_logreg", "--dataset", "signo",
                      "--tracking-uri", uri, cwd=tmp_path, timeout=120)
    assert_one_error(result, uri, "refused")
    assert "signo: 21 signs" not in result.stderr    # refused before the data was read


# --- item 10: two runs on a new store -------------------------------------------------------
@pytest.mark.slow
def test_two_runs_at_once_on_a_new_store_are_both_recorded(tmp_path):
    db = tmp_path / "mlruns.db"
    args = ("run", "--model", "pooled_logreg", "--dataset", "asl-signs",
            "--tracking-uri", f"sqlite:///{db}")
    processes = [start(*args, cwd=tmp_path) for _ in range(2)]
    try:
        outputs = [process.communicate(timeout=600) for process in processes]
    finally:
        for process in processes:
            stop(process)
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, err
    statuses = [run["status"] for run in runs_in(db)]
    assert statuses == ["FINISHED", "FINISHED"], statuses


# --- item 7: signals, stale runs, a full tracking disk --------------------------------------
def start_long_run(folder: Path) -> tuple:
    db = folder / "mlruns.db"
    process = start(*LONG_RUN, "--tracking-uri", f"sqlite:///{db}", cwd=folder)
    try:
        run = wait_for(lambda: next((r for r in runs_in(db) if r["status"] == "RUNNING"),
                                    None), 180, "the run to start")
    except AssertionError:
        stop(process)
        raise
    time.sleep(1.0)                            # inside the run, not at its first write
    return process, db, run["run_id"]


@pytest.mark.slow
def test_sigterm_marks_the_run_killed(tmp_path):
    process, db, run_id = start_long_run(tmp_path)
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=60)
    finally:
        stop(process)
    assert time.monotonic() - started < 30
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    [run] = runs_in(db)
    assert run["status"] == "KILLED"


@pytest.mark.slow
def test_a_killed_run_is_shown_stale_and_cleaned(tmp_path):
    process, db, run_id = start_long_run(tmp_path)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    [run] = runs_in(db)
    assert run["status"] == "RUNNING"          # SIGKILL cannot be caught: the store says RUNNING
    uri = f"sqlite:///{db}"
    listing = slrbench("runs", "--tracking-uri", uri)
    assert listing.returncode == 0, listing.stderr
    [line] = [line for line in listing.stdout.splitlines() if run_id in line]
    assert "stale" in line.lower() and "--clean-stale" in line
    cleaned = slrbench("runs", "--tracking-uri", uri, "--clean-stale")
    assert cleaned.returncode == 0, cleaned.stderr
    assert run_id in cleaned.stdout
    [run] = runs_in(db)
    assert run["status"] == "FAILED" and "gone" in run["tags"]["slrbench.error"]


@pytest.mark.slow
def test_a_running_run_of_a_live_process_is_not_cleaned(tmp_path):
    process, db, run_id = start_long_run(tmp_path)
    try:
        result = slrbench("runs", "--tracking-uri", f"sqlite:///{db}", "--clean-stale")
        assert result.returncode == 0, result.stderr
        [run] = runs_in(db)
        assert run["status"] == "RUNNING"
        [line] = [line for line in result.stdout.splitlines() if run_id in line]
        assert "running" in line.lower() and str(process.pid) in line
    finally:
        stop(process, signal.SIGTERM)


@pytest.mark.slow
def test_the_sweep_fails_runs_whose_process_is_gone(tmp_path):
    process, db, run_id = start_long_run(tmp_path)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    result = slrbench("sweep", "--models", "pooled_logreg", "--dataset", "signo",
                      "--seeds", "1", "--tracking-uri", f"sqlite:///{db}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert run_id in result.stderr
    states = {run["run_id"]: run["status"] for run in runs_in(db)}
    assert states.pop(run_id) == "FAILED"
    assert list(states.values()) == ["FINISHED"]


def artifact_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@pytest.mark.slow
def test_a_full_tracking_disk_fails_the_run_cleanly(tmp_path):
    """The model upload runs out of space half-way: one line, the run FAILED, and no
    truncated weights among its artifacts."""
    args = ("run", "--model", "spoter", "--dataset", "signo", "--epochs", "1", "--threads", "1")
    with tmpfs(tmp_path / "disk", size="256m") as disk:
        db = disk / "mlruns.db"
        uri = f"sqlite:///{db}"
        first = slrbench(*args, "--tracking-uri", uri, cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        [done] = runs_in(db)
        [artifacts] = list((disk / "mlartifacts").glob(f"*/{done['run_id']}/artifacts"))
        model = artifact_bytes(artifacts / "model")
        before_model = artifact_bytes(artifacts) - model
        # room for the store's writes and every artifact but half the model
        fill(disk, leave=before_model + 512 * 1024 + model // 2)
        second = slrbench(*args, "--tracking-uri", uri, cwd=tmp_path)
        assert_one_error(second, "space")
        failed = [r for r in runs_in(db) if r["run_id"] != done["run_id"]]
        assert [r["status"] for r in failed] == ["FAILED"], failed
        [folder] = list((disk / "mlartifacts").glob(f"*/{failed[0]['run_id']}/artifacts"))
        assert not (folder / "model").exists()          # no half-written model
        assert not [p for p in folder.parent.rglob("*") if p.name.startswith(".")]  # temporaries
