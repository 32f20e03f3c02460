"""The 54 joints SPOTER reads, picked from the 543-point MediaPipe Holistic layout.

Body: the paper's 12 upper-body joints (nose, neck, eyes, ears, shoulders, elbows, wrists);
MediaPipe has no neck, so it is the shoulders' midpoint. Then the left and right hands
(21 each). ``[T, 54, 3]`` float32, NaN where not detected, raw image coordinates.
"""
from __future__ import annotations

import numpy as np

from harness.api import (LEFT_HAND, LEFT_SHOULDER, LEFT_WRIST, POSE, RIGHT_HAND, RIGHT_SHOULDER,
                         RIGHT_WRIST)

NOSE, NECK, RIGHT_EYE, LEFT_EYE, RIGHT_EAR, LEFT_EAR = 0, 1, 2, 3, 4, 5
R_SHOULDER, L_SHOULDER, R_ELBOW, L_ELBOW, R_WRIST, L_WRIST = 6, 7, 8, 9, 10, 11
BODY = 12
HAND = 21
LEFT_HAND_JOINTS = slice(BODY, BODY + HAND)
RIGHT_HAND_JOINTS = slice(BODY + HAND, BODY + 2 * HAND)
JOINTS = BODY + 2 * HAND

# MediaPipe pose index of each body joint (NECK is derived, -1).
_POSE_INDEX = (0, -1, 5, 2, 8, 7, RIGHT_SHOULDER, LEFT_SHOULDER, 14, 13, RIGHT_WRIST, LEFT_WRIST)
# Arm chains from the neck outwards; the hand hangs off the wrist.
ARMS = (((NECK, L_SHOULDER, L_ELBOW, L_WRIST), LEFT_HAND_JOINTS),
        ((NECK, R_SHOULDER, R_ELBOW, R_WRIST), RIGHT_HAND_JOINTS))
# Left/right partners, for mirroring.
MIRROR_PAIRS = ((RIGHT_EYE, LEFT_EYE), (RIGHT_EAR, LEFT_EAR), (R_SHOULDER, L_SHOULDER),
                (R_ELBOW, L_ELBOW), (R_WRIST, L_WRIST))
# Bones (joint pairs) whose lengths a rigid motion must keep: arms and hands.
HAND_BONES = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10),
              (10, 11), (11, 12), (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (0, 17),
              (17, 18), (18, 19), (19, 20))
BONES = ((NECK, L_SHOULDER), (L_SHOULDER, L_ELBOW), (L_ELBOW, L_WRIST),
         (NECK, R_SHOULDER), (R_SHOULDER, R_ELBOW), (R_ELBOW, R_WRIST),
         *((BODY + a, BODY + b) for a, b in HAND_BONES),
         *((BODY + HAND + a, BODY + HAND + b) for a, b in HAND_BONES))


def skeleton(clip: np.ndarray, wrists_from_hands: bool = True) -> np.ndarray:
    """``[T, 543, 3]`` Holistic landmarks -> ``[T, 54, 3]`` SPOTER joints."""
    clip = np.asarray(clip, dtype=np.float32)
    out = np.empty((len(clip), JOINTS, 3), dtype=np.float32)
    pose = clip[:, POSE]
    for joint, index in enumerate(_POSE_INDEX):
        if index >= 0:
            out[:, joint] = pose[:, index]
    out[:, NECK] = (pose[:, LEFT_SHOULDER] + pose[:, RIGHT_SHOULDER]) / 2.0
    out[:, LEFT_HAND_JOINTS] = clip[:, LEFT_HAND]
    out[:, RIGHT_HAND_JOINTS] = clip[:, RIGHT_HAND]
    if wrists_from_hands:
        # MediaPipe's hand wrist is the same anatomical point as the pose wrist.
        for wrist, hand in ((L_WRIST, LEFT_HAND_JOINTS), (R_WRIST, RIGHT_HAND_JOINTS)):
            missing = ~np.isfinite(out[:, wrist]).all(axis=1)
            out[missing, wrist] = out[missing, hand.start]
    return out


def subsample(frames: np.ndarray, max_frames: int) -> np.ndarray:
    """At most ``max_frames`` frames, evenly spaced (the learned positions stop there)."""
    if len(frames) <= max_frames:
        return frames
    return frames[np.rint(np.linspace(0, len(frames) - 1, max_frames)).astype(np.int64)]


def mirror(joints: np.ndarray) -> np.ndarray:
    """The clip as if signed with the other hand: x -> 1 - x, left and right swapped."""
    out = np.array(joints, dtype=np.float32, copy=True)
    out[..., 0] = 1.0 - out[..., 0]
    for a, b in MIRROR_PAIRS:
        out[:, [a, b]] = out[:, [b, a]]
    left = out[:, LEFT_HAND_JOINTS].copy()
    out[:, LEFT_HAND_JOINTS] = out[:, RIGHT_HAND_JOINTS]
    out[:, RIGHT_HAND_JOINTS] = left
    return out
