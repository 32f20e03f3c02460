"""``slrbench export``: a tracked LSTM run to TFLite through the CLI, checked against the
Keras model on real clips; clear one-line errors for what cannot be exported; a model file
and its sidecar written both or neither, never over a good export; the sidecar's output
name the one in the file; the default name the one the help gives."""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path

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


@pytest.fixture(scope="module")
def logreg_run(uri) -> str:
    baseline = cli("run", "--model", "pooled_logreg", "--dataset", "asl-signs",
                   "--tracking-uri", uri)
    assert baseline.exit_code == 0, baseline.output
    return run_id_of(uri, "pooled_logreg")


@pytest.fixture(scope="module")
def conv_run(uri) -> str:
    """A small conv_transformer (ONNX and TFLite export), trained in seconds."""
    result = cli("run", "--model", "conv_transformer", "--dataset", "asl-signs", "--epochs",
                 "2", "--threads", "1", "--set", "dim=32", "--set", "stages=1", "--set",
                 "conv_blocks=1", "--set", "heads=2", "--tracking-uri", uri)
    assert result.exit_code == 0, result.output
    return run_id_of(uri, "conv_transformer")


def test_export_errors_are_one_line(logreg_run, uri, tmp_path):
    result = cli("export", "--run", "0123456789abcdef", "--tracking-uri", uri)
    assert result.exit_code == 2 and "no run '0123456789abcdef'" in result.output
    result = cli("export", "--run", logreg_run, "--tracking-uri", uri,
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


def _one_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    return " ".join(result.output.split())


def test_a_model_without_the_format_is_told_which_models_have_it(logreg_run, uri):
    onnx = _one_line(cli("export", "--run", logreg_run, "--format", "onnx",
                         "--tracking-uri", uri))
    assert "an ONNX export needs" in onnx and "conv_transformer" in onnx, onnx
    assert "lstm" not in onnx, onnx                  # lstm exports TFLite only
    tflite = _one_line(cli("export", "--run", logreg_run, "--format", "tflite",
                           "--tracking-uri", uri))
    assert "a TFLite export needs" in tflite, tflite
    assert "conv_transformer" in tflite and "lstm" in tflite, tflite


def test_an_out_name_of_another_format_names_the_format_in_prose(conv_run, uri, tmp_path):
    message = _one_line(cli("export", "--run", conv_run, "--format", "onnx", "--out",
                            str(tmp_path / "x.tflite"), "--tracking-uri", uri))
    assert "an ONNX export is a .onnx file" in message, message
    assert list(tmp_path.iterdir()) == []


def test_a_folder_in_the_sidecars_place_is_refused_before_converting(conv_run, uri, tmp_path,
                                                                      monkeypatch):
    import torch

    def converted(*args, **kwargs):
        raise AssertionError("converted although the sidecar could not be written")

    monkeypatch.setattr(torch.onnx, "export", converted)
    folder = tmp_path / "e1"
    (folder / "z.json").mkdir(parents=True)
    message = _one_line(cli("export", "--run", conv_run, "--format", "onnx", "--out",
                            str(folder / "z.onnx"), "--tracking-uri", uri))
    assert f"Is a directory ({folder / 'z.json'})" in message, message
    assert [p.name for p in folder.iterdir()] == ["z.json"]        # no graph, no temporary
    assert list((folder / "z.json").iterdir()) == []


@pytest.mark.slow       # a real export: several seconds each
def test_an_lstm_export_is_refused_as_a_whole_by_a_folder_in_its_sidecars_place(lstm_run, uri,
                                                                                tmp_path):
    # the model file was renamed into place before the sidecar write failed
    (tmp_path / "z.json").mkdir()
    message = _one_line(cli("export", "--run", lstm_run, "--out", str(tmp_path / "z.tflite"),
                            "--tracking-uri", uri))
    assert f"Is a directory ({tmp_path / 'z.json'})" in message, message
    assert [p.name for p in tmp_path.iterdir()] == ["z.json"]


@pytest.mark.slow       # a real export: several seconds each
def test_a_failed_export_leaves_the_earlier_one_as_it_was(conv_run, uri, tmp_path,
                                                          monkeypatch):
    graph, side = tmp_path / "z.onnx", tmp_path / "z.json"
    graph.write_bytes(b"earlier graph")
    side.write_text('{"earlier": true}')
    real_replace = os.replace

    def replace(src, dst):        # the disk fills up as the new sidecar is renamed into place
        if Path(dst) == side and str(src).endswith(".tmp"):
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    message = _one_line(cli("export", "--run", conv_run, "--format", "onnx", "--out",
                            str(graph), "--tracking-uri", uri))
    assert "No space left on device" in message, message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z.json", "z.onnx"]
    assert graph.read_bytes() == b"earlier graph"
    assert side.read_text() == '{"earlier": true}'


@pytest.mark.slow       # a real export: several seconds each
def test_the_default_output_is_named_as_the_help_says(conv_run, uri, tmp_path, monkeypatch):
    help_text = " ".join(cli("export", "--help").output.split())
    assert "MODEL-RUNID.SUFFIX in the current folder" in help_text, help_text
    assert "first 12 characters of its run id" in help_text, help_text
    monkeypatch.chdir(tmp_path)
    result = cli("export", "--run", conv_run, "--format", "onnx", "--tracking-uri", uri)
    assert result.exit_code == 0, result.output
    name = f"conv_transformer-{conv_run[:12]}"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.json", f"{name}.onnx"]
    # the sidecar names the output the graph has (TFLite's: test_conv_transformer)
    import onnxruntime
    session = onnxruntime.InferenceSession(str(tmp_path / f"{name}.onnx"),
                                           providers=["CPUExecutionProvider"])
    sidecar = json.loads((tmp_path / f"{name}.json").read_text())
    assert [output.name for output in session.get_outputs()] == [sidecar["output"]["name"]]
