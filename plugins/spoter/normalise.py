"""Bohacek & Hruz's normalisation: the body in a signing-space box, each hand in its own.

Body: per frame a head unit ``h`` = shoulder width (the reference implementation's choice:
MediaPipe-style shoulder points sit at the joint, so the plain width matches the paper's
"half the outer shoulder width" better than halving it). The box is ``6h`` wide centred on
the neck and ``6h`` tall from ``h`` above the eyes. Frames without shoulders borrow the
box of the nearest frame that has them; a clip with no shoulders at all (hands-only data
such as signo) keeps image coordinates (the box is the image).

Hands: per frame the bounding box of the hand's points, made square and widened by 10 %,
so a hand's shape reads the same wherever and however large it appears.

Outputs are shifted by -0.5 (centred, as the reference implementation feeds them); a joint
that was not detected becomes -0.5 (the reference's missing value after its shift).
"""
from __future__ import annotations

import warnings

import numpy as np

from plugins.spoter.skeleton import (BODY, LEFT_EYE, LEFT_HAND_JOINTS, L_SHOULDER, NECK, NOSE,
                                     RIGHT_EYE, RIGHT_HAND_JOINTS, R_SHOULDER)

MISSING = -0.5
HEAD_UNITS_WIDE = 6.0
HEAD_UNITS_ABOVE_EYES = 1.0
HAND_MARGIN = 0.1


def _nearest_fill(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Frames where ``present`` is False take the nearest earlier (else later) good frame."""
    if present.all() or not present.any():
        return values
    index = np.where(present, np.arange(len(present)), -1)
    index = np.maximum.accumulate(index)
    index[index < 0] = np.flatnonzero(present)[0]
    return values[index]


def body_box(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame top-left corner ``[T, 2]`` and side ``[T]`` of the signing-space box."""
    frames = len(joints)
    xy = joints[..., :2].astype(np.float64)
    unit = np.linalg.norm(xy[:, L_SHOULDER] - xy[:, R_SHOULDER], axis=1)
    ok = np.isfinite(unit) & (unit > 1e-6)
    if not ok.any():
        return np.zeros((frames, 2)), np.ones(frames)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        eyes = np.nanmean(xy[:, [LEFT_EYE, RIGHT_EYE], 1], axis=1)
    # No eyes: the nose, else about two head units above the neck.
    eyes = np.where(np.isfinite(eyes), eyes, xy[:, NOSE, 1])
    eyes = np.where(np.isfinite(eyes), eyes, xy[:, NECK, 1] - 2.0 * unit)
    corner = np.stack([xy[:, NECK, 0] - HEAD_UNITS_WIDE / 2 * unit,
                       eyes - HEAD_UNITS_ABOVE_EYES * unit], axis=1)
    ok &= np.isfinite(corner).all(axis=1)
    if not ok.any():
        return np.zeros((frames, 2)), np.ones(frames)
    return _nearest_fill(corner, ok), _nearest_fill(HEAD_UNITS_WIDE * unit, ok)


def hand_boxes(hand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame corner ``[T, 2]`` and size ``[T, 2]`` of a hand's squared, padded box
    (NaN for frames without the hand or with a degenerate box)."""
    xy = hand[..., :2].astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # frames without the hand
        low, high = np.nanmin(xy, axis=1), np.nanmax(xy, axis=1)
    width, height = high[:, 0] - low[:, 0], high[:, 1] - low[:, 1]
    wide = width > height
    pad_x = np.where(wide, HAND_MARGIN * width, HAND_MARGIN * height + (height - width) / 2)
    pad_y = np.where(wide, HAND_MARGIN * width + (width - height) / 2, HAND_MARGIN * height)
    corner = low - np.stack([pad_x, pad_y], axis=1)
    size = (high + np.stack([pad_x, pad_y], axis=1)) - corner
    size = np.where(size > 1e-9, size, np.nan)
    return corner, size


def normalise(joints: np.ndarray) -> np.ndarray:
    """``[T, 54, 3]`` raw joints -> ``[T, 54, 2]`` normalised x, y in about [-0.5, 0.5]."""
    out = np.empty((len(joints), joints.shape[1], 2), dtype=np.float64)
    corner, side = body_box(joints)
    out[:, :BODY] = (joints[:, :BODY, :2] - corner[:, None]) / side[:, None, None]
    for part in (LEFT_HAND_JOINTS, RIGHT_HAND_JOINTS):
        hand_corner, hand_size = hand_boxes(joints[:, part])
        out[:, part] = (joints[:, part, :2] - hand_corner[:, None]) / hand_size[:, None]
    out -= 0.5
    out[~np.isfinite(out)] = MISSING
    return out.astype(np.float32)
