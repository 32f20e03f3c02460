"""From raw clips to the LSTM's fixed-length input: both hands' x, y resampled in time.

The study fed 90 frames of hand landmarks (x, y of 21 points per hand) to its LSTM. Points
stay NaN (not detected) until :func:`encode`, so that augmentation never moves a missing
hand; :func:`encode` turns NaN into 0 and adds one presence flag per hand.
"""
from __future__ import annotations

import numpy as np

from harness.api import LEFT_HAND, RIGHT_HAND, shoulder_normalise

HAND_POINTS = 21
POINTS = 2 * HAND_POINTS                  # left hand 0-20, right hand 21-41


def resample_index(n_frames: int, length: int) -> np.ndarray:
    """Nearest-frame indices that stretch or squeeze ``n_frames`` onto ``length`` steps.

    Nearest rather than linear interpolation: interpolating between a frame with a hand and
    one without would invent half a hand.
    """
    if n_frames <= 1:
        return np.zeros(length, dtype=np.int64)
    return np.rint(np.linspace(0.0, n_frames - 1, length)).astype(np.int64)


def hand_points(clip: np.ndarray, length: int, normalise: str = "none") -> np.ndarray:
    """``[length, 42, 2]`` float32 x, y of the left then right hand; NaN where missing."""
    if normalise == "shoulder":
        clip = shoulder_normalise(clip)
    elif normalise != "none":
        raise ValueError(f"normalise must be 'none' or 'shoulder', not {normalise!r}")
    hands = np.concatenate([clip[:, LEFT_HAND, :2], clip[:, RIGHT_HAND, :2]], axis=1)
    return hands[resample_index(len(hands), length)].astype(np.float32)


def clip_points(clips, length: int, normalise: str = "none") -> np.ndarray:
    """``[N, length, 42, 2]`` for every clip of a ClipSet or Unlabelled view."""
    out = np.empty((len(clips), length, POINTS, 2), dtype=np.float32)
    for i in range(len(clips)):
        out[i] = hand_points(clips.clip(i), length, normalise)
    return out


def hand_present(points: np.ndarray) -> np.ndarray:
    """``[..., 2]`` True where every point of the left / right hand is finite."""
    finite = np.isfinite(points).all(axis=-1)
    return np.stack([finite[..., :HAND_POINTS].all(axis=-1),
                     finite[..., HAND_POINTS:].all(axis=-1)], axis=-1)


def encode(points: np.ndarray, presence_flags: bool) -> np.ndarray:
    """``[..., L, 42, 2]`` points -> ``[..., L, 84 (+2)]`` network input, NaN -> 0."""
    present = hand_present(points)
    # A hand with some NaN points counts as missing as a whole: zero all its points.
    mask = np.repeat(present, HAND_POINTS, axis=-1)[..., None]
    values = np.where(mask, np.nan_to_num(points, nan=0.0), 0.0).astype(np.float32)
    flat = values.reshape(*values.shape[:-2], POINTS * 2)
    if not presence_flags:
        return flat
    return np.concatenate([flat, present.astype(np.float32)], axis=-1)


def feature_size(presence_flags: bool) -> int:
    return POINTS * 2 + (2 if presence_flags else 0)
