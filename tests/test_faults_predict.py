"""``slrbench predict`` on damaged or missing models: one line naming the cause, exit 2; and
no temporary copy of the model left behind (issue 14, item 11 and "one clear line")."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from tests.faults import assert_one_error, environment, slrbench


def train(folder: Path, *args: str) -> tuple[str, str, Path]:
    """A real run; returns its tracking URI, run id and model/weights folder."""
    uri = f"sqlite:///{folder / 'mlruns.db'}"
    result = slrbench("run", *args, "--tracking-uri", uri, cwd=folder)
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.split("run ")[1].split()[0]
    [model] = list((folder / "mlartifacts").glob(f"*/{run_id}/artifacts/model"))
    return uri, run_id, model


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory):
    return train(tmp_path_factory.mktemp("baseline"), "--model", "pooled_logreg",
                 "--dataset", "asl-signs")


@pytest.fixture(scope="module")
def keyframe_run(tmp_path_factory):
    return train(tmp_path_factory.mktemp("keyframe"), "--model", "keyframe_mlp",
                 "--dataset", "asl-signs", "--epochs", "2", "--threads", "1")


@pytest.fixture
def clip(shared) -> Path:
    return next((shared / "asl-signs-sample" / "train_landmark_files").rglob("*.parquet"))


@pytest.fixture
def damaged(tmp_path):
    """Damage a copy of a run's model folder in place; put the original back after."""
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


def predict(uri: str, run_id: str, clip: Path, tmp: Path | None = None):
    env = environment(**({"TMPDIR": str(tmp)} if tmp else {}))
    return slrbench("predict", "--run", run_id, "--tracking-uri", uri, clip, env=env)


def test_predict_leaves_no_temporary_copy(baseline_run, clip, tmp_path):
    uri, run_id, _ = baseline_run
    temp = tmp_path / "temp"
    temp.mkdir()
    for _ in range(2):
        result = predict(uri, run_id, clip, temp)
        assert result.returncode == 0, result.stderr
    assert list(temp.iterdir()) == []


def test_a_deleted_model_folder(baseline_run, clip, damaged, tmp_path):
    uri, run_id, model = baseline_run
    shutil.rmtree(damaged(model))
    temp = tmp_path / "temp"
    temp.mkdir()
    assert_one_error(predict(uri, run_id, clip, temp), run_id, "model")
    assert list(temp.iterdir()) == []


def test_a_truncated_npz(baseline_run, clip, damaged):
    uri, run_id, model = baseline_run
    weights = damaged(model) / "weights" / "pooled_logreg.npz"
    weights.write_bytes(weights.read_bytes()[:300])
    assert_one_error(predict(uri, run_id, clip), "truncated")


def test_a_truncated_pt(keyframe_run, clip, damaged):
    uri, run_id, model = keyframe_run
    weights = damaged(model) / "weights" / "mlp1.pt"
    weights.write_bytes(weights.read_bytes()[:1000])
    assert_one_error(predict(uri, run_id, clip), "truncated")


class Payload:
    """Anything but tensors: a pickle that torch's weights_only loader refuses."""


def test_refused_unsafe_weights(keyframe_run, clip, damaged):
    uri, run_id, model = keyframe_run
    torch.save({"state": Payload()}, damaged(model) / "weights" / "mlp1.pt")
    line = assert_one_error(predict(uri, run_id, clip), "mlp1.pt")
    assert "unsafe" in line and "truncated" not in line
