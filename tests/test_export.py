"""``slrbench export``: a tracked LSTM run to TFLite through the CLI, checked against the
Keras model on real clips; clear one-line errors for what cannot be exported."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.run.loading import load_clipset, make_request
from harness.run.tracking import load_model, load_runs
from plugins.lstm.tflite import sidecar_path, tflite_predict_proba


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def run_id_of(uri: str, model: str) -> str:
    runs = load_runs(uri)
    return runs[runs["tags.slrbench.model"] == model]["run_id"].iloc[0]


@pytest.fixture(scope="module")
def uri(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('export') / 'mlruns.db'}"


@pytest.fixture(scope="module")
def lstm_run(uri) -> str:
    result = cli("run", "--model", "lstm", "--dataset", "asl-signs", "--epochs", "6",
                 "--set", "frames=32", "--set", "lstm_units=24,16", "--set", "dense_units=16",
                 "--tracking-uri", uri)
    assert result.exit_code == 0, result.output
    return run_id_of(uri, "lstm")


@pytest.mark.slow
def test_tflite_export_gives_the_keras_model_answers_on_real_clips(lstm_run, uri, tmp_path):
    out = tmp_path / "deploy" / "signs.tflite"
    result = cli("export", "--run", lstm_run, "--format", "tflite", "--out", str(out),
                 "--tracking-uri", uri)
    assert result.exit_code == 0, result.output
    assert str(out) in result.output and out.stat().st_size > 1000
    sidecar = json.loads(sidecar_path(out).read_text())
    assert sidecar["vocab"] == ["hello", "thankyou"]
    assert sidecar["input"]["shape"] == [1, 32, 42 * 3 + 2]     # x, y, z + presence flags

    keras_model = load_model(lstm_run, uri).model
    clips, _ = load_clipset("asl-signs", make_request())     # all 126 real clips
    inputs = keras_model.features(clips.unlabelled())
    expected = keras_model.predict_proba(clips.unlabelled())
    got = tflite_predict_proba(out, inputs)
    assert got.shape == expected.shape == (126, 2)
    np.testing.assert_array_equal(got.argmax(1), expected.argmax(1))
    np.testing.assert_allclose(got, expected, atol=1e-4)


@pytest.mark.slow
def test_export_into_a_folder_names_the_file_after_the_run(lstm_run, uri, tmp_path):
    result = cli("export", "--run", lstm_run, "--out", str(tmp_path), "--tracking-uri", uri)
    assert result.exit_code == 0, result.output
    written = list(tmp_path.glob("lstm-*.tflite"))
    assert len(written) == 1 and written[0].name.startswith(f"lstm-{lstm_run[:12]}")


@pytest.mark.slow
def test_an_unknown_format_is_one_line(lstm_run, uri):
    result = cli("export", "--run", lstm_run, "--format", "coreml", "--tracking-uri", uri)
    assert result.exit_code == 2 and "unknown export format" in result.output
    assert "Traceback" not in result.output


def test_export_errors_are_one_line(uri, tmp_path):
    baseline = cli("run", "--model", "pooled_logreg", "--dataset", "asl-signs",
                   "--tracking-uri", uri)
    assert baseline.exit_code == 0, baseline.output
    result = cli("export", "--run", "0123456789abcdef", "--tracking-uri", uri)
    assert result.exit_code == 2 and "no run '0123456789abcdef'" in result.output
    result = cli("export", "--run", run_id_of(uri, "pooled_logreg"), "--tracking-uri", uri,
                 "--out", str(tmp_path / "x.tflite"))
    assert result.exit_code == 2 and "has no export" in result.output
    assert not (tmp_path / "x.tflite").exists()


@pytest.mark.slow
def test_a_format_the_model_does_not_offer_is_one_line(lstm_run, uri, tmp_path):
    target = tmp_path / "lstm.onnx"
    result = cli("export", "--run", lstm_run, "--format", "onnx", "--tracking-uri", uri,
                 "--out", str(target))
    assert result.exit_code == 2, result.output
    assert "exports to tflite, not onnx" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not target.exists()


@pytest.mark.slow
def test_an_out_name_of_another_format_is_one_line(lstm_run, uri, tmp_path):
    target = tmp_path / "signs.onnx"
    result = cli("export", "--run", lstm_run, "--format", "tflite", "--out", str(target),
                 "--tracking-uri", uri)
    assert result.exit_code == 2, result.output
    assert "ending in .tflite" in result.output and not target.exists()
