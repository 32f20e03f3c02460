"""From a decoded clip to the network's input: frame sampling, crop, mirror, normalise.

Training draws a random frame from each of T equal segments (TSN-style) and a random
resized crop, and mirrors with probability ``flip``; evaluation takes the centre frame of
each segment and the whole frame (or a central square), so predictions are deterministic.
"""
from __future__ import annotations

import math

import numpy as np

# The Kinetics statistics torchvision's video models were trained with: a checkpoint from
# there expects its inputs normalised this way, and from scratch they are as good as any.
MEAN = np.array([0.43216, 0.394666, 0.37645], dtype=np.float32)
STD = np.array([0.22803, 0.22145, 0.216989], dtype=np.float32)
ASPECT_JITTER = (3 / 4, 4 / 3)


def uniform_indices(n_frames: int, count: int) -> np.ndarray:
    """The middle frame of each of ``count`` equal segments (frames repeat if too few)."""
    positions = (np.arange(count) + 0.5) * n_frames / count
    return np.minimum(positions.astype(np.int64), n_frames - 1)


def segment_indices(n_frames: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """A random frame from each of ``count`` equal segments, in temporal order."""
    edges = np.arange(count + 1) * n_frames / count
    starts = np.floor(edges[:-1]).astype(np.int64)
    ends = np.maximum(np.floor(edges[1:]).astype(np.int64), starts + 1)
    return np.minimum(rng.integers(starts, ends), n_frames - 1)


def sample_indices(n_frames: int, count: int, mode: str,
                   rng: np.random.Generator | None) -> np.ndarray:
    if rng is None or mode == "uniform":
        return uniform_indices(n_frames, count)
    return segment_indices(n_frames, count, rng)


Box = tuple[int, int, int, int]  # top, left, height, width


def random_box(height: int, width: int, scale_min: float, rng: np.random.Generator) -> Box:
    """A random window of ``scale_min``..1 of the frame's area, aspect jittered 3/4..4/3.

    The aspect ratio is relative to the frame's own, so a portrait clip yields portrait
    windows, squashed to a square exactly as the whole frame is at evaluation.
    """
    area = rng.uniform(scale_min, 1.0) * height * width
    ratio = math.exp(rng.uniform(*np.log(ASPECT_JITTER))) * width / height
    box_w = min(width, max(1, round(math.sqrt(area * ratio))))
    box_h = min(height, max(1, round(math.sqrt(area / ratio))))
    top = int(rng.integers(0, height - box_h + 1))
    left = int(rng.integers(0, width - box_w + 1))
    return top, left, box_h, box_w


def eval_box(height: int, width: int, mode: str) -> Box:
    if mode == "center":
        side = min(height, width)
        return (height - side) // 2, (width - side) // 2, side, side
    return 0, 0, height, width


def _cv2():
    import cv2  # opencv comes with the [video] / [extract] extras, not the base install
    return cv2


def crop_resize(frames: np.ndarray, box: Box, size: int) -> np.ndarray:
    cv2 = _cv2()
    top, left, box_h, box_w = box
    out = np.empty((len(frames), size, size, 3), dtype=np.uint8)
    interpolation = cv2.INTER_AREA if min(box_h, box_w) > size else cv2.INTER_LINEAR
    for t, frame in enumerate(frames):
        window = np.ascontiguousarray(frame[top:top + box_h, left:left + box_w])
        out[t] = cv2.resize(window, (size, size), interpolation=interpolation)
    return out


def video_clip(video: np.ndarray, frames: int, size: int, mode: str, crop_scale: float,
               flip: float, eval_crop: str, rng: np.random.Generator | None) -> np.ndarray:
    """uint8 ``[T, H, W, 3]`` -> uint8 ``[frames, size, size, 3]``, augmented if ``rng``."""
    picked = np.asarray(video[sample_indices(len(video), frames, mode, rng)])
    height, width = picked.shape[1:3]
    box = random_box(height, width, crop_scale, rng) if rng is not None \
        else eval_box(height, width, eval_crop)
    out = crop_resize(picked, box, size)
    if rng is not None and rng.random() < flip:
        out = out[:, :, ::-1]
    return out


def to_tensor_layout(clip: np.ndarray) -> np.ndarray:
    """uint8 ``[T, H, W, 3]`` -> normalised float32 ``[3, T, H, W]`` (the Conv3d layout)."""
    x = (clip.astype(np.float32) / 255.0 - MEAN) / STD
    return np.ascontiguousarray(x.transpose(3, 0, 1, 2))
