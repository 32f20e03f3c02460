"""conv_transformer: the design family that won Google's Isolated Sign Language Recognition
Kaggle competition (2023), in PyTorch, written from its published description.

- Inputs (features.py): the upper-body pose and both hands (a hand's short gaps filled
  along the pose's wrist), normalised per clip, each hand's shape relative to its wrist and
  its finger angles (cosines of the joint bends and finger spreads, the palm's normal),
  first and second temporal differences; NaN-aware, so the same defaults run on full
  Holistic clips and on hands-only sets.
- Network (network.py): a linear stem, then ``stages`` x (``conv_blocks`` depthwise-
  separable temporal convolution blocks with efficient channel attention, then one
  transformer block), mean-pooled over the frames, late dropout, a linear classifier.
  Variable-length batches are masked: padding never changes a clip's answer.
- Training (training.py): the harness's augmentation library (flip, affine, temporal
  resampling, temporal and spatial masking, optional temporal CutMix), label smoothing,
  AdamW with warm-up and cosine decay, late dropout, mixed precision on CUDA, optionally
  the harness's moving average of the weights (then what is evaluated and kept), and its
  early-stopping rule on validation loss.
- Export (export.py, tflite.py): ``slrbench export --format onnx|tflite``, a graph from
  raw ``[T, 543, 3]`` landmarks to probabilities with the preprocessing inside.
"""
from __future__ import annotations

from pathlib import Path

from harness.api import ModelSpec, hookimpl
from plugins.conv_transformer.config import ConvTransformerConfig


def _build(config, info):
    from plugins.conv_transformer.model import build

    return build(config, info)


def _load(path: Path, config, info):
    from plugins.conv_transformer.model import ConvTransformerModel

    return ConvTransformerModel.load(path, config, info)


SPEC = ModelSpec(
    name="conv_transformer",
    summary="Depthwise conv + ECA blocks interleaved with transformer blocks on normalised "
            "landmarks and their motion (ISLR Kaggle winning design); heavy augmentation; "
            "ONNX and TFLite export",
    inputs="landmarks",
    config=ConvTransformerConfig,
    build=_build,
    load=_load,
)


@hookimpl
def slrbench_models() -> list[ModelSpec]:
    return [SPEC]
