"""Edge cases of sweeps and of the store they share with `slrbench runs`: values no option
can take, a sweep file as an editor saved it, another tool's runs, MLflow's Default and
deleted experiments, a plugin that calls sys.exit, a Ray head that is not there. A refusal
is one line, exit 2, and starts no run."""
from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
from dataclasses import dataclass

import pytest
import torch

from harness import registry
from harness.api import ModelSpec, hookimpl
from harness.errors import BadConfig, TrackingError
from harness.run import run_file
from harness.run.runner import RunConfig
from harness.run.tracking import client, ensure_experiment, load_runs
from harness.run.resources import usable_cpus
from harness.sweep.backends import THREAD_VARIABLES, Job, execute_job
from harness.sweep.plan import SweepConfig, make_backend, parse_vocabs, plan_grid
from tests.faults import assert_cli_error, cli


@pytest.mark.parametrize("option, value", [("cpus_per_run", math.inf),
                                           ("cpus_per_run", math.nan),
                                           ("cpus_per_run", 1e12),
                                           ("gpus_per_run", math.nan),
                                           ("gpus_per_run", math.inf)])
def test_a_cpu_or_gpu_count_no_run_can_take_is_refused(option, value):
    # inf and nan were int() tracebacks once runs were due; 1e12 killed every worker
    flag = "--" + option.replace("_", "-")
    with pytest.raises(BadConfig, match=flag):
        SweepConfig(models=("pooled_logreg",), datasets=("signo",),
                    backend="ray" if option == "gpus_per_run" else "local", **{option: value})


def test_a_sweep_files_nan_cpus_are_named_by_file_and_key(tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text('models = "pooled_logreg"\ndataset = "signo"\ncpus-per-run = nan\n')
    result = cli("sweep", "--config", grid, "--dry-run", "--tracking-uri",
                 f"sqlite:///{tmp_path / 'mlruns.db'}")
    assert_cli_error(result, f"{grid}: key 'cpus-per-run'", "finite")


def test_a_sweep_files_vocab_too_large_is_named_by_file_and_key_when_it_runs(tmp_path):
    # the dry run named them; the sweep itself said only "--vocab 99 is larger ..."
    grid = tmp_path / "grid.toml"
    grid.write_text('models = "pooled_logreg"\ndataset = "signo"\nvocab = 99\nseeds = [0]\n')
    result = cli("sweep", "--config", grid, "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}")
    assert_cli_error(result, f"{grid}: key 'vocab'", "--vocab 99")


def test_another_tools_runs_are_not_slrbench_runs(tracking_uri):
    mlflow_client, _ = client(tracking_uri, writes=True)
    foreign = mlflow_client.create_experiment("foreign")
    run = mlflow_client.create_run(foreign)
    mlflow_client.log_metric(run.info.run_id, "accuracy", 0.5)
    mlflow_client.set_terminated(run.info.run_id, "FINISHED")
    assert load_runs(tracking_uri, ["foreign"]).empty
    listed = cli("runs", "--tracking-uri", tracking_uri, "--experiment", "foreign")
    assert listed.exit_code == 0 and "no runs yet" in listed.output, listed.output


def test_an_experiment_deleted_in_mlflow_is_refused_before_any_run(tracking_uri):
    mlflow_client, _ = client(tracking_uri, writes=True)
    mlflow_client.delete_experiment(ensure_experiment(mlflow_client, "signo-21", tracking_uri))
    with pytest.raises(TrackingError, match="mlflow experiments restore --experiment-id 1"):
        ensure_experiment(mlflow_client, "signo-21", tracking_uri)
    planned = cli("sweep", "--models", "pooled_logreg", "--dataset", "signo", "--seeds", "1",
                  "--tracking-uri", tracking_uri, "--dry-run")
    assert_cli_error(planned, "'signo-21'", "is deleted", "mlflow gc --experiment-ids 1")
    assert load_runs(tracking_uri).empty


def test_a_vocabulary_list_without_a_size_is_refused():
    # "--vocab ," (say, two empty shell variables) swept the whole vocabulary unasked
    for text in (",", " , ,"):
        with pytest.raises(BadConfig, match="--vocab"):
            parse_vocabs(text)
    assert parse_vocabs(" ") == (None,) and parse_vocabs("5,") == (5,)


def test_a_sweep_file_with_a_byte_order_mark_is_read(tmp_path):
    # as editors on Windows save it: it was "not valid TOML (... line 1, column 1)"
    grid = tmp_path / "grid.toml"
    grid.write_bytes('models = "pooled_logreg"\nseeds = [3]\n'.encode("utf-8-sig"))
    assert run_file.read(grid, "sweep") == {"models": "pooled_logreg", "seeds": "3,"}


def test_runs_in_mlflows_default_experiment_are_listed_and_cleaned(tracking_uri):
    """`run --experiment Default` records there; `runs` said "no runs yet", and a stale run
    there was never marked FAILED."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    mlflow_client, _ = client(tracking_uri, writes=True)
    finished = mlflow_client.create_run("0", tags={"slrbench.model": "pooled_logreg"})
    for name, value in (("dataset", "signo"), ("vocab_size", "21"), ("seed", "0")):
        mlflow_client.log_param(finished.info.run_id, name, value)
    mlflow_client.set_terminated(finished.info.run_id, "FINISHED")
    stale = mlflow_client.create_run("0", tags={
        "slrbench.model": "pooled_logreg", "slrbench.pid": str(gone.pid),
        "slrbench.host": socket.gethostname()})
    listed = cli("runs", "--tracking-uri", tracking_uri, "--clean-stale")
    assert listed.exit_code == 0, listed.output
    assert finished.info.run_id in listed.output
    assert f"{stale.info.run_id}  marked FAILED" in listed.output
    assert mlflow_client.get_run(stale.info.run_id).info.status == "FAILED"


@dataclass(frozen=True)
class ExitingConfig:
    pass


class Exits:
    """A plugin whose fit calls sys.exit, as argparse does on the worker's own argv."""

    def __init__(self, *args):
        pass

    def fit(self, train, val, ctx):
        sys.exit("usage: train.py [-h] --lr LR")


class ExitingPlugin:
    @hookimpl
    def slrbench_models(self):
        return [ModelSpec(name="exiting", inputs="landmarks", config=ExitingConfig,
                          build=Exits, load=Exits, summary="calls sys.exit in fit")]


@pytest.fixture
def exiting_plugin(monkeypatch):
    registry.plugin_manager().register(ExitingPlugin(), name="exiting-plugin")
    threads = torch.get_num_threads()
    for name in THREAD_VARIABLES:   # the worker's thread limit, undone for later tests
        monkeypatch.setenv(name, os.environ.get(name, ""))
    monkeypatch.setenv("SLRBENCH_PROGRESS", "0")
    yield
    torch.set_num_threads(threads)
    registry.plugin_manager().unregister(name="exiting-plugin")


def test_a_plugin_calling_sys_exit_fails_its_run_not_the_sweep(exiting_plugin, tracking_uri):
    # SystemExit went past the worker's `except Exception` and ended the whole sweep
    job = Job(index=0, token="t", config=RunConfig(model="exiting", dataset="signo",
                                                  tracking_uri=tracking_uri, latency_clips=0))
    outcome = execute_job(job)
    assert outcome.status == "failed" and "SystemExit: usage: train.py" in outcome.error
    [run] = client(tracking_uri)[0].search_runs(["1"])
    assert run.info.status == "FAILED"


def test_a_ray_address_nothing_answers_at_is_one_line_at_once():
    # Ray retried such a head for minutes (a log line every 5 s) and never gave up
    from harness.util.ray import connect_ray
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]     # closed again: nothing listens there
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        with pytest.raises(BadConfig, match=f"cannot reach Ray at {address}: Connection "
                                            "refused"):
            connect_ray(address, None, verbose=False)


def test_a_model_the_data_cannot_feed_is_named(tracking_uri):
    # it was "the sweep's video models needs videos", naming no model
    with pytest.raises(BadConfig, match="^model 'r2plus1d' needs videos but dataset 'signo'"):
        plan_grid(SweepConfig(models=("pooled_logreg", "r2plus1d"), datasets=("signo",),
                              tracking_uri=tracking_uri), record=False)


def test_local_runs_at_once_are_the_cores_over_cpus_per_run():
    # as --max-parallel's help says, and as Ray counts them: half a CPU a run ran as many
    # runs at once as one CPU did
    cores = usable_cpus()
    for cpus, runs in ((0.5, 2 * cores), (1.0, cores), (float(cores), 1)):
        backend = make_backend(SweepConfig(models=("pooled_logreg",), cpus_per_run=cpus), 100)
        assert (backend.workers, backend.threads) == (runs, max(1, int(cpus))), cpus


def test_more_local_runs_at_once_than_the_cpus_have_room_for_are_refused():
    # --max-parallel 1000 started 1000 processes
    room = usable_cpus()
    SweepConfig(models=("pooled_logreg",), max_parallel=room)
    with pytest.raises(BadConfig, match=f"--max-parallel {room + 1}: the local backend has room"):
        SweepConfig(models=("pooled_logreg",), max_parallel=room + 1)
    SweepConfig(models=("pooled_logreg",), max_parallel=2 * room, cpus_per_run=0.5)
    SweepConfig(models=("pooled_logreg",), max_parallel=1000, backend="ray")
