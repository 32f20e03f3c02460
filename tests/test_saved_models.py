"""Saved-model metadata: the shared atomic write and checked read, and every plugin's load
turning a damaged model directory into one BadSavedModel line that names the file."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from harness.api import (BadSavedModel, ClipSet, RunContext, SlrbenchError, read_model_meta,
                         write_model_meta)
from harness.data.clips import ArrayLandmarks
from plugins.baseline import PooledLogReg, PooledLogRegConfig
from plugins.lstm.config import LSTMConfig
from plugins.lstm.model import LSTMModel
from plugins.r2plus1d.config import R2Plus1DConfig
from plugins.r2plus1d.model import R2Plus1DModel
from plugins.spoter.config import SpoterConfig
from plugins.spoter.model import SpoterModel
from tests.conftest import make_clip

torch.set_num_threads(1)

META = {"format": "slrbench-toy/1", "version": 2, "vocab": ["Ünter", "γειά", "b"]}


# --- the helpers ------------------------------------------------------------------------

def test_write_then_read_round_trips_and_leaves_no_temporary_files(tmp_path):
    directory = tmp_path / "model"
    write_model_meta(directory, META)
    write_model_meta(directory, {**META, "vocab": ["c"]})      # overwrite in place
    write_model_meta(directory, META, name="meta.json")
    assert sorted(p.name for p in directory.iterdir()) == ["meta.json", "slrbench.json"]
    text = (directory / "meta.json").read_text(encoding="utf-8")
    assert "Ünter" in text and "\n" in text                    # readable: unescaped, indented
    assert read_model_meta(directory, "toy", "slrbench-toy/1", name="meta.json") == META
    assert read_model_meta(directory, "toy", "slrbench-toy/1", version=2)["vocab"] == ["c"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    write_model_meta(tmp_path, META)
    with pytest.raises(TypeError):
        write_model_meta(tmp_path, {"format": "slrbench-toy/1", "weights": object()})
    assert json.loads((tmp_path / "slrbench.json").read_text(encoding="utf-8")) == META
    assert [p.name for p in tmp_path.iterdir()] == ["slrbench.json"]


def _write(directory: Path, name: str, text: str | bytes) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        (directory / name).write_bytes(text)
    else:
        (directory / name).write_text(text, encoding="utf-8")


# (what is wrong, how to make it, text the message must hold besides the file's path)
DAMAGES = [
    ("no directory", lambda d: None, "no such directory"),
    ("no metadata file", lambda d: _write(d, "weights.bin", "w"), "no slrbench.json in it"),
    ("no weights", lambda d: _write(d, "slrbench.json", json.dumps(META)),
     "no weights.bin in it"),
    ("neither", lambda d: d.mkdir(), "no slrbench.json, weights.bin in it"),
    ("invalid JSON", lambda d: (_write(d, "slrbench.json", '{"format": "slrb'),
                                _write(d, "weights.bin", "w")), "not valid JSON"),
    ("not UTF-8", lambda d: (_write(d, "slrbench.json", b"\xff\xfe{"),
                             _write(d, "weights.bin", "w")), "not valid JSON"),
    ("a JSON list", lambda d: (_write(d, "slrbench.json", "[1, 2]"),
                               _write(d, "weights.bin", "w")), "holds a JSON list"),
    ("another plugin's", lambda d: (_write(d, "slrbench.json", '{"format": "slrbench-x/1"}'),
                                    _write(d, "weights.bin", "w")),
     "format 'slrbench-x/1', expected 'slrbench-toy/1'"),
    ("no format", lambda d: (_write(d, "slrbench.json", '{"version": 2}'),
                             _write(d, "weights.bin", "w")), "format None"),
    ("another version", lambda d: (_write(d, "slrbench.json", json.dumps({**META, "version": 1})),
                                   _write(d, "weights.bin", "w")),
     "version 1, this slrbench reads version 2"),
]


@pytest.mark.parametrize("damage, expected", [(d[1], d[2]) for d in DAMAGES],
                         ids=[d[0] for d in DAMAGES])
def test_every_failure_is_one_bad_saved_model_line_naming_the_file(tmp_path, damage,
                                                                   expected):
    directory = tmp_path / "model"
    damage(directory)
    with pytest.raises(BadSavedModel) as caught:
        read_model_meta(directory, "toy", "slrbench-toy/1", needs=("weights.bin",), version=2)
    message = str(caught.value)
    assert expected in message and str(directory) in message and "\n" not in message
    assert "toy" in message
    assert isinstance(caught.value, SlrbenchError)


def test_default_format_admits_files_that_record_none_but_not_a_wrong_one(tmp_path):
    _write(tmp_path, "config.json", '{"num_classes": 3}')
    assert read_model_meta(tmp_path, "toy", "slrbench-toy/1", name="config.json",
                           default_format="slrbench-toy/1") == {"num_classes": 3}
    _write(tmp_path, "config.json", '{"format": "slrbench-x/1"}')
    with pytest.raises(BadSavedModel, match="config.json: format 'slrbench-x/1'"):
        read_model_meta(tmp_path, "toy", "slrbench-toy/1", name="config.json",
                        default_format="slrbench-toy/1")


def test_a_plugin_can_raise_its_own_subclass(tmp_path):
    class BadToyDir(BadSavedModel):
        pass

    with pytest.raises(BadToyDir, match="no slrbench.json"):
        read_model_meta(tmp_path, "toy", "slrbench-toy/1", error=BadToyDir)


# --- every plugin's load ----------------------------------------------------------------

def _clips(n: int = 9, classes: int = 3) -> ClipSet:
    labels = [i % classes for i in range(n)]
    meta = pd.DataFrame({"clip_id": [f"c{i}" for i in range(n)],
                         "gloss": [f"g{k}" for k in labels], "label": labels,
                         "split": "train", "signer": "s", "fps": 30.0, "n_frames": 12,
                         "source": ""})
    return ClipSet(name="random", meta=meta, vocab=tuple(f"g{k}" for k in range(classes)),
                   landmarks=ArrayLandmarks([make_clip(12, seed=i) for i in range(n)]))


def _baseline(clips: ClipSet):
    model = PooledLogReg(PooledLogRegConfig(max_iter=50), clips.num_classes)
    model.fit(clips, clips.subset([]), RunContext(seed=0))
    return model, _loader(PooledLogReg.load, model.config, clips)


def _loader(load, config, clips: ClipSet):
    """A plugin's load as the harness calls it: given back the config and dataset info."""
    return lambda directory: load(directory, config, clips.info)


def _lstm(clips: ClipSet):
    config = LSTMConfig(frames=6, lstm_units=(4,), dense_units=4, epochs=1, batch_size=16)
    model = LSTMModel(config, clips.num_classes, clips.vocab)
    model.fit(clips, clips.subset([]), RunContext(seed=0))
    return model, _loader(LSTMModel.load, config, clips)


def _spoter(clips: ClipSet):
    # SPOTER saves an untrained network as well as a trained one.
    config = SpoterConfig(d_model=6, heads=1, encoder_layers=1, decoder_layers=1,
                          feedforward=8, max_frames=16)
    return (SpoterModel(config, clips.num_classes, clips.vocab),
            _loader(SpoterModel.load, config, clips))


def _r2plus1d(clips: ClipSet):
    config = R2Plus1DConfig(input="skeleton", frames=4, size=32, width=0.125)
    return (R2Plus1DModel(config, clips.num_classes, clips.vocab),
            _loader(R2Plus1DModel.load, config, clips))


# plugin -> (build, its metadata file, a weights file it cannot load without)
PLUGINS = {"pooled_logreg": (_baseline, "config.json", "pooled_logreg.npz"),
           "lstm": (_lstm, "slrbench.json", "model.keras"),
           "spoter": (_spoter, "slrbench.json", "weights.npz"),
           "r2plus1d": (_r2plus1d, "meta.json", "weights.pt")}


@pytest.fixture(scope="module", params=sorted(PLUGINS))
def saved(request, tmp_path_factory):
    """(plugin, saved directory, load, metadata file, weights file, predictions, clips)."""
    build, meta_file, weights_file = PLUGINS[request.param]
    clips = _clips()
    model, load = build(clips)
    directory = tmp_path_factory.mktemp(request.param) / "model"
    model.save(directory)
    assert {meta_file, weights_file} <= {p.name for p in directory.iterdir()}
    assert not [p.name for p in directory.iterdir() if p.name.startswith(".")]
    return (request.param, directory, load, meta_file, weights_file,
            model.predict_proba(clips.unlabelled()), clips)


@pytest.fixture
def damaged(saved, tmp_path):
    """A copy of the saved directory, for a test to damage."""
    plugin, directory, load, meta_file, weights_file, _, _ = saved
    target = tmp_path / "model"
    shutil.copytree(directory, target)
    return plugin, target, load, meta_file, weights_file


def test_the_saved_model_loads_with_the_same_predictions(saved):
    _, directory, load, _, _, proba, clips = saved
    np.testing.assert_allclose(load(directory).predict_proba(clips.unlabelled()), proba,
                               atol=1e-6)


def _edit_meta(directory: Path, meta_file: str, **changes) -> None:
    meta = json.loads((directory / meta_file).read_text(encoding="utf-8"))
    meta.update(changes)
    (directory / meta_file).write_text(json.dumps(meta), encoding="utf-8")


@pytest.mark.parametrize("which", ["metadata", "weights"])
def test_a_missing_file_is_a_bad_saved_model(damaged, which):
    plugin, directory, load, meta_file, weights_file = damaged
    gone = meta_file if which == "metadata" else weights_file
    (directory / gone).unlink()
    with pytest.raises(BadSavedModel, match=rf"{re.escape(str(directory))}: not a saved "
                                            rf"{plugin} model \(no {re.escape(gone)} in it"):
        load(directory)


def test_invalid_json_is_a_bad_saved_model(damaged):
    _, directory, load, meta_file, _ = damaged
    (directory / meta_file).write_text('{"format": "slrbench-', encoding="utf-8")
    with pytest.raises(BadSavedModel,
                       match=rf"{re.escape(str(directory / meta_file))}: not valid JSON"):
        load(directory)


def test_another_plugins_metadata_is_a_bad_saved_model(damaged):
    _, directory, load, meta_file, _ = damaged
    _edit_meta(directory, meta_file, format="slrbench-other/1")
    with pytest.raises(BadSavedModel, match=rf"{re.escape(str(directory / meta_file))}: "
                                            "format 'slrbench-other/1', expected"):
        load(directory)


def test_r2plus1d_checks_its_version(tmp_path):
    clips = _clips()
    model, load = _r2plus1d(clips)
    model.save(tmp_path / "model")
    _edit_meta(tmp_path / "model", "meta.json", version=99)
    with pytest.raises(BadSavedModel, match="meta.json: slrbench-r2plus1d version 99"):
        load(tmp_path / "model")


def test_plugins_leave_the_config_to_the_harness(saved):
    """The runner saves the config and vocabulary once (model/slrbench.json); a plugin's
    own files hold neither, so there is one serialisation of a config, not five."""
    name, directory, _, meta_file, _, _, _ = saved
    meta = json.loads((directory / meta_file).read_text(encoding="utf-8"))
    assert "config" not in meta and "vocab" not in meta, name


def test_pooled_logreg_still_loads_models_saved_without_a_format(tmp_path):
    """Saved before the format was recorded: config.json is {config, num_classes}."""
    clips = _clips()
    model, load = _baseline(clips)
    model.save(tmp_path)
    meta = json.loads((tmp_path / "config.json").read_text(encoding="utf-8"))
    assert meta.pop("format") == "slrbench-pooled_logreg/1"
    (tmp_path / "config.json").write_text(json.dumps(meta), encoding="utf-8")
    np.testing.assert_array_equal(load(tmp_path).predict_proba(clips.unlabelled()),
                                  model.predict_proba(clips.unlabelled()))


def test_pooled_logreg_weights_of_another_shape_are_named_at_load(tmp_path):
    # they met the features as numpy's matmul ValueError, a traceback, at predict time
    clips = _clips()
    model, load = _baseline(clips)
    model.save(tmp_path)
    weights = tmp_path / "pooled_logreg.npz"
    with np.load(weights) as arrays:
        saved = dict(arrays)
    np.savez(weights, **{**saved, "coef": saved["coef"][:, :-3]})
    with pytest.raises(BadSavedModel, match="pooled_logreg.npz: arrays of shapes"):
        load(tmp_path)
