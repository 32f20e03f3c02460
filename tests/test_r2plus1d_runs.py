"""R(2+1)D end to end through the runner: skeleton input on real landmarks, real video."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from harness.cli import main
from harness.run.loading import load_clipset, make_request
from harness.errors import BadConfig
from harness.run.runner import RunConfig, run_experiment
from harness.run.tracking import client, load_model
from tests.curves import assert_epoch_curves
from tests.reloading import assert_reproduces_run
from tests.test_videos_cache import DecodeCounter, asl8_subset

torch.set_num_threads(1)

# Small enough for CPU tests: 1/8 of the channels, 8 frames of 32 x 32.
TINY = ["width=0.125", "frames=8", "size=32", "batch_size=16", "lr=0.003", "dropout=0.2"]


def run_cli(args: list[str]):
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.slow
def test_skeleton_input_on_signo_beats_chance(tracking_uri):
    vocab = 6
    args = ["run", "--model", "r2plus1d", "--dataset", "signo", "--vocab", str(vocab),
            "--epochs", "6", "--tracking-uri", tracking_uri, "--set", "input=skeleton"]
    for option in TINY:
        args += ["--set", option]
    run_cli(args)
    mlflow, _ = client(tracking_uri)
    (run,) = mlflow.search_runs([e.experiment_id for e in mlflow.search_experiments()])
    metrics = run.data.metrics
    assert run.data.tags["slrbench.inputs"] == "landmarks"
    # Well above chance (1/6) on held-out clips of the real data.
    assert metrics["test_top1"] > 2.5 / vocab, metrics
    # width 1/8: a 491,918-parameter backbone + a 64 x 6 head with biases
    assert metrics["parameters"] == 491_918 + 64 * vocab + vocab
    assert assert_epoch_curves(tracking_uri, run.info.run_id) == 6
    # The same split as every landmark model run on signo with this vocabulary and seed.
    _, manifest = load_clipset("signo", make_request(vocab=vocab))
    assert run.data.tags["slrbench.split_hash"] == manifest.sha256
    # The saved model predicts exactly what the run recorded.
    loaded = load_model(run.info.run_id, tracking_uri)
    clips, _ = load_clipset("signo", make_request(vocab=vocab))
    assert_reproduces_run(tracking_uri, run.info.run_id, loaded.model, clips.split("test"),
                          atol=1e-9)


@pytest.mark.slow
def test_video_input_on_real_asl8_clips_decodes_each_clip_once(shared, tmp_path, monkeypatch,
                                                               tracking_uri):
    monkeypatch.setenv("SLRBENCH_DATA_ROOT", str(tmp_path / "data"))   # a cold cache
    decodes = DecodeCounter(monkeypatch)
    root = asl8_subset(shared, tmp_path / "asl8-subset")
    overrides = dict(option.split("=") for option in TINY)
    config = RunConfig(model="r2plus1d", dataset="videos", data_dir=root, epochs=3,
                       overrides={**overrides, "frames": "4", "batch_size": "4"},
                       tracking_uri=tracking_uri, latency_clips=2)
    result = run_experiment(config)
    # 3 epochs of training, validation every epoch, test and latency passes: still one
    # decode per clip, all at load time.
    assert sorted(decodes.paths) == sorted(str(root / f) for f in pd.read_csv(root / "labels.csv")["file"])
    assert {"test_top1", "val_top1", "latency_ms_p50"} <= set(result.metrics)
    # A second run (another seed) finds every clip in the cache.
    run_experiment(dataclasses.replace(config, seed=1))
    assert len(decodes.paths) == 12
    # save -> load -> identical predictions
    clips, manifest = load_clipset("videos", make_request(data_dir=root, inputs="video"))
    assert manifest.sha256 == result.split_hash
    loaded = load_model(result.run_id, tracking_uri)
    test = clips.split("test")
    proba = assert_reproduces_run(tracking_uri, result.run_id, loaded.model, test, atol=1e-9)
    assert np.array_equal(loaded.model.predict_proba(test.unlabelled()), proba)
    # `slrbench predict` on a video model decodes the files (no landmark extraction) and
    # ranks glosses of the run's vocabulary.
    from harness.run.predict import predict_files
    videos = [root / f for f in pd.read_csv(root / "labels.csv")["file"][:2]]
    top = min(3, len(loaded.vocab))
    ranked = list(predict_files(result.run_id, videos, tracking_uri, top=top))
    assert [path for path, _ in ranked] == videos
    assert all(len(glosses) == top and {g for g, _ in glosses} <= set(loaded.vocab) for _, glosses in ranked)


def test_runner_refuses_a_model_input_the_dataset_lacks(tracking_uri):
    with pytest.raises(BadConfig, match="needs videos"):
        run_experiment(RunConfig(model="r2plus1d", dataset="signo", vocab=3,
                                 tracking_uri=tracking_uri, overrides={"width": "0.125"}))
