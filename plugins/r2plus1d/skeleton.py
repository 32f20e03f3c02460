"""Landmark clips drawn as skeleton videos, so the video CNN runs on landmark datasets.

Pose bones (upper body and face outline), left hand and right hand are drawn in three
colours on black frames. The drawing window is the square around every detected pose and
hand point of the sampled frames (plus a margin), so the signer fills the frame whatever
the camera distance; training jitters that window (the skeleton's random resized crop)
and mirrors the landmarks themselves (hands swapped), not the pixels.
"""
from __future__ import annotations

import numpy as np

from harness.api import LEFT_HAND, POSE, RIGHT_HAND, mirror_landmarks

# MediaPipe Pose connections above the hips (face outline, shoulders, arms, hands' stubs).
POSE_BONES = ((0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
              (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
              (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20), (11, 23),
              (12, 24), (23, 24))
HAND_BONES = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9),
              (9, 10), (10, 11), (11, 12), (9, 13), (13, 14), (14, 15), (15, 16), (13, 17),
              (0, 17), (17, 18), (18, 19), (19, 20))
# Points that place the window: pose above the hips, both hands.
WINDOW_POINTS = np.r_[np.arange(POSE.start, POSE.start + 23),
                      np.arange(LEFT_HAND.start, LEFT_HAND.stop),
                      np.arange(RIGHT_HAND.start, RIGHT_HAND.stop)]
COLOURS = {"pose": (200, 200, 200), "left": (255, 96, 32), "right": (32, 160, 255)}  # RGB
MARGIN = 0.1          # of the window side, on each side
SCALE_JITTER = 0.15   # training: window side x U(1 - j, 1 + j)
SHIFT_JITTER = 0.1    # training: window centre moved by U(-j, j) x side
REFERENCE_SIZE = 112  # line_width is given at this frame size


def window(points: np.ndarray, rng: np.random.Generator | None) -> tuple[float, float, float]:
    """Centre x, centre y and side (image units) of the square the frames show."""
    xy = points[:, WINDOW_POINTS, :2].reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) == 0:
        return 0.5, 0.5, 1.0
    low, high = xy.min(axis=0), xy.max(axis=0)
    centre = (low + high) / 2
    side = max(float((high - low).max()), 1e-3) * (1 + 2 * MARGIN)
    if rng is not None:
        side *= rng.uniform(1 - SCALE_JITTER, 1 + SCALE_JITTER)
        centre = centre + rng.uniform(-SHIFT_JITTER, SHIFT_JITTER, size=2) * side
    return float(centre[0]), float(centre[1]), side


def _draw(canvas: np.ndarray, pixels: np.ndarray, bones, colour, thickness: int) -> None:
    import cv2  # opencv comes with the [video] / [extract] extras, not the base install
    for a, b in bones:
        pa, pb = pixels[a], pixels[b]
        if np.isfinite(pa).all() and np.isfinite(pb).all():
            cv2.line(canvas, (int(pa[0]), int(pa[1])), (int(pb[0]), int(pb[1])), colour,
                     thickness, cv2.LINE_AA)


def render(landmarks: np.ndarray, size: int, line_width: int = 2,
           rng: np.random.Generator | None = None, mirror: bool = False) -> np.ndarray:
    """Landmarks ``[T, 543, 3]`` (NaN = missing) -> uint8 RGB frames ``[T, size, size, 3]``."""
    points = mirror_landmarks(landmarks) if mirror else np.asarray(landmarks, np.float32)
    cx, cy, side = window(points, rng)
    scale = size / side
    # Pixel coordinates; far-off points are clipped so cv2 gets sane integers (the line
    # towards them is still drawn in the right direction up to the frame's edge).
    pixels = (points[..., :2] - np.array([cx - side / 2, cy - side / 2])) * scale
    pixels = np.clip(pixels, -4 * size, 5 * size)
    thickness = max(1, round(line_width * size / REFERENCE_SIZE))
    frames = np.zeros((len(points), size, size, 3), dtype=np.uint8)
    for t in range(len(points)):
        _draw(frames[t], pixels[t, POSE], POSE_BONES, COLOURS["pose"], thickness)
        _draw(frames[t], pixels[t, LEFT_HAND], HAND_BONES, COLOURS["left"], thickness)
        _draw(frames[t], pixels[t, RIGHT_HAND], HAND_BONES, COLOURS["right"], thickness)
    return frames
