"""Landmark normalisation and mirroring shared by every landmark model.

The harness owns these so that all models see the same preprocessing: a model that wants
something else builds it in its own plugin, from the raw ``[T, 543, 3]`` clip.
"""
from __future__ import annotations

import numpy as np

from harness.data.clips import LEFT_HAND, LEFT_SHOULDER, RIGHT_HAND, RIGHT_SHOULDER

# Left/right pairs of MediaPipe's 33 pose landmarks (nose 0 has no partner).
POSE_MIRROR_PAIRS = ((1, 4), (2, 5), (3, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16),
                     (17, 18), (19, 20), (21, 22), (23, 24), (25, 26), (27, 28), (29, 30),
                     (31, 32))


def _fill_missing(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Fill frames where ``present`` is False with the nearest earlier (else later) frame."""
    if present.all() or not present.any():
        return values
    index = np.where(present, np.arange(len(present)), -1)
    index = np.maximum.accumulate(index)
    first = np.flatnonzero(present)[0]
    index[index < 0] = first
    return values[index]


def shoulder_frame(landmarks: np.ndarray, origin: str = "midpoint"
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame origin ``[T, 3]`` and scale ``[T]`` from the shoulders.

    ``origin`` is ``"midpoint"`` (the shoulders' midpoint) or ``"left_shoulder"`` (the
    original key-frame MLP's choice); the scale is the shoulder width in the image plane.
    Frames without shoulders borrow the nearest frame that has them. A clip with no
    shoulders at all (hands-only data such as signo) keeps raw image coordinates: origin
    0 and scale 1, so such datasets are not position- or scale-normalised.
    """
    left = landmarks[:, LEFT_SHOULDER, :].astype(np.float64)
    right = landmarks[:, RIGHT_SHOULDER, :].astype(np.float64)
    width = np.linalg.norm((right - left)[:, :2], axis=1)
    present = np.isfinite(width) & (width > 1e-6)
    frames = len(landmarks)
    if not present.any():
        return np.zeros((frames, 3)), np.ones(frames)
    if origin == "midpoint":
        centre = (left + right) / 2.0
    elif origin == "left_shoulder":
        centre = left
    else:
        raise ValueError(f"origin must be 'midpoint' or 'left_shoulder', not {origin!r}")
    centre = np.nan_to_num(_fill_missing(centre, present))
    width = _fill_missing(width, present)
    return centre, width


def shoulder_normalise(landmarks: np.ndarray, origin: str = "midpoint") -> np.ndarray:
    """``(p - origin) / shoulder_width`` for every point; NaN stays NaN."""
    centre, width = shoulder_frame(landmarks, origin)
    out = (landmarks.astype(np.float64) - centre[:, None, :]) / width[:, None, None]
    return out.astype(np.float32)


def mirror_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """The clip as if signed with the other hand: x -> 1 - x, left and right swapped.

    Hands swap blocks and pose landmarks swap with their partners, so the left hand of the
    mirrored clip is the mirror image of the right hand of the original. The face mesh is
    reflected but not re-indexed. ``mirror_landmarks(mirror_landmarks(x)) == x``.
    """
    out = np.array(landmarks, dtype=np.float32, copy=True)
    out[..., 0] = 1.0 - out[..., 0]
    left = out[:, LEFT_HAND].copy()
    out[:, LEFT_HAND] = out[:, RIGHT_HAND]
    out[:, RIGHT_HAND] = left
    a, b = np.array(POSE_MIRROR_PAIRS).T
    out[:, a], out[:, b] = out[:, b].copy(), out[:, a].copy()
    return out
