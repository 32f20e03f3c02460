"""Per-frame features of the original key-frame MLP: 329 values per frame.

Order (SEED-METHOD.md): left hand 22, right hand 22, upper-body pose 60, then raw
velocities of pose 99, left hand 63, right hand 63. Every function works on all frames of a
clip at once (no loop over frames).

The input contract marks a missing part with NaN; the original's CSVs had empty cells
there and turned them into zeros inside the features, which is what happens here: a hand
with any NaN point gives 22 zeros, a missing pose landmark 3 zeros, a NaN velocity 0.
"""
from __future__ import annotations

import numpy as np

from harness.api import (FINGER_BASES, FINGER_JOINTS, FINGER_TIPS, HAND_WRIST, INDEX_BASE,
                         INDEX_TIP, LEFT_HAND, LEFT_SHOULDER, PINKY_BASE, POSE, RIGHT_HAND,
                         RIGHT_SHOULDER)

# (a, b, c): the angle between pb - pa and pc - pb (two joints per finger); tip - base of
# each finger, neighbours compared.
TRIPLES, TIPS, BASES = np.array(FINGER_JOINTS), np.array(FINGER_TIPS), np.array(FINGER_BASES)
UPPER_POSE = np.array(list(range(18)) + [23, 24])

HAND_DIM = 10 + 4 + 3 + 3 + 2
POSE_DIM = len(UPPER_POSE) * 3
VELOCITY_DIM = (33 + 21 + 21) * 3
FEATURE_DIM = 2 * HAND_DIM + POSE_DIM + VELOCITY_DIM      # 329
_EPS = 1e-6


def feature_names() -> list[str]:
    """One name per feature column, in order (for explanations and debugging)."""
    hand = ([f"finger_angle{i}" for i in range(10)] + [f"neighbour_angle{i}" for i in range(4)]
            + ["wrist_x", "wrist_y", "wrist_z", "index_tip_x", "index_tip_y", "index_tip_z",
               "palm_yz", "palm_xz"])
    names = [f"left_{n}" for n in hand] + [f"right_{n}" for n in hand]
    names += [f"pose{j}_{c}" for j in UPPER_POSE for c in "xyz"]
    for part, size in (("pose", 33), ("left", 21), ("right", 21)):
        names += [f"v_{part}{j}_{c}" for j in range(size) for c in "xyz"]
    return names


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Cross product along the last axis (np.cross is several times slower on small arrays)."""
    ux, uy, uz = u[..., 0], u[..., 1], u[..., 2]
    vx, vy, vz = v[..., 0], v[..., 1], v[..., 2]
    return np.stack([uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx], axis=-1)


def angle_degrees(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle between vectors along the last axis, ``atan2(|u x v|, u . v)`` in degrees."""
    cross = np.sqrt(np.square(_cross(u, v)).sum(axis=-1))
    dot = (u * v).sum(axis=-1)
    return np.degrees(np.arctan2(cross, dot))


def _fill_nearest(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Frames where ``present`` is False take the nearest earlier frame (else the first)."""
    index = np.where(present, np.arange(len(present)), -1)
    index = np.maximum.accumulate(index)
    index[index < 0] = np.flatnonzero(present)[0]
    return values[index]


def shoulder_reference(clip: np.ndarray, origin: str, width_dims: str
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame origin ``[T, 3]`` and shoulder width ``[T]`` for normalising points.

    ``origin`` is the left shoulder (original) or the shoulders' midpoint; the width is the
    3-D shoulder distance (original) or its image-plane part. Frames without shoulders
    borrow the nearest frame that has them; a clip without any (hands-only data) keeps raw
    coordinates (origin 0, width 1), as ``harness.api.shoulder_frame`` does.
    """
    left = clip[:, LEFT_SHOULDER].astype(np.float64)
    right = clip[:, RIGHT_SHOULDER].astype(np.float64)
    dims = slice(0, 3) if width_dims == "xyz" else slice(0, 2)
    width = np.linalg.norm((right - left)[:, dims], axis=1)
    present = np.isfinite(width) & (width > _EPS)
    if not present.any():
        return np.zeros((len(clip), 3)), np.ones(len(clip))
    centre = left if origin == "left_shoulder" else (left + right) / 2.0
    if present.all():
        return centre, width
    return _fill_nearest(centre, present), _fill_nearest(width, present)


def hand_features(hands: np.ndarray, centre: np.ndarray, width: np.ndarray) -> np.ndarray:
    """22 values per frame and hand for hands ``[T, H, 21, 3]`` -> ``[T, H * 22]``.

    A hand with any missing point gives 22 zeros, as in the original.
    """
    frames, count = hands.shape[:2]
    finite = np.isfinite(hands)
    present = finite.all(axis=(2, 3))                                   # [T, H]
    h = np.where(finite, hands, 0.0).astype(np.float64)
    a, b, c = (h[:, :, TRIPLES[:, i]] for i in range(3))
    finger = angle_degrees(b - a, c - b)                                # [T, H, 10]
    spokes = h[:, :, TIPS] - h[:, :, BASES]                             # [T, H, 5, 3]
    neighbour = angle_degrees(spokes[:, :, :-1], spokes[:, :, 1:])      # [T, H, 4]
    scale = width[:, None, None]
    wrist_point = h[:, :, HAND_WRIST]
    wrist = (wrist_point - centre[:, None]) / scale
    tip = (h[:, :, INDEX_TIP] - centre[:, None]) / scale
    normal = _cross(h[:, :, INDEX_BASE] - wrist_point, h[:, :, PINKY_BASE] - wrist_point)
    length = np.sqrt(np.square(normal).sum(axis=-1, keepdims=True))
    normal = np.where(length < _EPS, 0.0, normal / np.maximum(length, _EPS))
    nx, ny, nz = normal[..., 0], normal[..., 1], normal[..., 2]
    # n projected on the y-z plane against y, and on the x-z plane against z; a vanishing
    # projection gives 0 (atan2(0, 0) is 0, so the guard only absorbs rounding noise).
    palm_yz = np.where(np.hypot(ny, nz) < _EPS, 0.0, np.degrees(np.arctan2(np.abs(nz), ny)))
    palm_xz = np.where(np.hypot(nx, nz) < _EPS, 0.0, np.degrees(np.arctan2(np.abs(nx), nz)))
    out = np.concatenate([finger, neighbour, wrist, tip, palm_yz[..., None], palm_xz[..., None]],
                         axis=2)                                        # [T, H, 22]
    out[~present] = 0.0
    return out.reshape(frames, count * HAND_DIM)


def pose_features(pose: np.ndarray, centre: np.ndarray, width: np.ndarray) -> np.ndarray:
    """The 20 upper-body landmarks normalised: 60 values, zeros where a landmark is missing."""
    upper = pose[:, UPPER_POSE].astype(np.float64)
    normalised = (upper - centre[:, None]) / width[:, None, None]
    missing = ~np.isfinite(upper).all(axis=2)
    normalised[missing] = 0.0
    return normalised.reshape(len(pose), -1)


def velocities(points: np.ndarray, fps: float) -> np.ndarray:
    """Per-coordinate differences from the previous frame times fps; NaN -> 0, first row 0."""
    out = np.zeros((len(points), points.shape[1] * 3))
    if len(points) > 1:
        diff = np.diff(points.astype(np.float64), axis=0) * fps
        diff = diff.reshape(len(points) - 1, -1)
        out[1:] = np.where(np.isfinite(diff), diff, 0.0)
    return out


def frame_features(clip: np.ndarray, fps: float, origin: str = "left_shoulder",
                   width_dims: str = "xyz", velocity: str = "raw") -> np.ndarray:
    """Features of every frame of one clip ``[T, 543, 3]`` -> float32 ``[T, 329]``.

    ``velocity="raw"`` (original) differentiates image coordinates, so speeds depend on
    the signer's size and distance; ``"normalised"`` differentiates shoulder-normalised
    coordinates instead.
    """
    centre, width = shoulder_reference(clip, origin, width_dims)
    pose, left, right = clip[:, POSE], clip[:, LEFT_HAND], clip[:, RIGHT_HAND]
    hands = np.stack([left, right], axis=1)                            # [T, 2, 21, 3]
    parts = [hand_features(hands, centre, width), pose_features(pose, centre, width)]
    moving = np.concatenate([pose, left, right], axis=1).astype(np.float64)
    if velocity == "normalised":
        moving = (moving - centre[:, None]) / width[:, None, None]
    parts.append(velocities(moving, fps))
    return np.concatenate(parts, axis=1).astype(np.float32)
