"""What the network reads: a landmark subset, normalised per clip, plus its motion.

Points: the 17 upper-body pose landmarks (nose, eyes, ears, mouth corners, shoulders,
elbows, wrists) and both hands, 59 in all. The pose's own face points stand in for the face
mesh because they come in left/right pairs, so a flipped clip re-indexes exactly; hands-only
data (WLASL hands, signo) simply has the pose missing, and needs no option.

Per clip (NaN-aware, so a missing part never shifts the statistics):
- position: x, y (, z) minus the mean of every present point of the clip, divided by their
  spread (one scalar per clip), which removes where the signer stands and how large they
  appear while keeping the hands' motion relative to the body;
- hand shape (``hand_shape``): each hand's points minus its wrist, divided by the hand's
  size in that frame, so a handshape reads the same wherever the hand is;
- motion: the first and second temporal differences of the positions;
- three presence flags (left hand, right hand, pose) per frame.
Missing values become 0 after all of this. Computed in torch so that the exported ONNX
graph runs the very same code on raw ``[T, 543, 3]`` landmarks.
"""
from __future__ import annotations

import numpy as np
import torch

from harness.api import LEFT_HAND, N_LANDMARKS, RIGHT_HAND, flip

POSE_POINTS = 17
HAND_POINTS = 21
SUBSET = np.r_[np.arange(POSE_POINTS), np.arange(LEFT_HAND.start, LEFT_HAND.stop),
               np.arange(RIGHT_HAND.start, RIGHT_HAND.stop)]
POINTS = len(SUBSET)
HANDS = (slice(POSE_POINTS, POSE_POINTS + HAND_POINTS),
         slice(POSE_POINTS + HAND_POINTS, POINTS))
FLAGS = 3


def feature_size(coords: str, hand_shape: bool) -> int:
    dims = len(coords)
    return 3 * POINTS * dims + (2 * HAND_POINTS * dims if hand_shape else 0) + FLAGS


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


def clip_features(points: torch.Tensor, coords: str = "xy", hand_shape: bool = True
                  ) -> torch.Tensor:
    """``[T, 59, 3]`` points (NaN = missing) -> ``[T, feature_size]`` float32 features."""
    dims = len(coords)
    p = points[..., :dims].float()
    present = torch.isfinite(p).all(dim=-1, keepdim=True)                 # [T, K, 1]
    mean = _masked_mean(p, present, (0, 1))
    centred = p - mean
    spread = _masked_mean(centred * centred, present.expand_as(p), (0, 1, 2)).sqrt()
    spread = torch.where(spread > 1e-6, spread, torch.ones_like(spread))
    position = centred / spread                                            # [T, K, D]
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
    seen = present[..., 0]
    blocks.append(torch.stack([seen[:, HANDS[0]].all(1), seen[:, HANDS[1]].all(1),
                               seen[:, :POSE_POINTS].any(1)], dim=1).float())
    out = torch.cat(blocks, dim=1)
    return torch.where(torch.isfinite(out), out, torch.zeros_like(out))


def numpy_features(points: np.ndarray, coords: str = "xy", hand_shape: bool = True
                   ) -> np.ndarray:
    with torch.no_grad():
        return clip_features(torch.from_numpy(np.ascontiguousarray(points, np.float32)),
                             coords, hand_shape).numpy()
