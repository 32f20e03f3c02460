"""TFLite export of a trained LSTM and a small runner for the exported file.

The exported graph takes the same ``[1, frames, features]`` input as the Keras network
(batch 1: what an on-device recogniser feeds). A JSON sidecar beside it records how to
build that input from MediaPipe landmarks and the class names of the outputs.
"""
from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from harness.api import atomic_paths
from plugins.lstm.backend import keras_and_tf


def sidecar_path(path: Path) -> Path:
    return Path(path).with_suffix(".json")


def export_tflite(model, path: Path) -> Path:
    """The graph and its sidecar, written together (both or neither; a folder in the way of
    either is refused before the conversion)."""
    keras, _ = keras_and_tf()
    cfg = model.config
    path = Path(path)
    signature = [keras.InputSpec(shape=(1, cfg.frames, model.num_features), dtype="float32")]
    with atomic_paths([path, sidecar_path(path)]) as (graph, side), \
            tempfile.TemporaryDirectory(prefix="slrbench-tflite-") as work:
        converted = Path(work) / "model.tflite"      # Keras takes no name without .tflite
        with contextlib.redirect_stdout(io.StringIO()):   # Keras prints "Saved artifact at ..."
            model._net.export(str(converted), format="litert", input_signature=signature)
        shutil.move(converted, graph)
        side.write_text(json.dumps(_sidecar(model), indent=2), encoding="utf-8")
    return path


def _sidecar(model) -> dict:
    cfg = model.config
    axes = ",".join(f"{c}i" for c in cfg.coords)
    return {
        "input": {
            "shape": [1, cfg.frames, model.num_features], "dtype": "float32",
            "layout": f"per frame: left hand {axes} for i = 0..20, right hand the same"
                      + (", then left present, right present (0/1)"
                         if cfg.presence_flags else ""),
            "frames": cfg.frames, "resample": "nearest frame, evenly spaced over the clip",
            "normalise": cfg.normalise, "wrist_relative": cfg.normalise == "wrist",
            "standardise": "(value - mean) / std per hand point and axis, [42][axes]",
            "mean": None if model.mean is None else model.mean.tolist(),
            "std": None if model.std is None else model.std.tolist(),
            "missing_hand": "all its values 0 (after standardising) and its flag 0",
        },
        "output": {"shape": [1, model.num_classes], "meaning": "class probabilities"},
        "vocab": list(model.vocab),
    }


def tflite_predict_proba(path: Path, inputs: np.ndarray) -> np.ndarray:
    """Run an exported model clip by clip over ``[N, frames, features]`` inputs."""
    _, tf = keras_and_tf()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # tf.lite.Interpreter's deprecation notice
        interpreter = tf.lite.Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]
    out = []
    for x in np.asarray(inputs, dtype=np.float32):
        interpreter.set_tensor(source["index"], x[None])
        interpreter.invoke()
        out.append(np.array(interpreter.get_tensor(target["index"])[0]))
    return np.stack(out) if out else np.zeros((0, int(target["shape"][-1])), np.float32)
