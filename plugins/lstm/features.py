"""From raw clips to the LSTM's fixed-length input: both hands resampled in time.

The study fed 90 frames of hand landmarks (x, y of 21 points per hand) to its LSTM; z can
be added. Only the span from the first to the last frame with a hand is resampled: frames
before and after it hold no hand (on WLASL the hands rest below the picture at both ends
of many clips), and steps spent on them are steps the sign does not get. Points stay NaN
(not detected) until :func:`encode`, so that augmentation never moves a missing hand;
:func:`encode` optionally re-expresses each hand relative to its wrist and standardises,
then writes a missing hand as zeros and adds one presence flag per hand.
"""
from __future__ import annotations

import numpy as np

from harness.api import LEFT_HAND, RIGHT_HAND, shoulder_normalise

HAND_POINTS = 21
POINTS = 2 * HAND_POINTS                  # left hand 0-20, right hand 21-41
PALM_POINT = 9                            # middle finger base: wrist -> 9 is the palm length


def resample_index(n_frames: int, length: int) -> np.ndarray:
    """Nearest-frame indices that stretch or squeeze ``n_frames`` onto ``length`` steps.

    Nearest rather than linear interpolation: interpolating between a frame with a hand and
    one without would invent half a hand.
    """
    if n_frames <= 1:
        return np.zeros(length, dtype=np.int64)
    return np.rint(np.linspace(0.0, n_frames - 1, length)).astype(np.int64)


def hand_span(clip: np.ndarray) -> slice:
    """The frames from the first to the last in which a hand is seen (all when none is)."""
    seen = (np.isfinite(clip[:, LEFT_HAND]).all(axis=(1, 2))
            | np.isfinite(clip[:, RIGHT_HAND]).all(axis=(1, 2)))
    if not seen.any():
        return slice(0, len(clip))
    first, last = np.flatnonzero(seen)[[0, -1]]
    return slice(int(first), int(last) + 1)


def hand_points(clip: np.ndarray, length: int, normalise: str = "none",
                coords: str = "xy") -> np.ndarray:
    """``[length, 42, C]`` float32 x, y (, z) of the left then right hand; NaN = missing.

    The clip's :func:`hand_span` is resampled to ``length`` steps. Coordinates are raw image
    units for ``normalise="none"`` and shoulder units for "shoulder" and "wrist" (the
    wrist-relative step comes later, in :func:`encode`, so that augmentation moves whole
    hands).
    """
    if normalise in ("shoulder", "wrist"):
        clip = shoulder_normalise(clip)
    elif normalise != "none":
        raise ValueError(f"normalise must be 'none', 'shoulder' or 'wrist', not {normalise!r}")
    dims = len(coords)
    clip = clip[hand_span(clip)]
    hands = np.concatenate([clip[:, LEFT_HAND, :dims], clip[:, RIGHT_HAND, :dims]], axis=1)
    return hands[resample_index(len(hands), length)].astype(np.float32)


def clip_points(clips, length: int, normalise: str = "none", coords: str = "xy"
                ) -> np.ndarray:
    """``[N, length, 42, C]`` for every clip of a ClipSet or Unlabelled view."""
    out = np.empty((len(clips), length, POINTS, len(coords)), dtype=np.float32)
    for i in range(len(clips)):
        out[i] = hand_points(clips.clip(i), length, normalise, coords)
    return out


def hand_present(points: np.ndarray) -> np.ndarray:
    """``[..., 2]`` True where every point of the left / right hand is finite."""
    finite = np.isfinite(points).all(axis=-1)
    return np.stack([finite[..., :HAND_POINTS].all(axis=-1),
                     finite[..., HAND_POINTS:].all(axis=-1)], axis=-1)


def wrist_relative(points: np.ndarray) -> np.ndarray:
    """Each hand's points 1-20 as offsets from its wrist in palm lengths (wrist to middle
    finger base); the wrist keeps its position. Hand shape then reads the same wherever the
    hand is, and the wrist alone carries the trajectory."""
    out = points.copy()
    for start in (0, HAND_POINTS):
        wrist = points[..., start:start + 1, :]
        palm = np.linalg.norm(points[..., start + PALM_POINT, :2] - wrist[..., 0, :2], axis=-1)
        palm = np.where(palm > 1e-6, palm, np.nan)[..., None, None]
        out[..., start + 1:start + HAND_POINTS, :] = (
            points[..., start + 1:start + HAND_POINTS, :] - wrist) / palm
    return out


def _frame(points: np.ndarray, relative: bool) -> tuple[np.ndarray, np.ndarray]:
    """Points in the network's frame of reference and the ``[..., L, 42]`` mask of points
    that count as present (a hand with any NaN point is missing as a whole)."""
    if relative:
        points = wrist_relative(points)
    present = np.repeat(hand_present(points), HAND_POINTS, axis=-1)
    return points, present


def point_stats(points: np.ndarray, relative: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std ``[42, C]`` of every coordinate over the frames where its hand is seen."""
    points, present = _frame(points, relative)
    dims = points.shape[-1]
    values = np.where(present[..., None], points, np.nan).reshape(-1, POINTS, dims)
    seen = np.isfinite(values).any(axis=(0, 2))
    mean = np.zeros((POINTS, dims), np.float32)
    std = np.ones((POINTS, dims), np.float32)
    if seen.any():
        mean[seen] = np.nanmean(values[:, seen], axis=0)
        std[seen] = np.maximum(np.nanstd(values[:, seen], axis=0), 1e-4)
    return mean, std


def encode(points: np.ndarray, presence_flags: bool, relative: bool = False,
           mean: np.ndarray | None = None, std: np.ndarray | None = None) -> np.ndarray:
    """``[..., L, 42, C]`` points -> ``[..., L, 42 C (+2)]`` network input.

    Optionally wrist-relative and standardised (``(p - mean) / std`` per coordinate); a
    missing hand is all zeros, i.e. the training mean when standardised.
    """
    points, present = _frame(points, relative)
    if mean is not None:
        points = (points - mean) / std
    values = np.where(present[..., None], np.nan_to_num(points, nan=0.0), 0.0)
    flat = values.astype(np.float32).reshape(*values.shape[:-2], POINTS * values.shape[-1])
    if not presence_flags:
        return flat
    flags = present[..., ::HAND_POINTS].astype(np.float32)
    return np.concatenate([flat, flags], axis=-1)


def feature_size(presence_flags: bool, coords: str = "xy") -> int:
    return POINTS * len(coords) + (2 if presence_flags else 0)
