"""The conv-transformer's options, defaults in one place (``--set key=value`` overrides)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.api import BadConfig


@dataclass(frozen=True)
class ConvTransformerConfig:
    # --- inputs: upper-body pose (face points included) and both hands, centred and
    # scaled per clip; then first and second temporal differences.
    coords: Literal["xy", "xyz"] = "xy"
    # shoulders: positions relative to the shoulders where a pose is seen (clip: to the
    # clip's own mean and spread, which is what hands-only data always gets)
    anchor: Literal["clip", "shoulders"] = "shoulders"
    hand_shape: bool = True             # + each hand relative to its wrist, in hand sizes
    hand_angles: bool = True            # + each hand's finger bends, spreads, palm normal
    max_frames: int = 256               # longer clips are subsampled evenly to this many
    # a hand lost for up to this many frames between two sightings, while the pose still
    # sees its wrist, is filled in: its offset from the wrist interpolated (0: off)
    hand_gap: int = 16
    trim: bool = False                  # drop the frames before and after any hand is seen

    # --- network: `stages` x (`conv_blocks` depthwise-separable conv blocks with efficient
    # channel attention, then one transformer block), mean-pooled over the frames.
    dim: int = 128
    stages: int = 2
    conv_blocks: int = 2
    kernel: int = 17                    # temporal width of the depthwise convolutions (odd)
    expand: int = 2                     # inner width of conv and feed-forward blocks / dim
    heads: int = 4
    dropout: float = 0.1                # inside the blocks
    drop_path: float = 0.1              # stochastic depth, largest in the last block
    late_dropout: float = 0.5           # dropout before the classifier, switched on ...
    late_dropout_start: float = 0.5     # ... after this fraction of the epochs

    # --- training: AdamW, linear warm-up then cosine decay; best epoch by val loss kept.
    epochs: int = 80
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 0.05
    warmup_epochs: int = 5
    label_smoothing: float = 0.2
    patience: int = 40                  # epochs without a better val loss before stopping
    # > 0: evaluate and keep the harness's moving average of the weights over this
    # fraction of the latest steps (0: the last step's weights)
    average_window: float = 0.0
    precision: Literal["auto", "fp32", "amp"] = "auto"   # auto: mixed on CUDA, fp32 on CPU

    # --- augmentation (harness.api's library), drawn afresh per clip and epoch.
    augment: bool = True
    flip_prob: float = 0.5
    affine_prob: float = 0.75
    scale_min: float = 0.8
    scale_max: float = 1.2
    shear: float = 0.15
    rotate_deg: float = 15.0
    shift: float = 0.1
    resample_prob: float = 0.8
    resample_min: float = 0.5
    resample_max: float = 1.5
    temporal_mask_prob: float = 0.5
    temporal_mask_max: float = 0.2      # fraction of the clip
    spatial_mask_prob: float = 0.3
    hand_affine_prob: float = 0.0       # each hand zoomed/turned about its wrist, moved
    hand_scale_min: float = 0.8
    hand_scale_max: float = 1.2
    hand_rotate_deg: float = 15.0
    hand_shift: float = 0.05            # fraction of the clip's extent
    finger_bend_prob: float = 0.0       # each finger turned about its base joint
    finger_bend_deg: float = 10.0
    mix_prob: float = 0.0               # temporal CutMix with another training clip

    # torch threads while fitting and predicting (restored afterwards; 0 keeps torch's):
    # on cores shared with other jobs, OpenMP threads spin against each other.
    threads: int = 1

    def __post_init__(self) -> None:
        def bad(message: str) -> None:
            raise BadConfig(f"conv_transformer: {message}")

        for name in ("max_frames", "dim", "stages", "conv_blocks", "expand", "heads", "epochs",
                     "batch_size"):
            if getattr(self, name) < 1:
                bad(f"{name}={getattr(self, name)}; it must be at least 1")
        if self.dim % self.heads:
            bad(f"dim={self.dim} must be divisible by heads={self.heads}")
        if self.kernel < 1 or self.kernel % 2 == 0:
            bad(f"kernel={self.kernel}; use an odd width such as 17")
        for name in ("dropout", "drop_path", "late_dropout", "label_smoothing"):
            if not 0.0 <= getattr(self, name) < 1.0:
                bad(f"{name}={getattr(self, name)}; use a value in [0, 1)")
        for name in ("late_dropout_start", "flip_prob", "affine_prob", "resample_prob",
                     "temporal_mask_prob", "spatial_mask_prob", "hand_affine_prob",
                     "finger_bend_prob", "mix_prob", "temporal_mask_max"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                bad(f"{name}={getattr(self, name)}; use a value in [0, 1]")
        if not 0.0 < self.resample_min <= self.resample_max:
            bad(f"resample_min={self.resample_min}, resample_max={self.resample_max}; need "
                "0 < min <= max")
        for low, high in (("scale_min", "scale_max"), ("hand_scale_min", "hand_scale_max")):
            if not 0.0 < getattr(self, low) <= getattr(self, high):
                bad(f"{low}={getattr(self, low)}, {high}={getattr(self, high)}; need "
                    "0 < min <= max")
        if self.learning_rate <= 0 or self.weight_decay < 0 or self.warmup_epochs < 0 \
                or self.patience < 1 or self.threads < 0 or not 0 <= self.average_window <= 1:
            bad("learning_rate > 0, weight_decay >= 0, warmup_epochs >= 0, patience >= 1, "
                "threads >= 0 and average_window in [0, 1] are needed")
        if self.hand_gap < 0:
            bad(f"hand_gap={self.hand_gap}; use 0 (off) or the most frames a gap may span")
