"""The key-frame MLP's options, defaults in one place (the original study's setting)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from harness.api import BadConfig

MAX_STAGES = 3


@dataclass(frozen=True)
class KeyframeMLPConfig:
    """Every option of the key-frame MLP; ``--set key=value`` overrides one.

    Defaults reproduce the original study (SEED-METHOD.md); the other values are variants.
    """

    # --- the cascade ----------------------------------------------------------------
    stages: int = 2                      # 1 = MLP1 alone, 2 = + MLP2 (original), 3 = + MLP3
    selection: Literal["honest", "oracle"] = "honest"   # "oracle" adds the label-using protocol
    train_key: Literal["true_class", "argmax"] = "true_class"

    # --- features ---------------------------------------------------------------------
    origin: Literal["left_shoulder", "midpoint"] = "left_shoulder"
    shoulder_width: Literal["xyz", "xy"] = "xyz"        # original: 3-D shoulder distance
    velocity: Literal["raw", "normalised"] = "raw"
    default_fps: float = 30.0            # time step for clips whose fps is unknown
    mirror: bool = True                  # add mirrored copies to train and val

    # --- networks -------------------------------------------------------------------
    hidden1: tuple[int, ...] = (256, 128)
    hidden2: tuple[int, ...] = (512, 256)
    hidden3: tuple[int, ...] = (512, 256)
    dropout: float = 0.3
    l2: float = 1e-4                     # Keras-style: loss += l2 * sum(w**2) of hidden kernels

    # --- training -------------------------------------------------------------------
    lr: float = 5e-4
    batch_size: int = 200
    epochs: int = 300                    # per stage; early stopping usually ends sooner
    patience: int = 10                   # early stopping on validation loss
    lr_patience: int = 5                 # halve the learning rate after this many bad epochs
    lr_factor: float = 0.5
    balance: Literal["none", "class_weights", "sampler"] = "none"

    # --- compute ----------------------------------------------------------------------
    infer_batch_clips: int = 256         # clips whose frames share one forward pass
    # torch threads while fitting and predicting (restored afterwards); 0 keeps the
    # process's setting (`slrbench run --threads N`). Batches of 200 frames gain little
    # from more threads, and on cores shared with other jobs extra OpenMP threads spin
    # against each other, many times slower: pin 1 there (--threads 1 or --set threads=1).
    threads: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.stages <= MAX_STAGES:
            raise BadConfig(f"keyframe_mlp: stages={self.stages}; use 1, 2 or 3 "
                            "(e.g. --set stages=2)")
        for name in ("hidden1", "hidden2", "hidden3"):
            widths = getattr(self, name)
            if not widths or any(w <= 0 for w in widths):
                raise BadConfig(f"keyframe_mlp: {name}={widths}; give positive layer widths, "
                                f"e.g. --set {name}=256,128")
        if not 0.0 <= self.dropout < 1.0:
            raise BadConfig(f"keyframe_mlp: dropout={self.dropout}; use a value in [0, 1)")
        positive = {"lr": self.lr, "batch_size": self.batch_size, "epochs": self.epochs,
                    "patience": self.patience, "lr_patience": self.lr_patience,
                    "default_fps": self.default_fps, "infer_batch_clips": self.infer_batch_clips}
        # Written so that NaN fails them: lr=nan was torch's traceback, lr=inf or l2=nan a
        # network of NaNs reported as a diverged training.
        for name, value in positive.items():
            if not 0 < value < math.inf:
                raise BadConfig(f"keyframe_mlp: {name}={value}; it must be positive (and "
                                "finite)")
        if self.threads < 0:
            raise BadConfig(f"keyframe_mlp: threads={self.threads}; use 0 (torch's setting) "
                            "or a positive count")
        if not 0.0 <= self.l2 < math.inf or not 0.0 < self.lr_factor <= 1.0:
            raise BadConfig(f"keyframe_mlp: l2={self.l2}, lr_factor={self.lr_factor}; need "
                            "a finite l2 >= 0 and 0 < lr_factor <= 1")

    def hidden(self, stage: int) -> tuple[int, ...]:
        return (self.hidden1, self.hidden2, self.hidden3)[stage - 1]
