"""``slrbench predict`` on damaged or missing models: one line naming the cause, exit 2; and
no temporary copy of the model left behind (issue 14, item 11 and "one clear line")."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import torch

from tests.faults import (assert_cli_error, baseline_run, cli, run_id_of,  # noqa: F401
                          slrbench)


@pytest.fixture(scope="module")
def keyframe_run(tmp_path_factory):
    """A real key-frame MLP run (torch .pt weights), in its own process: --threads 1 must
    not stay set in the test process."""
    folder = tmp_path_factory.mktemp("keyframe")
    uri = f"sqlite:///{folder / 'mlruns.db'}"
    result = slrbench("run", "--model", "keyframe_mlp", "--dataset", "asl-signs", "--epochs",
                      "2", "--threads", "1", "--tracking-uri", uri, cwd=folder)
    assert result.returncode == 0, result.stderr
    run_id = run_id_of(result.stdout)
    [model] = list((folder / "mlartifacts").glob(f"*/{run_id}/artifacts/model"))
    return uri, run_id, model


@pytest.fixture
def clip(shared) -> Path:
    return next((shared / "asl-signs-sample" / "train_landmark_files").rglob("*.parquet"))


@pytest.fixture
def damaged(tmp_path):
    """Damage a run's model folder in place; the original is put back after the test."""
    kept: list[tuple[Path, Path]] = []

    def damage(model: Path) -> Path:
        backup = tmp_path / f"backup-{len(kept)}"
        shutil.copytree(model, backup)
        kept.append((model, backup))
        return model

    yield damage
    for model, backup in kept:
        shutil.rmtree(model, ignore_errors=True)
        shutil.copytree(backup, model)


@pytest.fixture
def temp(tmp_path, monkeypatch) -> Path:
    """The system temporary folder, as predict sees it: an empty one of the test's own."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def predict(run, clip: Path):
    uri, run_id, _ = run
    return cli("predict", "--run", run_id, "--tracking-uri", uri, clip)


def test_predict_leaves_no_temporary_copy(baseline_run, clip, temp):
    result = predict(baseline_run, clip)
    assert result.exit_code == 0, result.output
    assert list(temp.iterdir()) == []


def test_a_deleted_model_folder(baseline_run, clip, damaged, temp):
    shutil.rmtree(damaged(baseline_run[2]))
    assert_cli_error(predict(baseline_run, clip), baseline_run[1], "model")
    assert list(temp.iterdir()) == []


def test_a_truncated_npz(baseline_run, clip, damaged):
    weights = damaged(baseline_run[2]) / "weights" / "pooled_logreg.npz"
    weights.write_bytes(weights.read_bytes()[:300])
    assert_cli_error(predict(baseline_run, clip), "pooled_logreg.npz", "truncated")


@pytest.mark.slow
def test_a_truncated_pt(keyframe_run, clip, damaged):
    weights = damaged(keyframe_run[2]) / "weights" / "mlp1.pt"
    weights.write_bytes(weights.read_bytes()[:1000])
    assert_cli_error(predict(keyframe_run, clip), "mlp1.pt", "truncated")


class Payload:
    """Anything but tensors: a pickle that torch's weights_only loader refuses."""


@pytest.mark.slow
def test_refused_unsafe_weights(keyframe_run, clip, damaged):
    torch.save({"state": Payload()}, damaged(keyframe_run[2]) / "weights" / "mlp1.pt")
    line = assert_cli_error(predict(keyframe_run, clip), "mlp1.pt", "unsafe")
    assert "truncated" not in line


@pytest.mark.slow
def test_a_truncated_video_is_refused_not_predicted(baseline_run, shared, tmp_path):
    # the header lists every frame, half the bytes are gone: predict printed a confident
    # answer from the first half of the sign where data extract lists the file as damaged
    import subprocess
    whole = tmp_path / "whole.mp4"
    source = next((shared / "asl8-videos").rglob("*.mp4"))
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), "-c", "copy",
                    "-movflags", "+faststart", str(whole)], check=True)
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    assert_cli_error(predict(baseline_run, cut), "cut.mp4", "truncated")
    assert cli("predict", "--run", baseline_run[1], "--tracking-uri", baseline_run[0],
               whole).exit_code == 0                       # the whole file still predicts
