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
