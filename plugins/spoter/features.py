"""Per-frame inputs for the transformer, one row per frame.

- ``paper``: the 54 normalised joints' x, y (108 values), as Bohacek & Hruz feed them.
- ``study``: the original study's variant: per hand 22 values (10 finger-joint angles, 4
  angles between neighbouring fingers, wrist and index tip in shoulder units, 2 palm-normal
  angles; zeros when the hand is missing), then the 12 body joints' x, y in shoulder
  units (origin between the shoulders, unit the shoulder width; image units when a
  dataset has no shoulders). 68 values. Angles in radians.
"""
from __future__ import annotations

import numpy as np

from harness.api import FINGER_BASES, FINGER_JOINTS, FINGER_TIPS
from plugins.spoter.normalise import _nearest_fill, normalise
from plugins.spoter.skeleton import (BODY, JOINTS, LEFT_HAND_JOINTS, L_SHOULDER, NECK,
                                     RIGHT_HAND_JOINTS, R_SHOULDER)

FINGER_VECTORS = tuple(zip(FINGER_TIPS, FINGER_BASES))             # tip - base
HAND_FEATURES = len(FINGER_JOINTS) + len(FINGER_VECTORS) - 1 + 6 + 2
SIZES = {"paper": JOINTS * 2, "study": 2 * HAND_FEATURES + BODY * 2}


def feature_size(variant: str) -> int:
    return SIZES[variant]


def frame_features(joints: np.ndarray, variant: str) -> np.ndarray:
    """``[T, 54, 3]`` raw joints -> ``[T, feature_size(variant)]`` float32."""
    if variant == "paper":
        return normalise(joints).reshape(len(joints), -1)
    if variant == "study":
        return study_features(joints)
    raise ValueError(f"variant must be 'paper' or 'study', not {variant!r}")


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unsigned angle between vectors along the last axis, ``atan2(|a x b|, a . b)``."""
    cross = np.linalg.norm(np.cross(a, b), axis=-1)
    return np.arctan2(cross, (a * b).sum(axis=-1))


def shoulder_units(joints: np.ndarray) -> np.ndarray:
    """x, y, z relative to the shoulders' midpoint, in shoulder widths (image units if the
    clip has no shoulders; frames without them borrow the nearest frame's)."""
    xy = joints.astype(np.float64)
    width = np.linalg.norm(xy[:, L_SHOULDER, :2] - xy[:, R_SHOULDER, :2], axis=1)
    ok = np.isfinite(width) & (width > 1e-6) & np.isfinite(xy[:, NECK]).all(axis=1)
    if not ok.any():
        return xy
    origin = _nearest_fill(xy[:, NECK], ok)
    width = _nearest_fill(width, ok)
    return (xy - origin[:, None]) / width[:, None, None]


def hand_features(hand: np.ndarray, hand_in_shoulder_units: np.ndarray) -> np.ndarray:
    """``[T, 21, 3]`` one hand -> ``[T, 22]``; zeros in frames without it."""
    p = hand.astype(np.float64)
    angles = [_angle(p[:, b] - p[:, a], p[:, c] - p[:, b]) for a, b, c in FINGER_JOINTS]
    fingers = [p[:, tip] - p[:, base] for tip, base in FINGER_VECTORS]
    between = [_angle(u, v) for u, v in zip(fingers, fingers[1:])]
    normal = np.cross(p[:, 5] - p[:, 0], p[:, 17] - p[:, 0])
    length = np.linalg.norm(normal, axis=1, keepdims=True)
    normal = np.where(length > 1e-9, normal / np.where(length > 1e-9, length, 1.0), 0.0)
    on_yz = normal * np.array([0.0, 1.0, 1.0])
    on_xz = normal * np.array([1.0, 0.0, 1.0])
    palm = [_angle(on_yz, np.array([0.0, 1.0, 0.0])), _angle(on_xz, np.array([0.0, 0.0, 1.0]))]
    points = hand_in_shoulder_units[:, [0, 8]].reshape(len(p), 6)
    out = np.column_stack([*angles, *between, points, *palm])
    seen = np.isfinite(p).all(axis=(1, 2))
    out[~seen] = 0.0
    return np.nan_to_num(out, nan=0.0)


def study_features(joints: np.ndarray) -> np.ndarray:
    scaled = shoulder_units(joints)
    left = hand_features(joints[:, LEFT_HAND_JOINTS], scaled[:, LEFT_HAND_JOINTS])
    right = hand_features(joints[:, RIGHT_HAND_JOINTS], scaled[:, RIGHT_HAND_JOINTS])
    body = np.nan_to_num(scaled[:, :BODY, :2], nan=0.0).reshape(len(joints), -1)
    return np.concatenate([left, right, body], axis=1).astype(np.float32)
