"""The baseline through the whole harness on the shipped real data, read back from MLflow."""
import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from harness.errors import TrackingError
from harness.run.runner import RunConfig, run_experiment
from harness.run.tracking import download_artifacts, load_model, load_runs


@pytest.fixture(scope="module")
def asl_signs_run(tmp_path_factory):
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlruns.db'}"
    return uri, run_experiment(RunConfig(model="pooled_logreg", dataset="asl-signs",
                                         tracking_uri=uri))


def test_baseline_on_asl_signs_beats_chance_on_unseen_signers(asl_signs_run):
    uri, result = asl_signs_run
    assert result.metrics["test_top1"] >= 0.75  # chance is 0.5 for 2 signs
    runs = load_runs(uri)
    assert len(runs) == 1
    row = runs.iloc[0]
    assert row["status"] == "FINISHED"
    assert row["params.split_hash"] == result.split_hash
    assert row["tags.slrbench.model"] == "pooled_logreg"
    for key in ("test_top1", "test_top5", "test_mean_class_accuracy", "test_macro_f1",
                "val_top1", "train_seconds", "latency_ms_p50", "latency_ms_p95", "parameters",
                "peak_memory_mb"):
        assert np.isfinite(row[f"metrics.{key}"]), key
    assert row["metrics.test_top1"] == pytest.approx(result.metrics["test_top1"])
    for key in ("version.torch", "version.mlflow", "git_commit", "machine", "config.C"):
        assert isinstance(row[f"params.{key}"], str) and row[f"params.{key}"], key


def test_artifacts_hold_the_split_predictions_and_a_loadable_model(asl_signs_run, tmp_path):
    uri, result = asl_signs_run
    manifest = json.loads(download_artifacts(result.run_id, "split_manifest.json", uri,
                                             tmp_path).read_text())
    assert manifest["sha256"] == result.split_hash
    train_signers = {i for i in manifest["splits"]["train"]}
    assert not train_signers & set(manifest["splits"]["test"])
    predictions = pd.read_csv(download_artifacts(result.run_id, "predictions.csv", uri, tmp_path))
    assert len(predictions) == len(manifest["splits"]["test"])
    assert predictions["correct"].mean() == pytest.approx(result.metrics["test_top1"])
    assert download_artifacts(result.run_id, "confusion.png", uri, tmp_path).stat().st_size > 1000
    loaded = load_model(result.run_id, uri)
    assert loaded.vocab == ["hello", "thankyou"]


@pytest.mark.slow
def test_baseline_on_signo_is_far_above_chance(tracking_uri):
    result = run_experiment(RunConfig(model="pooled_logreg", dataset="signo",
                                      tracking_uri=tracking_uri, latency_clips=5))
    assert result.metrics["test_top1"] > 0.8  # chance is under 0.05 for 21 signs
    mlflow.set_tracking_uri(tracking_uri)
    run = mlflow.get_run(result.run_id)
    assert "NOT signer-independent" in run.data.params["split_protocol"]


def test_same_seed_gives_same_metrics(tracking_uri):
    first = run_experiment(RunConfig(model="pooled_logreg", dataset="asl-signs",
                                     tracking_uri=tracking_uri, latency_clips=0))
    second = run_experiment(RunConfig(model="pooled_logreg", dataset="asl-signs",
                                      tracking_uri=tracking_uri, latency_clips=0))
    for key in ("test_top1", "test_macro_f1", "val_top1"):
        assert first.metrics[key] == second.metrics[key]
    assert first.split_hash == second.split_hash


def test_a_damaged_model_description_is_named_when_loading(tracking_uri):
    result = run_experiment(RunConfig(model="pooled_logreg", dataset="asl-signs",
                                      tracking_uri=tracking_uri, latency_clips=0))
    mlflow.set_tracking_uri(tracking_uri)
    artifacts = mlflow.get_run(result.run_id).info.artifact_uri.removeprefix("file://")
    info = Path(artifacts) / "model" / "slrbench.json"
    info.write_text("{not json", encoding="utf-8")
    with pytest.raises(TrackingError, match="slrbench.json.*damaged"):
        load_model(result.run_id, tracking_uri)
