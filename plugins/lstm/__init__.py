"""LSTM baseline of the original study, in Keras 3 on TensorFlow (no PyTorch needed).

Both hands' x, y (42 landmarks) resampled to 90 frames, a stacked LSTM and a dense head;
the study's shift / scale / noise augmentation and class balancing, each switchable.
TensorFlow is imported only when a model is built, loaded or exported.
"""
from __future__ import annotations

from pathlib import Path

from harness.api import ModelSpec, hookimpl
from plugins.lstm.config import LSTMConfig


def _build(config, info):
    from plugins.lstm.model import build

    return build(config, info)


def _load(path: Path, config, info):
    from plugins.lstm.model import LSTMModel

    return LSTMModel.load(path, config, info)


SPEC = ModelSpec(
    name="lstm",
    summary="LSTM over both hands resampled to 16 steps (Keras/TensorFlow; the study's "
            "baseline, its 90 frames of x, y with --set; shift/scale/noise + class balancing "
            "switchable; TFLite export)",
    inputs="landmarks",
    config=LSTMConfig,
    build=_build,
    load=_load,
    version="3",        # 2: only the span with hands is resampled; 3: stops on val top-1
)


@hookimpl
def slrbench_models() -> list[ModelSpec]:
    return [SPEC]
