"""Runs are never lost, never left RUNNING, never hang on a dead tracking server (issue 14,
items 7, 9, 10): real signals to real ``slrbench run`` processes, a real full tmpfs, a real
socket that never answers, two real processes racing for a new store."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from harness.run.tracking import client
from tests.faults import (NO_DAC, assert_cli_error, assert_one_error, cli, fill, runs_in,
                          slrbench, start, stop, tmpfs, wait_for)

# A run that stays in training for minutes, long enough to be signalled (SPOTER, 1 thread).
LONG_RUN = ("run", "--model", "spoter", "--dataset", "asl-signs", "--epochs", "500",
            "--set", "patience=500", "--threads", "1")


# --- item 9: where runs go ------------------------------------------------------------------
@pytest.mark.parametrize("uri", ["sqlite:///", "sqlite://", "sqlite:///:memory:"])
def test_a_store_without_a_file_is_refused(tmp_path, monkeypatch, uri):
    monkeypatch.chdir(tmp_path)
    result = cli("run", "--model", "pooled_logreg", "--dataset", "asl-signs",
                 "--tracking-uri", uri)
    assert_cli_error(result, uri)
    assert list(tmp_path.iterdir()) == []        # no stray artifact folder either


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


@pytest.mark.slow
def test_a_server_that_never_answers_fails_fast(tmp_path, silent_server):
    started = time.monotonic()
    result = slrbench("runs", "--tracking-uri", silent_server, cwd=tmp_path, timeout=150)
    seconds = time.monotonic() - started
    assert_one_error(result, silent_server)
    assert seconds < 20, f"took {seconds:.0f} s"         # one try of 10 s, not minutes


@pytest.mark.parametrize("command", [
    ("run", "--model", "pooled_logreg", "--dataset", "asl-signs"),
    ("report", "--out", "{tmp}/report.html"),
    ("predict", "--run", "0123456789abcdef", "x.npy"),
])
def test_every_command_fails_fast_on_a_silent_server(tmp_path, silent_server, monkeypatch,
                                                      command):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")   # the user's shorter timeout wins
    started = time.monotonic()
    result = cli(*[part.format(tmp=tmp_path) for part in command],
                 "--tracking-uri", silent_server)
    assert_cli_error(result, silent_server)
    assert time.monotonic() - started < 10
    assert "2 signs" not in result.output           # refused before the data was read


def test_a_server_that_is_down_is_one_line():
    uri = closed_port_uri()
    assert_cli_error(cli("run", "--model", "pooled_logreg", "--dataset", "asl-signs",
                         "--tracking-uri", uri), uri, "refused")


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
    # the umask's permissions, as a store MLflow makes itself (it was mkstemp's 0600)
    umask = os.umask(0)
    os.umask(umask)
    assert db.stat().st_mode & 0o777 == 0o666 & ~umask


# --- item 7: signals, stale runs, a full tracking disk --------------------------------------
def running(db: Path, count: int) -> list[dict]:
    found = [run for run in runs_in(db) if run["status"] == "RUNNING"]
    return found if len(found) >= count else []


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_or_a_closed_terminal_marks_the_run_killed(tmp_path, signum):
    db = tmp_path / "mlruns.db"
    process = start(*LONG_RUN, "--tracking-uri", f"sqlite:///{db}", cwd=tmp_path)
    try:
        wait_for(lambda: running(db, 1), 180, "the run to start")
        time.sleep(1.0)                        # inside the run, not at its first write
        started = time.monotonic()
        process.send_signal(signum)
        _, err = process.communicate(timeout=60)
    finally:
        stop(process)
    assert time.monotonic() - started < 30
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err and "KILLED" in err
    assert f"stopped by {signal.Signals(signum).name}" in err
    [run] = runs_in(db)
    assert run["status"] == "KILLED"


@pytest.mark.slow
def test_stale_runs_are_shown_and_failed_but_live_ones_are_left(tmp_path):
    """Two runs killed with SIGKILL (which cannot be caught): while their processes live,
    nothing touches them; once gone, `runs` shows them stale, `runs --clean-stale` and the
    sweep mark them FAILED."""
    db = tmp_path / "mlruns.db"
    uri = f"sqlite:///{db}"
    elsewhere = start(*LONG_RUN, "--experiment", "elsewhere", "--tracking-uri", uri,
                      cwd=tmp_path)
    swept = start(*LONG_RUN, "--tracking-uri", uri, cwd=tmp_path)
    try:
        both = wait_for(lambda: running(db, 2), 240, "both runs to start")
        ids = {int(run["tags"]["slrbench.pid"]): run["run_id"] for run in both}
        assert set(ids) == {elsewhere.pid, swept.pid}
        alive = cli("runs", "--tracking-uri", uri, "--clean-stale")
        assert alive.exit_code == 0, alive.output
        for pid, run_id in ids.items():
            [line] = [line for line in alive.output.splitlines() if run_id in line]
            assert "RUNNING" in line and f"pid {pid}" in line
        assert {run["status"] for run in runs_in(db)} == {"RUNNING"}
    finally:
        for process in (elsewhere, swept):
            stop(process, signal.SIGKILL)
    stale = cli("runs", "--tracking-uri", uri)
    for run_id in ids.values():
        [line] = [line for line in stale.output.splitlines() if run_id in line]
        assert "STALE" in line and "--clean-stale" in line
    cleaned = cli("runs", "--tracking-uri", uri, "--clean-stale", "--experiment", "elsewhere")
    assert cleaned.exit_code == 0 and ids[elsewhere.pid] in cleaned.output
    states = {run["run_id"]: run for run in runs_in(db)}
    assert states[ids[elsewhere.pid]]["status"] == "FAILED"
    assert "gone" in states[ids[elsewhere.pid]]["tags"]["slrbench.error"]
    assert states[ids[swept.pid]]["status"] == "RUNNING"    # another experiment: left alone
    sweep = slrbench("sweep", "--models", "pooled_logreg", "--dataset", "asl-signs",
                     "--seeds", "1", "--tracking-uri", uri, cwd=tmp_path)
    assert sweep.returncode == 0, sweep.stderr
    assert ids[swept.pid] in sweep.stderr
    assert sorted(run["status"] for run in runs_in(db)) == ["FAILED", "FAILED", "FINISHED"]


def artifact_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@pytest.mark.slow
def test_a_full_tracking_disk_fails_the_run_cleanly(tmp_path):
    """The model upload runs out of space half-way: one line, the run FAILED, and no
    truncated weights among its artifacts."""
    # the key-frame MLP's model (MBs) dwarfs what the store itself writes for a run
    args = ("run", "--model", "keyframe_mlp", "--dataset", "asl-signs", "--epochs", "2",
            "--threads", "1")
    with tmpfs(tmp_path / "disk", size="64m") as disk:
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


@pytest.mark.slow
def test_ctrl_c_while_a_new_store_is_made_leaves_no_half_made_store(tmp_path):
    # MLflow makes and migrates a new store's tables over seconds; interrupted there, the
    # file it had begun was refused by every later command ("table ... already exists")
    db = tmp_path / "mlruns.db"
    process = start("run", "--model", "pooled_logreg", "--dataset", "asl-signs",
                    "--tracking-uri", f"sqlite:///{db}", cwd=tmp_path)
    try:
        wait_for(lambda: [p for p in tmp_path.iterdir() if p.name.startswith(db.name)
                          or p.name.startswith(f".{db.name}")], 120, "the store to be begun")
        time.sleep(0.2)                        # inside MLflow's migrations
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        stop(process)
    assert "Traceback" not in err, err
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left in ([], [db.name]), left             # no temporary file either
    again = slrbench("runs", "--tracking-uri", f"sqlite:///{db}", cwd=tmp_path)
    assert again.returncode == 0, again.stderr


@pytest.mark.slow
def test_a_read_only_store_is_one_line_for_a_run_and_still_read(tmp_path):
    if shutil.which(NO_DAC[0]) is None or os.geteuid() != 0:
        pytest.skip("needs setpriv, as root, to drop the permission override")
    db = tmp_path / "mlruns.db"
    client(f"sqlite:///{db}", writes=True)
    db.chmod(0o444)
    tmp_path.chmod(0o777)                      # the folder stays writable: only the file is not
    result = slrbench("run", "--model", "pooled_logreg", "--dataset", "asl-signs",
                      "--tracking-uri", f"sqlite:///{db}", cwd=tmp_path, prefix=NO_DAC)
    assert_one_error(result, str(db), "cannot be written")
    listed = slrbench("runs", "--tracking-uri", f"sqlite:///{db}", cwd=tmp_path, prefix=NO_DAC)
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr


def test_a_uri_no_store_answers_to_is_refused_before_the_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("run", "--model", "pooled_logreg", "--dataset", "signo",
                 "--tracking-uri", "warehouse://runs")
    assert_cli_error(result, "warehouse://", "sqlite:///mlruns.db")
    assert "signo:" not in result.output, result.output          # no data was read
    assert list(tmp_path.iterdir()) == []


# --- a model out of memory ------------------------------------------------------------------
def test_a_model_out_of_memory_is_one_line_and_a_failed_run(tmp_path):
    # 10**15 feed-forward units ask for 4e17 bytes in one layer, past any machine's address
    # space: the allocation fails at once, before a page is touched or anything swaps
    db = tmp_path / "mlruns.db"
    result = cli("run", "--model", "spoter", "--dataset", "signo", "--device", "cpu",
                 "--set", "feedforward=1000000000000000", "--set", "epochs=1",
                 "--tracking-uri", f"sqlite:///{db}")
    line = assert_cli_error(result, "model 'spoter' ran out of memory on cpu",
                            "with --set feedforward=1000000000000000 --set epochs=1")
    assert "PiB at once" in line, line
    [run] = runs_in(db)
    assert run["status"] == "FAILED", run
    assert run["tags"]["slrbench.error"] == f"OutOfMemory: {line.removeprefix('error: ')}"


def test_what_counts_as_out_of_memory():
    import torch

    from harness.errors import OutOfMemory
    from harness.run.out_of_memory import OutOfMemoryAsOneLine, is_out_of_memory
    wrapped = RuntimeError("stage 2 failed")
    wrapped.__cause__ = MemoryError()                 # a plugin's own error, raised from it
    for error in (MemoryError(), torch.OutOfMemoryError("CUDA out of memory."), wrapped,
                  RuntimeError("DefaultCPUAllocator: not enough memory: you tried to "
                               "allocate 80000000000 bytes")):
        assert is_out_of_memory(error), error
    for error in (RuntimeError("mat1 and mat2 shapes cannot be multiplied"),
                  ValueError("out of memory"), KeyError("memory")):
        assert not is_out_of_memory(error), error
    with pytest.raises(OutOfMemory, match=r"^model 'm' ran out of memory on cpu with its "
                                          r"default options \(no --set given\)"):
        with OutOfMemoryAsOneLine("m", "cpu", {}):
            raise MemoryError()
    with pytest.raises(ValueError):                   # any other error keeps its traceback
        with OutOfMemoryAsOneLine("m", "cpu", {}):
            raise ValueError("not memory")
