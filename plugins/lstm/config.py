"""The LSTM baseline's options, defaults in one place (``--set key=value`` overrides)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


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
        if self.frames < 2:
            raise ValueError("frames must be at least 2")
        if not self.lstm_units or min(self.lstm_units) < 1:
            raise ValueError("lstm_units needs one or more positive sizes, e.g. 64,64")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be positive")
        if not 0.0 <= self.augment_prob <= 1.0:
            raise ValueError("augment_prob must lie in [0, 1]")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must lie in [0, 1)")
