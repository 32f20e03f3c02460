"""Sweeps on the shipped sets: local pool vs a real Ray instance, skipping, failures, Ctrl-C.

pooled_logreg trains in about two seconds, so every grid here is real runs end to end.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from click.testing import CliRunner

from harness import registry
from harness.cli import EXIT_GRACE_SECONDS, main
from harness.util.config import config_to_dict
from harness.run.loading import load_clipset, make_request
from harness.errors import BadConfig
from harness.run.runner import RunConfig, config_fingerprint, model_config, run_experiment
from harness.sweep.plan import (SweepConfig, collect, model_plans, parse_seeds, parse_vocabs,
                           plan_grid, run_grid, summarise)
from harness.run.tracking import client, load_runs
from tests.faults import interruptible, slrbench
from tests.packages import installed

METRICS = ("test_top1", "test_top5", "test_mean_class_accuracy", "test_macro_f1",
           "val_top1")


def uri_in(folder: Path, name: str) -> str:
    return f"sqlite:///{folder / name}"


def metrics_by_seed(uri: str) -> dict[int, dict[str, float]]:
    runs = load_runs(uri)
    return {int(row["tags.slrbench.seed"]): {m: row[f"metrics.{m}"] for m in METRICS}
            for _, row in runs.iterrows()}


# --- the grid and its options, without running anything --------------------------------
def test_seed_and_vocabulary_lists():
    assert parse_seeds("3") == (0, 1, 2)
    assert parse_seeds("0,4,7") == (0, 4, 7)
    assert parse_seeds("5,") == (5,)
    assert parse_vocabs("100,200,500,1000") == (100, 200, 500, 1000)
    assert parse_vocabs(None) == (None,)
    for bad in ("0", "x", "1,a"):
        with pytest.raises(BadConfig, match="--seeds"):
            parse_seeds(bad)
    # a count past the seed range filled memory (MemoryError) before any run
    with pytest.raises(BadConfig, match="--seeds 4294967297: at most 10,000 seeds a sweep"):
        parse_seeds("4294967297")
    with pytest.raises(BadConfig, match="--vocab"):
        parse_vocabs("100,big")
    with pytest.raises(BadConfig, match="repeated"):
        SweepConfig(models=("pooled_logreg",), seeds=(1, 1))
    with pytest.raises(BadConfig, match="--backend ray"):
        SweepConfig(models=("pooled_logreg",), gpus_per_run=1)


def test_set_and_epochs_go_to_the_models_that_have_them():
    config = SweepConfig(models=("pooled_logreg", "keyframe_mlp"), epochs=4,
                         overrides={"C": "0.5", "keyframe_mlp.hidden1": "16",
                                    "pooled_logreg.max_iter": "50"})
    plans = model_plans(config)
    assert plans["pooled_logreg"].overrides == {"C": "0.5", "max_iter": "50"}
    assert plans["pooled_logreg"].epochs is None
    assert plans["keyframe_mlp"].overrides == {"hidden1": "16"}
    assert plans["keyframe_mlp"].epochs == 4
    # the hash the runner tags its runs with, computed the runner's way
    spec = registry.model("keyframe_mlp")
    expected = config_fingerprint("keyframe_mlp", config_to_dict(
        model_config(spec, {"hidden1": "16"}, 4)))
    assert plans["keyframe_mlp"].config_hash == expected
    for overrides, message in [({"depth": "3"}, "no swept model has this option"),
                               ({"lstm.units": "8"}, "not one of the swept models"),
                               ({"keyframe_mlp.stages": "9"}, "stages=9")]:
        with pytest.raises(BadConfig, match=message):
            model_plans(SweepConfig(models=("pooled_logreg", "keyframe_mlp"),
                                    overrides=overrides))
    with pytest.raises(BadConfig, match="trains by epochs"):
        model_plans(SweepConfig(models=("pooled_logreg",), epochs=3))


def test_plan_has_the_runners_split_hash_per_vocabulary(tmp_path):
    config = SweepConfig(models=("pooled_logreg",), datasets=("signo",), vocabs=(2, 5),
                         seeds=(0, 1), tracking_uri=uri_in(tmp_path, "plan.db"))
    plan = plan_grid(config)
    assert [(p.vocab, p.seed) for p in plan.points] == [(2, 0), (2, 1), (5, 0), (5, 1)]
    assert {p.status for p in plan.points} == {"pending"}
    assert plan.experiments == ["signo-2", "signo-5"]
    for vocab in (2, 5):
        _, manifest = load_clipset("signo", make_request(vocab=vocab))
        assert {p.split_hash for p in plan.points if p.vocab == vocab} == {manifest.sha256}
    with pytest.raises(BadConfig, match="larger than signo"):
        plan_grid(SweepConfig(models=("pooled_logreg",), datasets=("signo",), vocabs=(99,),
                              tracking_uri=uri_in(tmp_path, "plan.db")))


def test_summary_is_mean_and_sample_std_over_finished_seeds():
    runs = pd.DataFrame({
        "model": ["m"] * 4 + ["n"], "dataset": ["d"] * 5, "vocab": [5] * 5,
        "seed": [0, 1, 2, 3, 0], "status": ["finished", "skipped", "finished", "failed",
                                             "finished"],
        "run_id": list("abcde"), "error": [None, None, None, "boom", None],
        "test_top1": [0.5, 0.7, 0.9, float("nan"), 0.4], "test_top5": [1.0] * 5,
        "test_mean_class_accuracy": [0.5] * 5, "test_macro_f1": [0.5] * 5,
        "train_seconds": [1.0] * 5})
    summary = summarise(runs).set_index("model")
    assert summary.loc["m", "seeds"] == 3 and summary.loc["m", "planned"] == 4
    assert summary.loc["m", "test_top1_mean"] == pytest.approx(0.7)
    assert summary.loc["m", "test_top1_std"] == pytest.approx(0.2)   # ddof=1
    assert summary.loc["n", "test_top1_mean"] == pytest.approx(0.4)
    assert pd.isna(summary.loc["n", "test_top1_std"])                 # one seed: no spread


# --- real sweeps -----------------------------------------------------------------------------
@pytest.mark.slow
def test_local_and_ray_backends_give_the_same_runs(tmp_path, ray_instance):
    grid = dict(models=("pooled_logreg",), datasets=("asl-signs",), seeds=(0, 1),
                max_parallel=2)
    local_uri, ray_uri = uri_in(tmp_path, "local.db"), uri_in(tmp_path, "ray.db")
    local = run_grid(SweepConfig(**grid, tracking_uri=local_uri), progress=False)
    on_ray = run_grid(SweepConfig(**grid, backend="ray", tracking_uri=ray_uri),
                      progress=False)
    for result in (local, on_ray):
        assert result.complete and result.counts == {"finished": 2}
        assert result.runs["run_id"].notna().all()
    by_local, by_ray = metrics_by_seed(local_uri), metrics_by_seed(ray_uri)
    assert sorted(by_local) == sorted(by_ray) == [0, 1]
    for seed in (0, 1):
        assert by_local[seed] == pytest.approx(by_ray[seed], abs=1e-9)

    # the runs carry the runner's tags and the sweep's own; the summary is read from them
    runs = load_runs(ray_uri)
    spec = registry.model("pooled_logreg")
    assert set(runs["tags.slrbench.config_hash"]) == {config_fingerprint(
        "pooled_logreg", config_to_dict(model_config(spec, {}, None)))}
    assert runs["tags.slrbench.sweep"].nunique() == 1
    cell = on_ray.summary.iloc[0]
    top1 = [by_ray[s]["test_top1"] for s in (0, 1)]
    assert (cell["model"], cell["dataset"], cell["vocab"], cell["seeds"]) == (
        "pooled_logreg", "asl-signs", 2, 2)
    assert cell["test_top1_mean"] == pytest.approx(sum(top1) / 2)
    assert cell["test_top1_std"] == pytest.approx(pd.Series(top1).std())

    # the same grid again runs nothing; one more seed runs only that seed
    again = run_grid(SweepConfig(**grid, tracking_uri=local_uri), progress=False)
    assert again.counts == {"skipped": 2}
    assert set(again.runs["run_id"]) == set(local.runs["run_id"])
    more = run_grid(SweepConfig(**{**grid, "seeds": (0, 1, 2)}, backend="ray",
                                tracking_uri=ray_uri), progress=False)
    assert more.counts == {"skipped": 2, "finished": 1}
    assert len(load_runs(ray_uri)) == 3


# A user's model whose training always fails: its cells fail inside their runs.
FAILING_PLUGIN = '''
from dataclasses import dataclass
from harness.api import ModelSpec, hookimpl


@dataclass(frozen=True)
class Config:
    pass


class Diverges:
    def fit(self, train, val, ctx):
        raise FloatingPointError("the loss diverged to NaN in epoch 1")


@hookimpl
def slrbench_models():
    return [ModelSpec(name="diverging", inputs="landmarks", config=Config,
                      build=lambda config, info: Diverges(), load=lambda *a: Diverges(),
                      summary="third-party test plugin whose training fails")]
'''


@pytest.mark.slow
def test_failing_cell_is_recorded_and_only_it_is_retried(tmp_path):
    # the sweep runs as a user starts it, in its own process and its own Ray instance, so
    # that its workers see the package installed here
    uri = uri_in(tmp_path, "fail.db")
    args = ["sweep", "--models", "diverging,keyframe_mlp", "--dataset", "signo", "--vocab",
            "2", "--seeds", "2", "--epochs", "1", "--backend", "ray", "--tracking-uri", uri]
    with installed(tmp_path / "diverging", "slrbench-diverging", "0.0.1", "diverging",
                   "slrbench_diverging", FAILING_PLUGIN):
        first = slrbench(*args, cwd=tmp_path, timeout=600)
        assert first.returncode == 1, first.stdout + first.stderr
        output = first.stdout + first.stderr
        assert output.count("failed: diverging on signo-2 seed") == 2, output
        assert "diverged to NaN" in output and "retry only those" in output

        runs = load_runs(uri, finished_only=False)
        failed = runs[runs["status"] == "FAILED"]
        assert sorted(failed["tags.slrbench.model"]) == ["diverging", "diverging"]
        assert failed["tags.slrbench.error"].str.contains("diverged to NaN").all()
        finished = set(runs.loc[runs["status"] == "FINISHED", "run_id"])
        assert len(finished) == 2

        second = slrbench(*args, cwd=tmp_path, timeout=600)
    assert second.returncode == 1, second.stdout + second.stderr
    assert "2 failed, 2 skipped" in second.stdout + second.stderr
    runs = load_runs(uri, finished_only=False)
    assert (runs["status"] == "FAILED").sum() == 4           # the failing cell was retried
    assert set(runs.loc[runs["status"] == "FINISHED", "run_id"]) == finished  # not redone


def pool_workers(parent: int | None = None) -> list[int]:
    """Process ids of the spawned pool workers of ``parent`` (default: this process), from
    Linux /proc."""
    parent = os.getpid() if parent is None else parent
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and b"spawn_main" in cmdline:
            pids.append(int(stat.parent.name))
    return pids


def alive(pid: int) -> bool:
    """Running, not a zombie; a process that ends while we read /proc is not alive."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_a_killed_worker_is_retried_and_its_run_not_left_running(tmp_path):
    uri = uri_in(tmp_path, "crash.db")
    config = SweepConfig(models=("pooled_logreg",), datasets=("asl-signs",), seeds=(0,),
                         max_parallel=1, tracking_uri=uri)
    killed: list[int] = []

    def kill_the_worker_mid_run() -> None:
        # once the run exists in MLflow, SIGKILL its worker: no chance to mark it FAILED
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                running = load_runs(uri, finished_only=False)
            except Exception:  # noqa: BLE001 - the store may not exist yet
                running = pd.DataFrame()
            if len(running) and (running["status"] == "RUNNING").any():
                for pid in pool_workers():
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_the_worker_mid_run, daemon=True)
    killer.start()
    result = run_grid(config, progress=False)
    killer.join(timeout=5)
    assert killed, "no worker process was seen"
    assert result.complete and result.counts == {"finished": 1}
    runs = load_runs(uri, finished_only=False).set_index("status")
    assert sorted(runs.index) == ["FAILED", "FINISHED"]   # the dead worker's run, the retry
    assert "worker process died" in runs.loc["FAILED", "tags.slrbench.error"]


def _three_run_sweep(uri: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli", "sweep", "--models", "pooled_logreg",
            "--dataset", "asl-signs", "--seeds", "3", "--max-parallel", "1",
            "--tracking-uri", uri]


def _stop_after_first_run(command: list[str], cwd: Path,
                          stop: Callable[[subprocess.Popen], None]) -> tuple[int, str]:
    """Start the sweep in its own session, call ``stop`` on it right after its first run is
    reported finished (the sweep's own output is the clock: polling MLflow raced the sweep
    on a loaded machine), and return its exit code and output."""
    sweep = subprocess.Popen(command, cwd=cwd, start_new_session=True,
                             preexec_fn=interruptible,
                             env={**os.environ, "PYTHONUNBUFFERED": "1"},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    first_done = threading.Event()

    def read_output():
        for line in sweep.stdout:
            lines.append(line)
            if line.startswith("[1/3] finished"):
                first_done.set()

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()
    try:
        assert first_done.wait(timeout=240), "".join(lines)
        assert sweep.poll() is None, "the sweep ended before it could be interrupted"
        stop(sweep)
        sweep.wait(timeout=120)
        reader.join(timeout=30)
    finally:
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGKILL)
    return sweep.returncode, "".join(lines)


@pytest.mark.slow
def test_interrupted_sweep_resumes_without_redoing_finished_runs(tmp_path):
    uri = uri_in(tmp_path, "resume.db")
    client(uri, writes=True)   # the store's schema made before two processes open it
    command = _three_run_sweep(uri)
    stopped = []

    def ctrl_c(sweep: subprocess.Popen) -> None:      # reaches the whole process group
        stopped.append(time.monotonic())
        os.killpg(sweep.pid, signal.SIGINT)

    code, output = _stop_after_first_run(command, tmp_path, ctrl_c)
    # Between two runs, the next one handed to a worker still starting: the pool's manager
    # thread waited for it, and the exit for its whole grace period
    assert time.monotonic() - stopped[0] < EXIT_GRACE_SECONDS, output
    assert code == 130, output
    assert "run the same command again" in output
    assert "leaked semaphore" not in output, output     # the pool's, released at exit
    before = load_runs(uri)
    assert 1 <= len(before) < 3
    assert "RUNNING" not in set(load_runs(uri, finished_only=False)["status"])

    resumed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"{len(before)} skipped" in resumed.stdout
    after = load_runs(uri)
    assert sorted(after["tags.slrbench.seed"]) == ["0", "1", "2"]   # one run per seed
    assert set(before["run_id"]) <= set(after["run_id"])


@pytest.mark.slow
def test_sigterm_to_the_sweep_alone_stops_its_workers_and_their_runs(tmp_path):
    """``kill PID`` (or a scheduler ending the job) reaches the sweep's own process only, not
    its workers: the sweep must stop them, or they train on with their runs RUNNING."""
    uri = uri_in(tmp_path, "term.db")
    client(uri, writes=True)
    workers: list[int] = []

    def terminate(sweep: subprocess.Popen) -> None:
        workers.extend(pool_workers(sweep.pid))
        sweep.send_signal(signal.SIGTERM)          # the sweep's process, not its group

    code, output = _stop_after_first_run(_three_run_sweep(uri), tmp_path, terminate)
    assert code == 128 + signal.SIGTERM, output
    assert "run the same command again" in output
    assert workers, "no worker process was seen"
    assert not [pid for pid in workers if alive(pid)], output   # gone with the sweep
    runs = load_runs(uri, finished_only=False)
    assert "RUNNING" not in set(runs["status"]), runs[["status"]]
    assert 1 <= (runs["status"] == "FINISHED").sum() < 3



@pytest.mark.slow
def test_a_closed_terminal_stops_the_sweep_and_its_runs_cleanly(tmp_path):
    """SIGHUP reaches every process of the terminal's group. It used to kill the sweep and
    its workers outright (runs left RUNNING) and multiprocessing's resource tracker, which
    ignores Ctrl-C but not SIGHUP (its successor's tracebacks filled the output)."""
    uri = uri_in(tmp_path, "hangup.db")
    client(uri, writes=True)
    code, output = _stop_after_first_run(_three_run_sweep(uri), tmp_path,
                                         lambda sweep: os.killpg(sweep.pid, signal.SIGHUP))
    assert code == 128 + signal.SIGHUP, output
    assert "Traceback" not in output and "resource_tracker" not in output, output
    assert "run the same command again" in output
    runs = load_runs(uri, finished_only=False)
    assert "RUNNING" not in set(runs["status"]), runs[["status"]]
    assert 1 <= (runs["status"] == "FINISHED").sum() < 3


@pytest.mark.slow
def test_sigterm_to_a_ray_sweep_marks_its_run_killed(tmp_path):
    """ray.init installs its own SIGTERM handler in the sweep's process; with it, SIGTERM
    ended the sweep at once (exit 1, a native stack dump) and left the run RUNNING."""
    from tests.faults import environment, runs_in, wait_for
    db = tmp_path / "ray.db"
    sweep = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "sweep", "--backend", "ray", "--models",
         "spoter", "--dataset", "asl-signs", "--epochs", "500", "--set", "patience=500",
         "--seeds", "1", "--max-parallel", "1", "--tracking-uri", f"sqlite:///{db}"],
        cwd=tmp_path, start_new_session=True, env=environment(), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: [r for r in runs_in(db) if r["status"] == "RUNNING"], 240,
                 "the run to start")
        time.sleep(1.0)
        sweep.send_signal(signal.SIGTERM)              # the sweep's process, not its group
        output, _ = sweep.communicate(timeout=120)
    finally:
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGKILL)
            sweep.wait(timeout=60)
    assert sweep.returncode == 128 + signal.SIGTERM, output
    assert "SIGTERM received" not in output and "Traceback" not in output, output
    assert "marked KILLED" in output, output
    assert [run["status"] for run in runs_in(db)] == ["KILLED"]

def test_dry_run_shows_the_plan_and_runs_nothing(tmp_path):
    uri = uri_in(tmp_path, "dry.db")
    result = CliRunner().invoke(main, ["sweep", "--models", "pooled_logreg", "--dataset",
                                       "asl-signs,signo", "--seeds", "0,1", "--dry-run",
                                       "--tracking-uri", uri], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "4 to run" in result.output and "signo" in result.output
    assert list(tmp_path.iterdir()) == []          # no store made just to look
    assert load_runs(uri).empty
    plan = plan_grid(SweepConfig(models=("pooled_logreg",), datasets=("asl-signs",),
                                 seeds=(0,), tracking_uri=uri))
    assert collect(plan).counts == {"pending": 1}
    # with a finished run in the store: it is counted as skipped, and the experiment of
    # the dataset not run yet is still not made
    run_experiment(RunConfig(model="pooled_logreg", dataset="asl-signs", tracking_uri=uri))
    result = CliRunner().invoke(main, ["sweep", "--models", "pooled_logreg", "--dataset",
                                       "asl-signs,signo", "--seeds", "0,1", "--dry-run",
                                       "--tracking-uri", uri], catch_exceptions=False)
    assert "3 to run, 1 already in MLflow" in result.output, result.output
    experiments = {e.name for e in client(uri)[0].search_experiments()}
    assert "signo-21" not in experiments and "asl-signs-2" in experiments
