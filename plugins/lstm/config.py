"""The LSTM baseline's options, defaults in one place (``--set key=value`` overrides)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from harness.api import BadConfig


@dataclass(frozen=True)
class LSTMConfig:
    # Input: both hands (42 landmarks) per frame, the span with hands resampled to `frames`.
    # The study used 90 frames, raw x, y and two 64-unit layers (`--set frames=90
    # normalise=none coords=xy lstm_units=64,64`). On WLASL100 (748 training clips of 100
    # signs) that network fell far below the pooled linear baseline while the same 90-frame
    # features, pooled, did not: the features held the information and the network could
    # not learn it from 7 clips a sign. Shorter sequences, hand shape relative to the wrist
    # with depth, and one wider layer brought it level (measured: README, WLASL table).
    frames: int = 16
    # "none": raw image x, y (the study); "shoulder": centred on the shoulders, in shoulder
    # widths (raw where a dataset has no pose); "wrist": each hand's points relative to its
    # wrist in units of its palm length, the wrist itself in shoulder coordinates.
    normalise: Literal["none", "shoulder", "wrist"] = "wrist"
    coords: Literal["xy", "xyz"] = "xyz"  # the study used x, y; "xyz" adds MediaPipe's depth
    presence_flags: bool = True           # + one 0/1 value per hand (missing hands are 0)
    standardise: bool = True              # z-score each input value with training statistics
    # Network: stacked LSTM + dense head.
    lstm_units: tuple[int, ...] = (128,)
    dense_units: int = 64
    dropout: float = 0.3
    # Training.
    epochs: int = 200
    batch_size: int = 32
    learning_rate: float = 1e-3
    patience: int = 20                    # early stopping, best epoch restored
    # What early stopping watches: "val_top1" (validation accuracy; the first epoch of equal
    # accuracy is kept) or "val_loss". The loss bottoms out well before the accuracy peaks
    # here (benchmarks/wlasl.py measures both). Without validation clips, the training loss.
    monitor: Literal["val_loss", "val_top1"] = "val_top1"
    lr_patience: int = 5                  # halve the learning rate after this many epochs
                                          # without improvement (0: never)
    # Augmentation from the study's second LSTM experiment, each switchable (all off: its
    # first experiment, the plain baseline). Transforms are drawn afresh every epoch for
    # each training sample with probability `augment_prob`; validation is never touched.
    # Units are those of `normalise` (image units for "none", else shoulder widths).
    shift: bool = False
    shift_max: float = 0.05               # uniform x/y translation
    scale: bool = False
    scale_max: float = 0.10               # zoom by 1 +- scale_max about the hands' centre
    noise: bool = False
    noise_std: float = 0.004              # Gaussian jitter per coordinate
    augment_prob: float = 0.5
    balance: bool = False                 # fill smaller classes with augmented copies
    per_class: int = 0                    # balancing target per class; 0 = the largest class
    threads: int = 1                      # TensorFlow CPU threads (0: TensorFlow's choice)

    def __post_init__(self) -> None:
        def bad(message: str) -> None:
            raise BadConfig(f"lstm: {message}")

        for name, allowed in (("normalise", ("none", "shoulder", "wrist")),
                              ("coords", ("xy", "xyz")), ("monitor", ("val_loss", "val_top1"))):
            if getattr(self, name) not in allowed:
                bad(f"{name}={getattr(self, name)!r}; use one of {', '.join(allowed)}")
        for name in ("presence_flags", "standardise", "shift", "scale", "noise", "balance"):
            if getattr(self, name) not in (True, False):
                bad(f"{name}={getattr(self, name)!r}; use true or false")
        # Comparisons are written so that NaN fails them.
        if not self.frames >= 2:
            bad(f"frames={self.frames}; it must be at least 2")
        units = self.lstm_units
        if not isinstance(units, (tuple, list)) or not units or not all(u >= 1 for u in units):
            shown = ",".join(map(str, units)) if isinstance(units, (tuple, list)) else units
            bad(f"lstm_units={shown!r}; give one or more positive layer sizes, e.g. 64,64")
        for name in ("dense_units", "epochs", "batch_size", "patience"):
            if not getattr(self, name) >= 1:
                bad(f"{name}={getattr(self, name)}; it must be at least 1")
        if not 0.0 <= self.dropout < 1.0:
            bad(f"dropout={self.dropout}; use a value in [0, 1)")
        if not 0.0 < self.learning_rate < math.inf:
            bad(f"learning_rate={self.learning_rate}; it must be a number > 0")
        if not self.lr_patience >= 0:
            bad(f"lr_patience={self.lr_patience}; use 0 (never halve the rate) or more")
        for name in ("shift_max", "noise_std"):
            if not 0.0 <= getattr(self, name) < math.inf:
                bad(f"{name}={getattr(self, name)}; it must be a number >= 0")
        # Zoom factors are drawn from 1 +- scale_max: at 1 a clip could shrink to a point.
        if not 0.0 <= self.scale_max < 1.0:
            bad(f"scale_max={self.scale_max}; use a value in [0, 1)")
        if not 0.0 <= self.augment_prob <= 1.0:
            bad(f"augment_prob={self.augment_prob}; use a value in [0, 1]")
        if not self.per_class >= 0:
            bad(f"per_class={self.per_class}; use 0 (the largest class) or more")
        if not self.threads >= 0:
            bad(f"threads={self.threads}; use 0 (TensorFlow's choice) or more")
