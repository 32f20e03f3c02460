"""R(2+1)D options: every default in one place; ``--set key=value`` overrides a field."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Optional

from harness.api import BadConfig

# What each value of ``input`` needs from the dataset (ModelSpec.inputs vocabulary).
DATA_FOR_INPUT = {"video": "video", "skeleton": "landmarks"}


@dataclass(frozen=True)
class R2Plus1DConfig:
    # Input: RGB frames of the dataset's videos, or its landmarks drawn as a skeleton video.
    input: Literal["video", "skeleton"] = "video"
    frames: int = 16                 # clip length T fed to the network (paper: 16)
    size: int = 112                  # clip height = width (paper: 112)
    width: float = 1.0               # channel multiplier; 1.0 is R(2+1)D-18 itself
    dropout: float = 0.5             # before the linear head
    weights: Optional[str] = None    # local state dict to start from (never downloaded)

    # Training.
    epochs: int = 30
    batch_size: int = 8
    lr: float = 1e-3                 # AdamW, cosine decay to 0 over the epochs
    weight_decay: float = 1e-2
    label_smoothing: float = 0.1
    patience: int = 10               # stop after this many epochs without a better val top-1
    amp: bool = True                 # mixed precision (float16 autocast) on CUDA only
    workers: int = 0                 # data-loader processes (0: load in the training process)

    # Sampling and augmentation (training only; evaluation is deterministic).
    train_sampling: Literal["segment", "uniform"] = "segment"   # TSN-style random frame
    crop_scale: float = 0.6          # random resized crop keeps >= this fraction of the area
    flip: float = 0.5                # probability of mirroring a training clip
    eval_crop: Literal["full", "center"] = "full"   # whole frame, or a central square

    # Skeleton rendering (input=skeleton).
    line_width: int = 2              # pixels at size 112; scaled with size

    def __post_init__(self) -> None:
        # Written so that NaN fails them; lr, weight_decay and label_smoothing went
        # unchecked to torch (a traceback after the videos were decoded), width=inf too.
        checks = [("frames", self.frames >= 1, ">= 1"),
                  ("size", self.size >= 16, ">= 16 (the network downsamples 16x)"),
                  ("width", 0 < self.width < math.inf, "> 0 (and finite)"),
                  ("dropout", 0 <= self.dropout < 1, "in [0, 1)"),
                  ("epochs", self.epochs >= 0, ">= 0"),
                  ("batch_size", self.batch_size >= 1, ">= 1"),
                  ("lr", 0 < self.lr < math.inf, "> 0 (and finite)"),
                  ("weight_decay", 0 <= self.weight_decay < math.inf, ">= 0 (and finite)"),
                  ("label_smoothing", 0 <= self.label_smoothing <= 1, "in [0, 1]"),
                  ("patience", self.patience >= 0, ">= 0 (0: never stop early)"),
                  ("crop_scale", 0 < self.crop_scale <= 1, "in (0, 1]"),
                  ("flip", 0 <= self.flip <= 1, "in [0, 1]"),
                  ("workers", self.workers >= 0, ">= 0"),
                  # a line wider than the frame draws nothing more, and OpenCV refuses one
                  # past 32767 pixels (line_width=1000000 was its assertion's traceback)
                  ("line_width", 1 <= self.line_width <= 112,
                   "in [1, 112] (pixels at size 112: 112 already covers the frame)")]
        for name, ok, allowed in checks:
            if not ok:
                raise BadConfig(f"r2plus1d: {name}={getattr(self, name)}; it must be {allowed}")
        # Batch norm in training needs two values per channel; the last stage sees
        # ceil(frames / 8) x ceil(size / 16)^2 of them per clip (a final batch of one clip
        # is dropped, so only batches of one can get there): torch's ValueError mid-epoch.
        if self.batch_size == 1 and math.ceil(self.frames / 8) * math.ceil(self.size / 16) == 1:
            raise BadConfig(f"r2plus1d: batch_size=1 with frames={self.frames} and "
                            f"size={self.size} leaves batch norm one value per channel in the "
                            "last stage; use batch_size >= 2, frames >= 9 or size >= 17")

    def required_inputs(self) -> str:
        """What the dataset must provide for this config: "video" or "landmarks" (the
        runner asks the config, not only the ModelSpec, because it depends on ``input``)."""
        return DATA_FOR_INPUT[self.input]
