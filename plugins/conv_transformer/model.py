"""The conv-transformer as a slrbench model: fit, length-batched prediction, weights saved
as a plain ``.npz`` of arrays plus checked JSON metadata (no pickle; the runner keeps the
config and vocabulary), ONNX export."""
from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
import torch

from harness.api import (BadConfig, ClipSet, ClipSetInfo, RunContext, SlrbenchError,
                         Unlabelled, check_model_threads, load_state_dict, predict_padded,
                         read_model_meta, save_state_dict, torch_compute, write_model_meta)
from plugins.conv_transformer.config import ConvTransformerConfig
from plugins.conv_transformer.features import (feature_size, numpy_features, select,
                                               subsample_index, trim_to_hands)
from plugins.conv_transformer.network import ConvTransformerNet
from plugins.conv_transformer.training import pad, train

FORMAT = "slrbench-conv_transformer/1"
META_FILE = "slrbench.json"
WEIGHTS_FILE = "weights.npz"
PREDICT_BATCH = 64


def _with_torch_compute(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with torch_compute(self.config.threads):
            return method(self, *args, **kwargs)
    return wrapper


def new_net(config: ConvTransformerConfig, num_classes: int) -> ConvTransformerNet:
    c = config
    return ConvTransformerNet(feature_size(c.coords, c.hand_shape, c.hand_angles), num_classes,
                              c.dim, c.stages, c.conv_blocks, c.kernel, c.expand, c.heads,
                              c.dropout, c.drop_path, c.late_dropout)


class ConvTransformerModel:
    export_formats = ("onnx", "tflite")

    def __init__(self, config: ConvTransformerConfig, num_classes: int,
                 vocab: tuple[str, ...] = (), lacks: tuple[str, ...] = ()):
        """``lacks``: the Holistic parts its dataset has none of (the harness blanks them in
        what it predicts on; an exported graph, used without the harness, does it itself)."""
        self.config = config
        self.num_classes = int(num_classes)
        self.vocab = tuple(vocab)
        self.lacks = tuple(lacks)
        self.device = "cpu"
        self.net = new_net(config, self.num_classes)

    # --- inputs -----------------------------------------------------------------------
    def points(self, clips: ClipSet | Unlabelled, i: int) -> np.ndarray:
        return select(clips.clip(i))

    def rows(self, points: np.ndarray) -> np.ndarray:
        """``[T, 59, 3]`` points -> ``[min(T, max_frames), F]`` network input."""
        points = points[subsample_index(len(points), self.config.max_frames)]
        if self.config.trim:
            points = trim_to_hands(points)
        c = self.config
        return numpy_features(points, c.coords, c.hand_shape, c.anchor, c.hand_angles,
                              c.hand_gap)

    def features(self, clips: ClipSet | Unlabelled) -> list[np.ndarray]:
        return [self.rows(self.points(clips, i)) for i in range(len(clips))]

    # --- training ---------------------------------------------------------------------
    @_with_torch_compute
    def fit(self, train_set: ClipSet, val: ClipSet, ctx: RunContext) -> None:
        if len(train_set) == 0:
            raise SlrbenchError(f"conv_transformer: dataset {train_set.name!r} has no "
                                "training clips")
        check_model_threads("conv_transformer", self.config.threads)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ctx.seed)
            self.device = ("cuda" if str(ctx.device).startswith("cuda")
                           and torch.cuda.is_available() else "cpu")
            self.net = new_net(self.config, self.num_classes).to(self.device)
            points = [self.points(train_set, i) for i in range(len(train_set))]
            val_rows = self.features(val) if len(val) else []
            train(self, points, train_set.labels, val_rows,
                  val.labels if len(val) else np.zeros(0, np.int64), ctx)

    # --- prediction -------------------------------------------------------------------
    def predict_rows(self, rows: list[np.ndarray]) -> np.ndarray:
        return predict_padded(self.net, rows, pad, self.num_classes, self.device,
                              PREDICT_BATCH)

    @_with_torch_compute
    def predict_proba(self, clips: Unlabelled) -> np.ndarray:
        return self.predict_rows(self.features(clips))

    def num_parameters(self) -> int:
        return int(sum(p.numel() for p in self.net.parameters()))

    # --- persistence ------------------------------------------------------------------
    def save(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_state_dict(path / WEIGHTS_FILE, self.net)
        write_model_meta(path, {"format": FORMAT, "num_classes": self.num_classes,
                                "hand_angles": self.config.hand_angles,
                                "hand_gap": self.config.hand_gap}, META_FILE)

    @classmethod
    def load(cls, path: Path, config: ConvTransformerConfig, info: ClipSetInfo
             ) -> "ConvTransformerModel":
        """The runner keeps the config and the vocabulary; the folder holds the weights."""
        path = Path(path)
        meta = read_model_meta(path, "conv_transformer", FORMAT, needs=(WEIGHTS_FILE,),
                               name=META_FILE)
        # a model saved before the angle features or the gap filling existed has neither;
        # its run's saved config lacks the fields, so the config arrived with today's defaults
        config = dataclasses.replace(config, hand_angles=bool(meta.get("hand_angles", False)),
                                     hand_gap=int(meta.get("hand_gap", 0)))
        model = cls(config, info.num_classes, tuple(info.vocab), tuple(info.lacks))
        load_state_dict(path / WEIGHTS_FILE, model.net)
        return model

    # --- export -----------------------------------------------------------------------
    def export(self, path: Path, fmt: str) -> Path:
        """A graph from raw Holistic landmarks to class probabilities, preprocessing inside:
        ONNX (``[T, 543, 3]``, any T) or TFLite (a fixed-size frame buffer + its length)."""
        if fmt == "onnx":
            from plugins.conv_transformer.export import export_onnx as exporter
        elif fmt == "tflite":
            from plugins.conv_transformer.tflite import export_tflite as exporter
        else:
            raise BadConfig(f"conv_transformer exports to 'onnx' or 'tflite', not {fmt!r}")
        with torch_compute(self.config.threads):
            return exporter(self, Path(path))


def build(config: ConvTransformerConfig, info: ClipSetInfo) -> ConvTransformerModel:
    if not isinstance(config, ConvTransformerConfig):
        raise BadConfig(f"conv_transformer needs a ConvTransformerConfig, got "
                        f"{type(config).__name__}")
    if not info.has_landmarks:
        raise SlrbenchError(f"conv_transformer needs landmarks but dataset {info.name!r} has "
                            "only videos; extract them with `slrbench data extract`")
    return ConvTransformerModel(config, info.num_classes, tuple(info.vocab),
                                tuple(info.lacks))
