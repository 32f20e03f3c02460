"""R(2+1)D options: every default in one place; ``--set key=value`` overrides a field."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

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
        checks = [(self.frames >= 1, "frames must be >= 1"),
                  (self.size >= 16, "size must be >= 16 (the network downsamples 16x)"),
                  (self.width > 0, "width must be > 0"),
                  (0 <= self.dropout < 1, "dropout must be in [0, 1)"),
                  (self.epochs >= 0, "epochs must be >= 0"),
                  (self.batch_size >= 1, "batch_size must be >= 1"),
                  (0 < self.crop_scale <= 1, "crop_scale must be in (0, 1]"),
                  (0 <= self.flip <= 1, "flip must be in [0, 1]"),
                  (self.workers >= 0, "workers must be >= 0"),
                  (self.line_width >= 1, "line_width must be >= 1")]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def required_inputs(self) -> str:
        """What the dataset must provide for this config: "video" or "landmarks" (the
        runner asks the config, not only the ModelSpec, because it depends on ``input``)."""
        return DATA_FOR_INPUT[self.input]
