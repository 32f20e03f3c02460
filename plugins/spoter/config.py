"""SPOTER's options, defaults in one place (``--set key=value`` overrides)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from harness.api import BadConfig


@dataclass(frozen=True)
class SpoterConfig:
    # "paper": Bohacek & Hruz's normalised body + hand coordinates (108 values per frame)
    # and their random augmentations; "study": the original study's variant, hand angle
    # features + shoulder-normalised body, training set tripled by +-15 degree rotations.
    variant: Literal["paper", "study"] = "paper"
    # Transformer (the paper: 108 wide, 9 heads, 6 + 6 layers, feed-forward 2048).
    d_model: int = 108
    heads: int = 9
    encoder_layers: int = 6
    decoder_layers: int = 6
    feedforward: int = 2048
    dropout: float = 0.1
    max_frames: int = 256               # longer clips are subsampled to this many frames
    wrists_from_hands: bool = True      # hands-only data: the hand's wrist stands in for the
                                        # body's, so hand positions survive normalisation
    # Training.
    epochs: int = 100
    batch_size: int = 16                # clips of similar length batched together
    optimizer: Literal["adam", "sgd"] = "adam"   # the paper: SGD, lr 0.001, batch 1
    learning_rate: float = 1e-4
    weight_decay: float = 1e-4
    patience: int = 20                  # early stopping on validation loss, best restored
    # Augmentation ("paper": one of rotate / perspective / squeeze / arm-joint rotation with
    # probability augment_prob per clip and epoch; "study": the +-rotation copies).
    augment: bool = True
    augment_prob: float = 0.5
    rotate_deg: float = 13.0
    perspective_ratio: float = 0.1
    squeeze_ratio: float = 0.15
    arm_rotate_deg: float = 4.0
    arm_rotate_prob: float = 0.3
    mirror_prob: float = 0.0            # not in the paper: left/right mirroring after the
                                        # paper augmentations (paper variant), off
    study_rotate_deg: float = 15.0
    # torch threads while fitting and predicting (restored afterwards; 0 keeps torch's
    # setting): on cores shared with other jobs, OpenMP threads spin against each other.
    threads: int = 1

    def __post_init__(self) -> None:
        def bad(message: str) -> None:
            raise BadConfig(f"spoter: {message}")

        for name, allowed in (("variant", ("paper", "study")), ("optimizer", ("adam", "sgd"))):
            if getattr(self, name) not in allowed:
                bad(f"{name}={getattr(self, name)!r}; use one of {', '.join(allowed)}")
        for name in ("wrists_from_hands", "augment"):
            if getattr(self, name) not in (True, False):
                bad(f"{name}={getattr(self, name)!r}; use true or false")
        # Comparisons are written so that NaN fails them.
        for name in ("d_model", "heads", "encoder_layers", "decoder_layers", "feedforward",
                     "max_frames", "epochs", "batch_size", "patience"):
            if not getattr(self, name) >= 1:
                bad(f"{name}={getattr(self, name)}; it must be at least 1")
        if self.d_model % self.heads:
            bad(f"d_model={self.d_model} must be divisible by heads={self.heads}")
        if not 0.0 <= self.dropout < 1.0:
            bad(f"dropout={self.dropout}; use a value in [0, 1)")
        for name in ("augment_prob", "arm_rotate_prob", "mirror_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                bad(f"{name}={getattr(self, name)}; use a value in [0, 1]")
        if not 0.0 < self.learning_rate < math.inf:
            bad(f"learning_rate={self.learning_rate}; it must be a number > 0")
        if not 0.0 <= self.weight_decay < math.inf:
            bad(f"weight_decay={self.weight_decay}; it must be a number >= 0")
        # Angles are drawn from +-the value: a magnitude, at most a half turn.
        for name in ("rotate_deg", "arm_rotate_deg", "study_rotate_deg"):
            if not 0.0 <= getattr(self, name) <= 180.0:
                bad(f"{name}={getattr(self, name)}; use degrees in [0, 180]")
        # Shears cut up to this fraction of the frame from a side (both sides, for the
        # squeeze): at 0.5 the warped frame collapses and the homography is singular.
        for name in ("perspective_ratio", "squeeze_ratio"):
            if not 0.0 <= getattr(self, name) < 0.5:
                bad(f"{name}={getattr(self, name)}; use a fraction in [0, 0.5)")
        if not self.threads >= 0:
            bad(f"threads={self.threads}; use 0 (torch's own setting) or more")
