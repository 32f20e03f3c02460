"""TFLite export of a trained LSTM and a small runner for the exported file.

The exported graph takes the same ``[1, frames, features]`` input as the Keras network
(batch 1: what an on-device recogniser feeds). A JSON sidecar beside it records how to
build that input from MediaPipe landmarks and the class names of the outputs.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from pathlib import Path

import numpy as np

from plugins.lstm.backend import keras_and_tf


def sidecar_path(path: Path) -> Path:
    return Path(path).with_suffix(".json")


def export_tflite(model, path: Path) -> Path:
    keras, _ = keras_and_tf()
    cfg = model.config
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tflite")
    signature = [keras.InputSpec(shape=(1, cfg.frames, model.num_features), dtype="float32")]
    with contextlib.redirect_stdout(io.StringIO()):   # Keras prints "Saved artifact at ..."
        model._net.export(str(tmp), format="litert", input_signature=signature)
    os.replace(tmp, path)
    sidecar = {
        "input": {"shape": [1, cfg.frames, model.num_features], "dtype": "float32",
                  "layout": "per frame: left hand x0,y0..x20,y20, right hand x0,y0..x20,y20"
                            + (", left present, right present" if cfg.presence_flags else ""),
                  "frames": cfg.frames, "resample": "nearest frame",
                  "normalise": cfg.normalise, "missing_hand": "all zeros"},
        "output": {"shape": [1, model.num_classes], "meaning": "class probabilities"},
        "vocab": list(model.vocab),
    }
    tmp_side = sidecar_path(path).with_name(f".{sidecar_path(path).name}.{os.getpid()}.tmp")
    tmp_side.write_text(json.dumps(sidecar, indent=2), encoding="utf-8")
    os.replace(tmp_side, sidecar_path(path))
    return path


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
