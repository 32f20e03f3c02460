"""A real MLflow tracking server on 127.0.0.1: a Ray sweep logs to it, every run, metric and
model comes back through it, report and predict read it, and a server that stops mid-sweep
costs one clear line per affected run and a rerun that completes the rest."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
MODEL = "pooled_logreg"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`mlflow server` with its own sqlite backend and artifact root, in its own session."""

    def __init__(self, root: Path, port: int):
        self.root, self.port = root, port
        self.uri = f"http://127.0.0.1:{port}"
        self.process = None

    def start(self) -> "Server":
        log = open(self.root / "server.log", "ab")
        self.process = subprocess.Popen(
            [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(self.port),
             "--backend-store-uri", f"sqlite:///{self.root / 'server.db'}",
             "--artifacts-destination", str(self.root / "artifacts"), "--workers", "1"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"})
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{self.uri}/health", timeout=2)
                return self
            except OSError:
                assert self.process.poll() is None, (self.root / "server.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "mlflow server did not start"
                time.sleep(0.5)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:  # its workers drain slowly; nothing to keep
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.process = None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the module (each start costs seconds); each test logs to its own
    experiment, so neither sees the other's runs."""
    running = Server(tmp_path_factory.mktemp("server"), free_port()).start()
    yield running
    running.stop()


def slrbench(*args, timeout=900) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "slrbench"), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout,
                          env={**os.environ, "SLRBENCH_PROGRESS": "0",
                               "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"})


def sweep_args(uri: str, seeds: str, backend: str = "ray") -> list[str]:
    return ["sweep", "--backend", backend, "--models", MODEL, "--dataset", "asl-signs",
            "--seeds", seeds, "--max-parallel", "1", "--cpus-per-run", "1",
            "--tracking-uri", uri]


def runs_of(uri: str, seeds: str):
    """The runs of these seeds: the module's tests share one server, each its own seeds."""
    from mlflow import MlflowClient
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("asl-signs-2")
    runs = [] if experiment is None else client.search_runs([experiment.experiment_id])
    return [run for run in runs if run.data.params.get("seed") in seeds.split(",")]


def test_a_ray_sweep_against_a_tracking_server(server, tmp_path, shared):
    done = slrbench(*sweep_args(server.uri, "0,1"))
    assert done.returncode == 0, done.stdout + done.stderr

    from mlflow import MlflowClient
    client = MlflowClient(tracking_uri=server.uri)
    runs = runs_of(server.uri, "0,1")
    assert sorted(r.data.params["seed"] for r in runs) == ["0", "1"]
    for run in runs:
        assert run.info.status == "FINISHED"
        assert {"test_top1", "val_top1", "peak_memory_mb", "latency_ms_p50"} <= set(run.data.metrics)
        assert run.info.artifact_uri.startswith("mlflow-artifacts:")  # served, not a local path
        listed = {f.path for f in client.list_artifacts(run.info.run_id, "model")}
        assert {"model/MLmodel", "model/slrbench.json", "model/weights"} <= listed
        assert run.inputs.dataset_inputs, "no dataset input logged"
        history = client.get_metric_history(run.info.run_id, "test_top1")
        assert history[0].value == run.data.metrics["test_top1"]
    # the model comes back through the server's artifact proxy
    import mlflow
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(server.uri)
    try:
        model = mlflow.pyfunc.load_model(f"runs:/{runs[0].info.run_id}/model")
    finally:
        mlflow.set_tracking_uri(before)
    assert model.metadata.metadata["vocab"] == ["hello", "thankyou"]

    report = slrbench("report", "--tracking-uri", server.uri, "--out", tmp_path / "r.html")
    assert report.returncode == 0, report.stdout + report.stderr
    assert (tmp_path / "r.html").stat().st_size > 10_000
    clip = sorted((shared / "asl-signs-sample" / "train_landmark_files").rglob("*.parquet"))[0]
    predicted = slrbench("predict", "--run", runs[0].info.run_id, "--tracking-uri", server.uri,
                         clip)
    assert predicted.returncode == 0, predicted.stderr
    assert {"hello", "thankyou"} <= set(predicted.stdout.split())


def test_a_server_that_stops_mid_sweep_then_a_rerun_completes_it(server, tmp_path):
    # The local pool: what a lost server does to a sweep does not depend on the backend,
    # and the Ray sweep above already logs through the server.
    seeds = "2,3"                           # the Ray sweep above has 0 and 1
    log = open(tmp_path / "sweep.log", "w")
    sweep = subprocess.Popen([str(BIN / "slrbench"), *sweep_args(server.uri, seeds, "local")],
                             stdout=log, stderr=subprocess.STDOUT, text=True,
                             env={**os.environ, "SLRBENCH_PROGRESS": "0"})
    try:
        deadline = time.monotonic() + 600
        while not any(r.info.status == "FINISHED" for r in runs_of(server.uri, seeds)):
            assert sweep.poll() is None, (tmp_path / "sweep.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no run finished"
            time.sleep(0.5)
        server.stop()
        code = sweep.wait(timeout=300)
    finally:
        if sweep.poll() is None:
            sweep.kill()
        log.close()
    output = (tmp_path / "sweep.log").read_text()
    assert code == 1, output
    lines = [line for line in output.splitlines() if line.startswith("failed:")]
    assert len(lines) == 1, output
    for line in lines:
        assert f"{MODEL} on asl-signs-2 seed" in line and server.uri in line, line
        assert "Traceback" not in output

    server.start()  # the same backend store and artifact root
    rerun = slrbench(*sweep_args(server.uri, seeds, "local"))
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    finished = [r for r in runs_of(server.uri, seeds) if r.info.status == "FINISHED"]
    assert sorted(r.data.params["seed"] for r in finished) == ["2", "3"]
