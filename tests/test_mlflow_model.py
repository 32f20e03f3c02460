"""Every run's model is an MLflow pyfunc model: loaded with MLflow's own API, served with
`mlflow models serve` over real HTTP, and `slrbench predict` still reads runs saved before."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.data.landmark_files import read_landmark_file

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow   # each test trains (or serves) a real model


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def a_clip(shared) -> Path:
    return sorted((shared / "asl-signs-sample" / "train_landmark_files").rglob("*.parquet"))[3]


def predicted_lines(tracking_uri, run_id, path) -> list[str]:
    result = invoke("predict", "--run", run_id, "--tracking-uri", tracking_uri, path)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()[1:]


def as_lines(glosses, probabilities) -> list[str]:
    return [f"  {p:6.1%}  {g}" for g, p in zip(glosses, probabilities)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, shared):
    folder = tmp_path_factory.mktemp("mlflow-model")
    uri = f"sqlite:///{folder / 'mlruns.db'}"
    result = invoke("run", "--model", "pooled_logreg", "--dataset", "asl-signs",
                    "--tracking-uri", uri)
    assert result.exit_code == 0, result.output
    return uri, result.output.split("run ")[1].split()[0]


@pytest.fixture
def mlflow_at(trained):
    import mlflow
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(trained[0])
    yield mlflow
    mlflow.set_tracking_uri(before)


def test_pyfunc_load_model_predicts_what_slrbench_predict_says(trained, mlflow_at, shared):
    uri, run_id = trained
    model = mlflow_at.pyfunc.load_model(f"runs:/{run_id}/model")
    inputs = model.metadata.get_input_schema().inputs
    assert [(s.name, s.type, s.shape) for s in inputs] == [
        ("landmarks", np.dtype("float32"), (-1, 543, 3))]
    assert [c.name for c in model.metadata.get_output_schema().inputs] == [
        "gloss", "probability", "top_glosses", "top_probabilities", "probabilities"]
    assert model.metadata.metadata["vocab"] == ["hello", "thankyou"]

    clip = read_landmark_file(a_clip(shared))
    out = model.predict(clip)
    assert len(out) == 1 and abs(sum(out["probabilities"][0]) - 1) < 1e-9
    assert out["gloss"][0] == out["top_glosses"][0][0]
    assert as_lines(out["top_glosses"][0], out["top_probabilities"][0]) == \
        predicted_lines(uri, run_id, a_clip(shared))

    with pytest.raises(Exception, match="543"):   # the signature refuses another layout
        model.predict(np.zeros((10, 75, 3), dtype=np.float32))


def test_mlflow_models_serve_answers_a_real_clip(trained, shared, tmp_path):
    uri, run_id = trained
    port = free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    log = open(tmp_path / "serve.log", "wb")
    server = subprocess.Popen(
        [str(BIN / "mlflow"), "models", "serve", "-m", f"runs:/{run_id}/model",
         "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "mlflow models serve did not start"
                time.sleep(0.5)
        clip = read_landmark_file(a_clip(shared))
        # JSON has no NaN: a missing landmark travels as null
        body = json.dumps({"inputs": np.where(np.isnan(clip), None, clip).tolist()})
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations",
                                         data=body.encode(),
                                         headers={"Content-Type": "application/json"})
        answer = json.loads(urllib.request.urlopen(request, timeout=60).read())
        # a coordinate no image has: the caller's mistake, said as slrbench says it (it came
        # back as "an unexpected error", the reason buried in a traceback)
        bad = np.where(np.isnan(clip), None, clip).tolist()
        bad[0][0][0] = 1e6
        refused = urllib.request.Request(f"http://127.0.0.1:{port}/invocations",
                                         data=json.dumps({"inputs": bad}).encode(),
                                         headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(refused, timeout=60)
        assert error.value.code == 400
        reply = json.loads(error.value.read())
        assert reply["error_code"] == "INVALID_PARAMETER_VALUE", reply
        assert "MLflow model input: x = 1e+06 at frame 0" in reply["message"], reply
        assert "stack_trace" not in reply, reply
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    row = answer["predictions"][0]
    assert as_lines(row["top_glosses"], row["top_probabilities"]) == \
        predicted_lines(uri, run_id, a_clip(shared))


def test_predict_still_reads_a_run_saved_before_mlflow_models(trained, shared, tmp_path):
    """A run of the old layout (model/slrbench.json + model/weights/, no MLmodel)."""
    from harness.run.tracking import TAG, client, download_artifacts
    uri, run_id = trained
    new = download_artifacts(run_id, "model", uri, tmp_path / "new")
    old = tmp_path / "old" / "model"
    (old / "weights").mkdir(parents=True)
    shutil.copy(new / "slrbench.json", old / "slrbench.json")
    for file in (new / "weights").iterdir():
        shutil.copy(file, old / "weights" / file.name)
    mlflow_client, _ = client(uri)
    source = mlflow_client.get_run(run_id)
    old_run = mlflow_client.create_run(source.info.experiment_id,
                                       tags={TAG + "model": "pooled_logreg"})
    mlflow_client.log_artifacts(old_run.info.run_id, str(old), "model")
    mlflow_client.set_terminated(old_run.info.run_id, "FINISHED")
    listed = {item.path for item in mlflow_client.list_artifacts(old_run.info.run_id, "model")}
    assert listed == {"model/slrbench.json", "model/weights"}

    assert predicted_lines(uri, old_run.info.run_id, a_clip(shared)) == \
        predicted_lines(uri, run_id, a_clip(shared))
