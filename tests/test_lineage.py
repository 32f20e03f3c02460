"""Dataset lineage in MLflow: each run's dataset input, the landmark digest (a changed
extraction is a different dataset), the MediaPipe version, and MLflow's system metrics."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.data.digest import DIGEST_FILE, store_digest
from harness.data.landmark_files import read_landmark_file
from harness.data.store import write_store


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def asl_signs_store(shared, path, change: float = 0.0, mediapipe: str | None = None,
                    count: int | None = None):
    """The shipped asl-signs sample as a store, optionally with one coordinate moved."""
    index = pd.read_csv(shared / "asl-signs-sample" / "train.csv").iloc[:count]
    rows = []
    for i, row in enumerate(index.itertuples()):
        clip = read_landmark_file(shared / "asl-signs-sample" / row.path)
        if i == 0 and change:
            clip = clip.copy()
            clip[0, 11, 0] += change
        rows.append(({"clip_id": str(row.sequence_id), "gloss": row.sign,
                      "label": int(row.sign == "thankyou"), "split": "",
                      "signer": str(row.participant_id), "fps": 30.0, "n_frames": 0,
                      "source": row.path}, clip))
    extra = {"mediapipe_version": mediapipe} if mediapipe else None
    return write_store(path, rows, ["hello", "thankyou"], "asl-signs-store", extra=extra)


def test_store_digest_is_cached_and_follows_the_data(shared, tmp_path):
    store = asl_signs_store(shared, tmp_path / "a", count=6)
    first = store_digest(store)
    cached = json.loads((store.path / DIGEST_FILE).read_text())
    assert cached["sha256"] == first and store_digest(store.path) == first
    moved = asl_signs_store(shared, tmp_path / "b", change=1e-3, count=6)
    assert store_digest(moved) != first
    # the same file rewritten in place (new size/mtime stamp) is hashed again
    data = bytearray((store.path / "landmarks.f32").read_bytes())
    data[100:104] = np.float32(0.5).tobytes()
    (store.path / "landmarks.f32").write_bytes(bytes(data))
    assert store_digest(store) != first


@pytest.mark.slow
def test_runs_log_their_dataset_input_and_a_changed_extraction_is_another_dataset(
        shared, tmp_path, tracking_uri):
    from harness.run.tracking import client
    a = asl_signs_store(shared, tmp_path / "a", mediapipe="0.10.21")
    b = asl_signs_store(shared, tmp_path / "b", change=1e-3, mediapipe="0.10.21")
    runs = []
    for store, extra in ((a, ["--system-metrics"]), (b, [])):
        result = invoke("run", "--model", "pooled_logreg", "--dataset", "landmarks",
                        "--data-dir", store.path, "--tracking-uri", tracking_uri, *extra)
        assert result.exit_code == 0, result.output
        runs.append(client(tracking_uri)[0].get_run(result.output.split("run ")[1].split()[0]))
    first, second = runs
    for run, store in zip(runs, (a, b)):
        (entry,) = run.inputs.dataset_inputs
        profile = json.loads(entry.dataset.profile)
        assert entry.dataset.name == "asl-signs-store-2"
        assert entry.dataset.digest == run.data.params["data.dataset_digest"]
        assert profile["landmark_digest"] == run.data.params["data.landmark_digest"] \
            == store_digest(store)
        assert profile["split_hash"] == run.data.params["split_hash"]
        assert profile["vocab"] == ["hello", "thankyou"] and profile["clips"] == 126
        assert run.data.params["data.mediapipe_version"] == "0.10.21"
        assert json.loads(entry.dataset.source)["uri"] == store.path.resolve().as_uri()
        assert {t.key: t.value for t in entry.tags}["mlflow.data.context"] == "train/val/test"
    assert first.data.params["split_hash"] == second.data.params["split_hash"]
    assert first.inputs.dataset_inputs[0].dataset.digest != \
        second.inputs.dataset_inputs[0].dataset.digest

    # system metrics where asked for, and the report's peak memory either way
    assert any(k.startswith("system/") for k in first.data.metrics)
    assert not any(k.startswith("system/") for k in second.data.metrics)
    assert all(run.data.metrics["peak_memory_mb"] > 0 for run in runs)


def _log_the_shared_dataset(uri, experiment_id, barrier, answers):
    from mlflow.entities import Dataset, DatasetInput

    from harness.run.lineage import log_dataset_input
    from harness.run.tracking import client
    mlflow_client, _ = client(uri)
    run_id = mlflow_client.create_run(experiment_id).info.run_id
    dataset = Dataset(name="signo-21", digest="0123abcd", source_type="code", source="{}")
    barrier.wait()
    try:
        log_dataset_input(mlflow_client, run_id, DatasetInput(dataset, tags=[]))
        answers.put((run_id, "ok"))
    except Exception as error:  # noqa: BLE001 - the test reports whatever broke
        answers.put((run_id, f"{type(error).__name__}: {error}"[:200]))


@pytest.mark.slow
def test_runs_that_log_one_new_dataset_at_once_are_all_linked_to_it(tmp_path):
    # MLflow looks a dataset up, then inserts it: released together, runs that log the same
    # new dataset race for the insert (unguarded, 5 of 5 such releases lost a run to it)
    import multiprocessing

    from harness.run.tracking import client, ensure_experiment
    context = multiprocessing.get_context("spawn")
    uri = f"sqlite:///{tmp_path / 'race.db'}"
    mlflow_client, _ = client(uri, writes=True)
    experiment_id = ensure_experiment(mlflow_client, "signo-21", uri)
    barrier, answers = context.Barrier(4), context.Queue()
    workers = [context.Process(target=_log_the_shared_dataset,
                               args=(uri, experiment_id, barrier, answers))
               for _ in range(4)]
    for worker in workers:
        worker.start()
    results = [answers.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert [answer for _, answer in results] == ["ok"] * 4, results
    for run_id, _ in results:
        inputs = mlflow_client.get_run(run_id).inputs.dataset_inputs
        assert [(i.dataset.name, i.dataset.digest) for i in inputs] == [
            ("signo-21", "0123abcd")]
