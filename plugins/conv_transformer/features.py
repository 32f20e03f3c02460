"""What the network reads: a landmark subset, normalised per clip, plus its motion.

Points: the 17 upper-body pose landmarks (nose, eyes, ears, mouth corners, shoulders,
elbows, wrists) and both hands, 59 in all. The pose's own face points stand in for the face
mesh because they come in left/right pairs, so a flipped clip re-indexes exactly; hands-only
data (WLASL hands, signo) simply has the pose missing, and needs no option.

First, with ``hand_gap`` > 0, each hand's runs of missing frames between two frames that
show it, up to ``hand_gap`` frames long, are filled where the pose sees that hand's wrist
(:func:`fill_hand_gaps`): Holistic loses a fast or blurred hand for a few frames while the
pose keeps the arm, and a network that reads zeros there sees a different sign. Hands-only
data has no wrist to follow and is left as it is.

Per clip (NaN-aware, so a missing part never shifts the statistics):
- position: x, y (, z) minus the mean of every present point of the clip, divided by their
  spread (one scalar per clip), which removes where the signer stands and how large they
  appear while keeping the hands' motion relative to the body; with ``anchor="shoulders"``
  minus the shoulders' mean midpoint, divided by their mean width instead, wherever both
  shoulders are seen (a clip without them keeps the clip's own statistics), so that how
  far the hands travel does not change the scale;
- hand shape (``hand_shape``): each hand's points minus its wrist, divided by the hand's
  size in that frame, so a handshape reads the same wherever the hand is;
- hand angles (``hand_angles``): per hand the cosines of the ten finger-joint bends and of
  the four spreads between neighbouring fingers, and the palm's unit normal, in 3-D (z
  taken as 0 where a source has none): a handshape read the same however the hand is
  turned or sized, and the same for a hand and its mirror image but for the normal;
- motion: the first and second temporal differences of the positions;
- three presence flags (left hand, right hand, pose) per frame.
Missing values become 0 after all of this. With the ``trim`` option the frames before the
first and after the last that show a hand are dropped first (:func:`trim_to_hands`; in a
graph, :func:`trim_in_place`). Computed in torch so that the exported ONNX and TFLite
graphs run the very same code on raw ``[T, 543, 3]`` landmarks.
"""
from __future__ import annotations

import numpy as np
import torch

from harness.api import (FINGER_BASES, FINGER_JOINTS, FINGER_TIPS, HAND_WRIST, INDEX_BASE,
                         LEFT_HAND, LEFT_SHOULDER, LEFT_WRIST, N_LANDMARKS, PINKY_BASE,
                         RIGHT_HAND, RIGHT_SHOULDER, RIGHT_WRIST, flip)

POSE_POINTS = 17
HAND_POINTS = 21
SUBSET = np.r_[np.arange(POSE_POINTS), np.arange(LEFT_HAND.start, LEFT_HAND.stop),
               np.arange(RIGHT_HAND.start, RIGHT_HAND.stop)]
POINTS = len(SUBSET)
HANDS = (slice(POSE_POINTS, POSE_POINTS + HAND_POINTS),
         slice(POSE_POINTS + HAND_POINTS, POINTS))
FLAGS = 3
SHOULDERS = (LEFT_SHOULDER, RIGHT_SHOULDER)     # pose indices, the same in the subset
POSE_WRISTS = (LEFT_WRIST, RIGHT_WRIST)         # the pose's wrist of each hand slot
ANCHORS = ("clip", "shoulders")


JOINTS, TIPS, BASES = np.array(FINGER_JOINTS), np.array(FINGER_TIPS), np.array(FINGER_BASES)
ANGLES = len(JOINTS) + len(TIPS) - 1 + 3       # bends, spreads, palm normal


def feature_size(coords: str, hand_shape: bool, hand_angles: bool = False) -> int:
    dims = len(coords)
    return (3 * POINTS * dims + (2 * HAND_POINTS * dims if hand_shape else 0)
            + (2 * ANGLES if hand_angles else 0) + FLAGS)


def select(clip: np.ndarray) -> np.ndarray:
    """``[T, 543, 3]`` Holistic clip -> ``[T, 59, 3]`` float32 points the model uses."""
    return np.asarray(clip, dtype=np.float32)[:, SUBSET]


def flip_points(points: np.ndarray) -> np.ndarray:
    """The library's flip on a ``[T, 59, 3]`` subset (the subset holds every point's
    mirror partner, so nothing is lost by going through the full layout)."""
    full = np.full((len(points), N_LANDMARKS, points.shape[-1]), np.nan, dtype=np.float32)
    full[:, SUBSET] = points
    return flip(full)[:, SUBSET]


def subsample_index(frames: int, max_frames: int) -> np.ndarray:
    """Evenly spaced frame indices, at most ``max_frames`` of them (all frames of a
    shorter clip). Integer arithmetic, the same as :func:`subsample` in the graph."""
    length = min(frames, max_frames)
    return (np.arange(length, dtype=np.int64) * frames) // max(length, 1)


def subsample(points: torch.Tensor, max_frames: int) -> torch.Tensor:
    """:func:`subsample_index` in torch, for the exported graph."""
    frames = points.shape[0]
    length = min(frames, max_frames)
    index = torch.arange(length, device=points.device) * frames // length
    return points.index_select(0, index)


def hand_span(points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """First and last frame that show any hand point (the whole clip if none does), as
    0-d tensors: tensor arithmetic, so the exported graph computes it for any length."""
    frames = points.shape[0]
    hands = torch.cat([points[:, HANDS[0]], points[:, HANDS[1]]], dim=1)
    shown = torch.isfinite(hands).all(dim=-1).any(dim=1)                  # [T]
    index = torch.arange(frames, device=points.device)
    first = torch.where(shown, index, torch.full_like(index, frames)).min()
    last = torch.where(shown, index, torch.full_like(index, -1)).max()
    return (torch.where(shown.any(), first, torch.zeros_like(first)),
            torch.where(shown.any(), last, torch.full_like(last, frames - 1)))


def trim_to_hands(points: np.ndarray) -> np.ndarray:
    """The frames from the first to the last that show a hand: the rest before and after
    the sign, which one signer holds longer than another, is dropped."""
    first, last = hand_span(torch.from_numpy(np.ascontiguousarray(points, np.float32)))
    return points[int(first):int(last) + 1]


def trim_in_place(points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`trim_to_hands` at a fixed length, for the exported graph: the kept frames
    moved to the front, the rest turned into missing frames, and ``valid`` marking the
    kept ones; the network treats those trailing frames as padding."""
    first, last = hand_span(points)
    index = torch.arange(points.shape[0], device=points.device)
    keep = index <= last - first
    moved = points.index_select(0, torch.minimum(index + first, last))
    blank = torch.full_like(moved, float("nan"))
    return torch.where(keep[:, None, None], moved, blank), keep


def fill_hand_gaps(points: torch.Tensor, max_gap: int) -> torch.Tensor:
    """Each hand's missing frames between two frames that show it, at most ``max_gap`` in
    a row, filled where the pose sees that hand's wrist throughout: the hand's offset from
    the wrist interpolated linearly between the two sightings, carried by the wrist as the
    pose tracked it (Holistic loses a fast or blurred hand while the pose keeps its arm).
    Without a pose (hands-only data) nothing is filled: a straight line there invents a
    path. Tensor arithmetic over a ``[T, T]`` table, so the graph needs no loop."""
    if max_gap < 1:
        return points
    frames = points.shape[0]
    index = torch.arange(frames, device=points.device)
    s, t = index[None, :], index[:, None]                                    # [t, s] table
    out = points
    for hand, wrist_index in zip(HANDS, POSE_WRISTS):
        h = points[:, hand]
        wrist = points[:, wrist_index:wrist_index + 1]
        shown = torch.isfinite(h).all(dim=-1).all(dim=-1)                    # [T]
        tracked = torch.isfinite(wrist).all(dim=-1).all(dim=-1)
        anchor = shown & tracked
        prev = torch.where(anchor[None, :] & (s <= t), s, torch.full_like(s, -1)).amax(dim=1)
        nxt = torch.where(anchor[None, :] & (s >= t), s, torch.full_like(s, frames)).amin(dim=1)
        gap = nxt - prev
        fill = ~shown & tracked & (prev >= 0) & (nxt < frames) & (gap - 1 <= max_gap)
        offset = h - wrist
        before = offset.index_select(0, prev.clamp(min=0))
        after = offset.index_select(0, nxt.clamp(max=frames - 1))
        weight = ((index - prev).float() / gap.clamp(min=1).float())[:, None, None]
        guess = wrist + before + (after - before) * weight
        filled = torch.where(fill[:, None, None], guess, h)
        out = torch.cat([out[:, :hand.start], filled, out[:, hand.stop:]], dim=1)
    return out


def _masked_mean(values: torch.Tensor, present: torch.Tensor, dims) -> torch.Tensor:
    count = present.sum(dim=dims, keepdim=True).clamp(min=1)
    return torch.where(present, values, torch.zeros_like(values)).sum(dim=dims,
                                                                     keepdim=True) / count


def _difference(x: torch.Tensor, lag: int) -> torch.Tensor:
    """``x[t + lag] - x[t]``; NaN (later 0) for the last ``lag`` frames and wherever a
    point is missing in either frame. Padding with NaN keeps one code path for any length,
    which the exported graph needs."""
    after = torch.cat([x, torch.full_like(x[:1], float("nan")).expand(lag, *x.shape[1:])])
    return after[lag:] - x


def _unit(v: torch.Tensor) -> torch.Tensor:
    """``v`` over its length along the last axis; NaN where it has none."""
    length = v.square().sum(-1, keepdim=True).sqrt()
    return v / torch.where(length > 1e-9, length, torch.full_like(length, float("nan")))


def angle_features(hand: torch.Tensor) -> torch.Tensor:
    """One hand ``[T, 21, 3]`` -> ``[T, ANGLES]``: joint-bend and finger-spread cosines, then
    the palm's unit normal (wrist -> index base x wrist -> pinky base). NaN where the hand
    is missing. Cosines rather than angles: no inverse trigonometry in the exported graphs."""
    z = hand[..., 2:3]
    h = torch.cat([hand[..., :2], torch.where(torch.isfinite(z), z, torch.zeros_like(z))], -1)
    a, b, c = (h[:, JOINTS[:, i]] for i in range(3))
    bends = (_unit(b - a) * _unit(c - b)).sum(-1)
    spokes = _unit(h[:, TIPS] - h[:, BASES])
    spreads = (spokes[:, :-1] * spokes[:, 1:]).sum(-1)
    wrist = h[:, HAND_WRIST]
    u, v = h[:, INDEX_BASE] - wrist, h[:, PINKY_BASE] - wrist
    normal = torch.stack([u[:, 1] * v[:, 2] - u[:, 2] * v[:, 1],
                          u[:, 2] * v[:, 0] - u[:, 0] * v[:, 2],
                          u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]], dim=-1)
    return torch.cat([bends, spreads, _unit(normal)], dim=1)


def _shoulder_frame(p: torch.Tensor, present: torch.Tensor, mean: torch.Tensor,
                    spread: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The shoulders' mean midpoint and mean width over the frames that show both; the
    clip's ``mean`` and ``spread`` where no frame does. One frame per clip and in torch,
    for the exported graphs (``harness.api.shoulder_frame`` is per frame, in numpy)."""
    left, right = SHOULDERS
    both = present[:, left] & present[:, right]                            # [T, 1]
    count = both.sum().clamp(min=1)
    zero = torch.zeros_like(p[:, left])
    centre = torch.where(both, (p[:, left] + p[:, right]) / 2, zero).sum(0) / count
    width = (p[:, left, :2] - p[:, right, :2]).square().sum(-1, keepdim=True).sqrt()
    width = torch.where(both, width, torch.zeros_like(width)).sum() / count
    use = width > 1e-6
    return (torch.where(use, centre.reshape(mean.shape), mean),
            torch.where(use, width.reshape(spread.shape), spread))


def clip_features(points: torch.Tensor, coords: str = "xy", hand_shape: bool = True,
                  anchor: str = "clip", hand_angles: bool = False,
                  hand_gap: int = 0) -> torch.Tensor:
    """``[T, 59, 3]`` points (NaN = missing) -> ``[T, feature_size]`` float32 features."""
    if anchor not in ANCHORS:
        raise ValueError(f"anchor must be one of {ANCHORS}, not {anchor!r}")
    detected = torch.isfinite(points[..., :len(coords)]).all(dim=-1)       # [T, K]
    flags = torch.stack([detected[:, HANDS[0]].all(1), detected[:, HANDS[1]].all(1),
                         detected[:, :POSE_POINTS].any(1)], dim=1).float()
    points = fill_hand_gaps(points, hand_gap)
    dims = len(coords)
    p = points[..., :dims].float()
    present = torch.isfinite(p).all(dim=-1, keepdim=True)                 # [T, K, 1]
    mean = _masked_mean(p, present, (0, 1))
    spread = _masked_mean((p - mean).square(), present.expand_as(p), (0, 1, 2)).sqrt()
    spread = torch.where(spread > 1e-6, spread, torch.ones_like(spread))
    if anchor == "shoulders":
        mean, spread = _shoulder_frame(p, present, mean, spread)
    position = (p - mean) / spread                                         # [T, K, D]
    frames = position.shape[0]
    flat = position.reshape(frames, POINTS * dims)
    blocks = [flat, _difference(flat, 1), _difference(flat, 2)]
    if hand_shape:
        for hand in HANDS:
            h = p[:, hand]
            wrist = h[:, :1]
            offset = h - wrist
            size = offset[..., :2].square().sum(-1).sqrt()
            size = torch.where(torch.isfinite(size), size, torch.zeros_like(size))
            size = size.amax(dim=1, keepdim=True).unsqueeze(-1)
            size = torch.where(size > 1e-6, size, torch.full_like(size, float("nan")))
            blocks.append((offset / size).reshape(frames, HAND_POINTS * dims))
    if hand_angles:
        blocks.extend(angle_features(points[:, hand].float()) for hand in HANDS)
    blocks.append(flags)        # what was detected, so a filled gap reads as one
    out = torch.cat(blocks, dim=1)
    return torch.where(torch.isfinite(out), out, torch.zeros_like(out))


def numpy_features(points: np.ndarray, coords: str = "xy", hand_shape: bool = True,
                   anchor: str = "clip", hand_angles: bool = False,
                   hand_gap: int = 0) -> np.ndarray:
    with torch.no_grad():
        return clip_features(torch.from_numpy(np.ascontiguousarray(points, np.float32)),
                             coords, hand_shape, anchor, hand_angles, hand_gap).numpy()
