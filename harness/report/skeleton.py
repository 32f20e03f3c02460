"""Drawing one frame of landmarks as a skeleton: pose bones, both hands, a hint of the face."""
from __future__ import annotations

import numpy as np

from harness.data.clips import FACE, LEFT_HAND, POSE, RIGHT_HAND

# MediaPipe Pose bones of the upper body (the legs rarely appear in sign videos).
POSE_BONES = ((11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24),
              (15, 17), (15, 19), (15, 21), (17, 19), (16, 18), (16, 20), (16, 22), (18, 20),
              (9, 10), (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8))
# MediaPipe Hands: the palm and the four joints of each finger.
HAND_BONES = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10),
              (10, 11), (11, 12), (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (17, 18),
              (18, 19), (19, 20), (0, 17))
POSE_COLOUR = "#555555"
HAND_COLOURS = {"left": "#1f5fa8", "right": "#d1495b"}
FACE_COLOUR = "#b9b9b9"
UPPER_BODY = slice(0, 25)


def clip_bounds(clip: np.ndarray, margin: float = 0.08) -> tuple[float, float, float, float]:
    """x/y limits holding every detected point of the clip, so all its frames share a frame."""
    # The legs (pose 25-32) are usually out of the picture, guessed far below it.
    parts = np.concatenate([clip[:, UPPER_BODY], clip[:, LEFT_HAND], clip[:, RIGHT_HAND]],
                           axis=1)
    xy = parts[..., :2].reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) == 0:
        return 0.0, 1.0, 0.0, 1.0
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    span = max(x1 - x0, y1 - y0, 1e-3)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = span / 2 * (1 + 2 * margin)
    return cx - half, cx + half, cy - half, cy + half


def _bones(axis, points: np.ndarray, bones, colour: str, width: float) -> None:
    for a, b in bones:
        if a < len(points) and b < len(points):
            pa, pb = points[a], points[b]
            if np.isfinite(pa[:2]).all() and np.isfinite(pb[:2]).all():
                axis.plot([pa[0], pb[0]], [pa[1], pb[1]], color=colour, linewidth=width,
                          solid_capstyle="round")


def _joints(axis, points: np.ndarray, colour: str, size: float) -> None:
    finite = np.isfinite(points[:, :2]).all(axis=1)
    if finite.any():
        axis.scatter(points[finite, 0], points[finite, 1], s=size, color=colour, zorder=3,
                     linewidths=0)


def draw_frame(axis, clip: np.ndarray, frame: int, bounds=None, trail: bool = True) -> None:
    """Skeleton of ``clip[frame]`` (image coordinates, y down) on ``axis``.

    ``trail`` adds the paths of both wrists over the whole clip, faintly, so a single frame
    still shows the movement it belongs to.
    """
    points = clip[frame]
    x0, x1, y0, y1 = bounds or clip_bounds(clip)
    if trail:
        for part, colour in ((LEFT_HAND, HAND_COLOURS["left"]),
                             (RIGHT_HAND, HAND_COLOURS["right"])):
            wrist = clip[:, part][:, 0, :2]
            axis.plot(wrist[:, 0], wrist[:, 1], color=colour, alpha=0.18, linewidth=1.0)
    face = points[FACE]
    face = face[np.isfinite(face[:, :2]).all(axis=1)][::6]
    if len(face):
        axis.scatter(face[:, 0], face[:, 1], s=0.6, color=FACE_COLOUR, linewidths=0)
    _bones(axis, points[POSE], POSE_BONES, POSE_COLOUR, 1.6)
    _joints(axis, points[UPPER_BODY], POSE_COLOUR, 5)
    for side, part in (("left", LEFT_HAND), ("right", RIGHT_HAND)):
        _bones(axis, points[part], HAND_BONES, HAND_COLOURS[side], 1.1)
        _joints(axis, points[part], HAND_COLOURS[side], 3)
    axis.set_xlim(x0, x1)
    axis.set_ylim(y1, y0)            # image y grows downwards
    axis.set_aspect("equal")
    axis.set_xticks([])
    axis.set_yticks([])
    axis.grid(False)
    for spine in axis.spines.values():
        spine.set_visible(True)
        spine.set_color("#cccccc")
