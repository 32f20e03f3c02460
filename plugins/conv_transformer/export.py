"""ONNX export: one graph from raw MediaPipe Holistic landmarks to class probabilities.

The graph takes ``landmarks`` float32 ``[T, 543, 3]`` (any T >= 1; NaN where a part was
not detected, exactly what `slrbench data extract` writes) and returns ``probabilities``
``[1, num_classes]``. The landmark subset, the per-clip normalisation, the temporal
differences and the subsampling of long clips are inside it, from the same torch code
the model trains with (features.py), so nothing has to be re-implemented on the device.
A JSON sidecar beside the file names the classes; the two are written together or not
at all (:func:`writing_export`).

TFLite (tflite.py) runs the same computation at fixed sizes.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from harness.api import N_LANDMARKS, PARTS, SlrbenchError, atomic_paths
from plugins.conv_transformer.features import (SUBSET, clip_features, subsample,
                                               trim_in_place)

INPUT, OUTPUT = "landmarks", "probabilities"
OPSET = 18


class RawLandmarksModel(nn.Module):
    """Raw ``[T, 543, 3]`` landmarks -> ``[1, classes]`` probabilities, preprocessing included."""

    def __init__(self, net: nn.Module, config, max_frames: int | None = None,
                 lacks: tuple[str, ...] = ()):
        """``config``: the model's ConvTransformerConfig (its input options); ``max_frames``
        the frames the network reads (default: the config's); ``lacks``: the parts its
        training data had none of, blanked in the input as the harness blanks them."""
        super().__init__()
        self.net, self.config = net, config
        self.max_frames = config.max_frames if max_frames is None else max_frames
        self.register_buffer("subset", torch.as_tensor(SUBSET, dtype=torch.int64))
        lacked = [i for part in lacks if part in PARTS for i in range(N_LANDMARKS)[PARTS[part]]]
        blanked = np.isin(SUBSET, lacked)
        # NaN where blanked, 1 elsewhere: a product keeps the graph one elementwise step
        self.register_buffer("keep", torch.as_tensor(
            np.where(blanked, np.nan, 1.0)[None, :, None], dtype=torch.float32)
            if blanked.any() else None)

    def subset_points(self, landmarks: torch.Tensor) -> torch.Tensor:
        """``[T, 543, 3]`` -> the model's ``[T, 59, 3]`` points, its lacked parts NaN."""
        points = landmarks.index_select(1, self.subset)
        return points if self.keep is None else points * self.keep

    def forward(self, landmarks: torch.Tensor) -> torch.Tensor:
        points = subsample(self.subset_points(landmarks), self.max_frames)
        return self.answer(points, torch.ones(points.shape[:1], dtype=torch.bool,
                                              device=points.device))

    def answer(self, points: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Subset points ``[T, 59, 3]`` and their real frames ``[T]`` -> probabilities."""
        c = self.config
        if c.trim:
            points, keep = trim_in_place(points)
            valid = valid & keep
        rows = clip_features(points, c.coords, c.hand_shape, c.anchor, c.hand_angles,
                             c.hand_gap)
        rows = rows.unsqueeze(0)
        return torch.softmax(self.net(rows, valid.unsqueeze(0)).float(), dim=-1)


@contextlib.contextmanager
def quiet_conversion(*logger_names: str):
    """A converter's chatter kept off the terminal: its Python warnings, what it prints and
    its loggers below ERROR (torch.onnx logs a line per optional operator library it does
    not find; litert-torch prints a progress tree). The harness silences native stderr."""
    loggers = [logging.getLogger(name) for name in logger_names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def sidecar_path(path: Path) -> Path:
    return Path(path).with_suffix(".json")


def export_onnx(model, path: Path) -> Path:
    try:
        import onnx  # noqa: F401  (the exporter needs it; say so before torch fails deep down)
        import onnxscript  # noqa: F401
    except ImportError as error:
        raise SlrbenchError(f"ONNX export needs the [onnx] extra ({error.name} is missing): "
                            "pip install -e '.[onnx]'") from None
    cfg = model.config
    example = torch.from_numpy(np.random.default_rng(0).uniform(
        0.2, 0.8, size=(24, N_LANDMARKS, 3)).astype(np.float32))
    frames = torch.export.Dim("frames", min=1, max=100_000)
    with writing_export(model, path) as (graph, side), quiet_conversion("torch.onnx"):
        wrapped = RawLandmarksModel(model.net, cfg, lacks=model.lacks).eval()
        torch.onnx.export(wrapped, (example,), str(graph), input_names=[INPUT],
                          output_names=[OUTPUT], dynamic_shapes={"landmarks": {0: frames}},
                          opset_version=OPSET, dynamo=True, external_data=False)
        write_json(side, _sidecar(model))
    return Path(path)


@contextlib.contextmanager
def writing_export(model, path: Path):
    """Temporary files for the graph and its sidecar, renamed onto ``path`` and
    :func:`sidecar_path` together (the harness's ``atomic_paths``: both or neither, a
    failed export leaves an earlier one as it was, a folder in either place refused before
    the slow conversion starts). The network is on the CPU meanwhile and back on its own
    device afterwards."""
    device = next(model.net.parameters()).device
    with atomic_paths([Path(path), sidecar_path(path)]) as temps:
        model.net.to("cpu")
        try:
            yield temps
        finally:
            model.net.to(device)


LAYOUT = ("MediaPipe Holistic: pose 0-32, face 33-500, left hand 501-521, right hand "
          "522-542; x, y in image units, z as MediaPipe gives it; NaN for every coordinate "
          "of a part not detected in a frame")


def graph_description(model) -> dict:
    """What every exported graph's sidecar says besides its inputs."""
    cfg = model.config
    anchoring = "shoulder-anchored" if cfg.anchor == "shoulders" else "per-clip"
    trimming = ", hand-less frames at either end dropped" if cfg.trim else ""
    angles = ", finger angles" if cfg.hand_angles else ""
    blanked = (f"{' and '.join(model.lacks)} set to NaN (its training data had none), "
               if model.lacks else "")
    return {"layout": LAYOUT,
            "preprocessing": f"inside the graph ({blanked}landmark subset, {anchoring} "
                             "normalisation"
                             f"{angles}, temporal differences, at most {cfg.max_frames} "
                             f"frames{trimming})",
            "output": {"name": OUTPUT, "shape": [1, model.num_classes],
                       "meaning": "class probabilities, in the order of vocab"},
            "vocab": list(model.vocab)}


def write_json(path: Path, sidecar: dict) -> None:
    Path(path).write_text(json.dumps(sidecar, indent=2), encoding="utf-8")


def _sidecar(model) -> dict:
    return {"input": {"name": INPUT, "shape": ["frames", N_LANDMARKS, 3], "dtype": "float32"},
            **graph_description(model)}


class OnnxRunner:
    """An exported graph loaded once in ONNX Runtime on one thread; a raw ``[T, 543, 3]``
    clip in, its ``[classes]`` probabilities out."""

    def __init__(self, path: Path):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(path), options,
                                                    providers=["CPUExecutionProvider"])

    def __call__(self, clip: np.ndarray) -> np.ndarray:
        return self.session.run([OUTPUT], {INPUT: np.ascontiguousarray(clip, np.float32)})[0][0]


def answers(runner, clips: list[np.ndarray]) -> np.ndarray:
    """A runner's probabilities for each raw clip, one clip at a time: ``[N, classes]``."""
    out = [runner(clip) for clip in clips]
    return np.stack(out) if out else np.zeros((0, 0), np.float32)


def onnx_predict_proba(path: Path, clips: list[np.ndarray]) -> np.ndarray:
    """Run an exported graph on raw ``[T, 543, 3]`` clips, one at a time."""
    return answers(OnnxRunner(path), clips)
