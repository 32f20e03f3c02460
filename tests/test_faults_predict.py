"""``slrbench predict`` on damaged or missing models: one line naming the cause, exit 2; and
no temporary copy of the model left behind (issue 14, item 11 and "one clear line")."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pytest
import torch
from mlflow.exceptions import MlflowException

from harness.data.landmark_files import read_landmark_file
from harness.run.tracking import TAG, client
from harness.util.process import identity
from tests.faults import (NO_DAC, assert_cli_error, assert_one_error,  # noqa: F401
                          baseline_run, cli, run_id_of, slrbench)


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


@pytest.fixture(scope="module")
def hands_only_run(tmp_path_factory):
    """A real pooled_logreg run on signo, whose clips hold hands only (no pose, no face)."""
    folder = tmp_path_factory.mktemp("hands-only")
    uri = f"sqlite:///{folder / 'mlruns.db'}"
    result = cli("run", "--model", "pooled_logreg", "--dataset", "signo", "--vocab", "3",
                 "--tracking-uri", uri)
    assert result.exit_code == 0, result.output
    run_id = run_id_of(result.output)
    [model] = list((folder / "mlartifacts").glob(f"*/{run_id}/artifacts/model"))
    return uri, run_id, model


def test_a_hands_only_model_reads_a_holistic_clip_by_its_hands(hands_only_run, clip,
                                                                 tmp_path):
    # signo has no pose: given a Holistic clip's pose and face, the model anchored the
    # hands at the shoulders it never saw and answered as from another clip
    landmarks = read_landmark_file(clip)
    hands = landmarks.copy()
    hands[:, :501] = np.nan
    np.save(tmp_path / "hands.npy", hands)
    whole = predict(hands_only_run, clip)
    assert whole.exit_code == 0, whole.output
    assert whole.output.splitlines()[1:] == \
        predict(hands_only_run, tmp_path / "hands.npy").output.splitlines()[1:]
    model = mlflow.pyfunc.load_model(str(hands_only_run[2]))
    assert model.predict(landmarks)["probabilities"][0] == \
        model.predict(hands)["probabilities"][0]

    no_hands = landmarks.copy()
    no_hands[:, 501:] = np.nan
    np.save(tmp_path / "no_hands.npy", no_hands)
    assert_cli_error(predict(hands_only_run, tmp_path / "no_hands.npy"), "no_hands.npy",
                     "no left hand or right hand landmark", "had no pose, face")


def test_a_run_still_training_is_not_called_failed(hands_only_run, clip):
    # a run saves its model last: predicting while it trains said "the run failed before
    # saving them; train the model again"
    tracking_uri = hands_only_run[0]
    mlflow_client, _ = client(tracking_uri)
    experiment = mlflow_client.create_experiment("training")
    alive = mlflow_client.create_run(experiment, tags={
        TAG + key: value for key, value in identity().items()}).info.run_id
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = mlflow_client.create_run(experiment, tags={
        **{TAG + key: value for key, value in identity().items()}, TAG + "pid": gone}
    ).info.run_id
    line = assert_cli_error(cli("predict", "--run", alive, "--tracking-uri", tracking_uri,
                                clip), alive, "still running", "wait for it")
    assert "failed" not in line and "train the model again" not in line
    assert_cli_error(cli("predict", "--run", stale, "--tracking-uri", tracking_uri, clip),
                     stale, "its process is gone", "--clean-stale")


def test_weights_that_do_not_fit_the_vocabulary_are_named(hands_only_run, clip, damaged):
    # a saved model changed since its run: 3 classes of weights under 2 glosses was an
    # IndexError traceback, NaN weights printed "nan%" (and NaN in a served model's JSON)
    model = damaged(hands_only_run[2])
    info = json.loads((model / "slrbench.json").read_text(encoding="utf-8"))
    (model / "slrbench.json").write_text(json.dumps({**info, "vocab": info["vocab"][:2]}),
                                         encoding="utf-8")
    # pooled_logreg checks its arrays when it loads; the harness holds any plugin's answers
    assert_cli_error(predict(hands_only_run, clip), "pooled_logreg.npz", "do not fit 2 signs")
    (model / "slrbench.json").write_text(json.dumps(info), encoding="utf-8")
    from harness.errors import BadSavedModel
    from harness.run.predict import rank
    from harness.run.tracking import LoadedModel, load_model_directory
    loaded = load_model_directory(model, "the run")
    fewer = LoadedModel(loaded.spec, loaded.model, {**loaded.info, "vocab": info["vocab"][:2]})
    with pytest.raises(BadSavedModel, match=r"shape \(1, 3\), expected \(1, 2\).*do not "
                                            "belong together"):
        rank(fewer, [read_landmark_file(clip)], 2)

    weights = model / "weights" / "pooled_logreg.npz"
    with np.load(weights) as arrays:
        saved = dict(arrays)
    np.savez(weights, **{**saved, "coef": np.full_like(saved["coef"], np.nan)})
    assert_cli_error(predict(hands_only_run, clip), clip.name, "NaN or inf probabilities")
    served = mlflow.pyfunc.load_model(str(model))
    with pytest.raises(MlflowException, match="NaN or inf probabilities") as error:
        served.predict(read_landmark_file(clip))
    assert error.value.get_http_status_code() == 500


def test_an_array_missing_from_the_weights_names_no_other_file(hands_only_run, clip, damaged):
    # the loader's own slrbench.json was the only path in sight, and was named as damaged
    weights = damaged(hands_only_run[2]) / "weights" / "pooled_logreg.npz"
    with np.load(weights) as arrays:
        saved = {key: arrays[key] for key in arrays.files if key != "coef"}
    np.savez(weights, **saved)
    line = assert_cli_error(predict(hands_only_run, clip), "'coef is not a file in the archive'")
    assert "slrbench.json" not in line


def test_an_unreadable_weights_file_is_named(hands_only_run, clip, damaged):
    # MLflow's copy failed with "please ensure that the path is correct", no file named
    weights = damaged(hands_only_run[2]) / "weights" / "pooled_logreg.npz"
    weights.chmod(0)
    try:
        result = slrbench("predict", "--run", hands_only_run[1], "--tracking-uri",
                          hands_only_run[0], clip, prefix=NO_DAC)
    finally:
        weights.chmod(0o644)
    assert_one_error(result, str(weights), "permission denied")


def test_a_folder_copied_from_a_mac_predicts_its_clips_not_their_metadata(hands_only_run,
                                                                          clip, tmp_path):
    # a "._" metadata file beside each clip failed the whole call as an unreadable .parquet
    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(clip, folder / clip.name)
    (folder / f"._{clip.name}").write_bytes(b"\x00\x05\x16\x07Mac OS X        ")
    result = predict(hands_only_run, folder)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{folder / clip.name}:") and "._" not in result.output


def test_predict_threads_past_the_cpus_are_refused(hands_only_run, clip):
    uri, run_id, _ = hands_only_run
    result = cli("predict", "--run", run_id, "--tracking-uri", uri, "--threads", "100000", clip)
    assert_cli_error(result, "--threads 100000: this process may use")
    assert cli("predict", "--run", run_id, "--tracking-uri", uri, "--threads", "1",
               clip).exit_code == 0
