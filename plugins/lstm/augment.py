"""The study's augmentations for hand-landmark sequences: shift, scale, Gaussian noise, and
class balancing by augmented copies. All act on ``[N, L, 42, C]`` point arrays in which NaN
marks a missing hand; NaN stays NaN, so a transform never invents a hand. Shift and zoom
are the harness augmentation library's affine maps, one per clip.
"""
from __future__ import annotations

import numpy as np

from harness.api import apply_affine


def shift(points: np.ndarray, rng: np.random.Generator, max_shift: float) -> np.ndarray:
    """Translate each clip by one uniform (dx, dy) in [-max_shift, max_shift] (depth kept)."""
    offsets = rng.uniform(-max_shift, max_shift, size=(len(points), 2))
    return np.stack([apply_affine(clip, np.eye(2), (0.0, 0.0), offset)
                     for clip, offset in zip(points, offsets)]).reshape(points.shape)


def scale(points: np.ndarray, rng: np.random.Generator, max_scale: float) -> np.ndarray:
    """Zoom each clip by a factor in [1 - max_scale, 1 + max_scale] about its hands' centre
    (depth too, when the points have it)."""
    factors = rng.uniform(1.0 - max_scale, 1.0 + max_scale, size=len(points))
    centres = _centre(points)
    out = np.stack([apply_affine(clip, factor * np.eye(2), centre[0, 0, :2])
                    for clip, factor, centre in zip(points, factors, centres)])
    out = out.reshape(points.shape)
    if points.shape[-1] > 2:
        depth = centres[..., 2:]
        out[..., 2:] = depth + factors[:, None, None, None] * (points[..., 2:] - depth)
    return out.astype(np.float32)


def noise(points: np.ndarray, rng: np.random.Generator, std: float) -> np.ndarray:
    """Independent Gaussian jitter on every coordinate of every frame."""
    return (points + rng.normal(0.0, std, size=points.shape)).astype(np.float32)


def _centre(points: np.ndarray) -> np.ndarray:
    """Mean of each clip's present points ``[N, 1, 1, C]`` (0.5 if it has none)."""
    flat = points.reshape(len(points), -1, points.shape[-1])
    finite = np.isfinite(flat)
    count = finite.sum(axis=1)
    total = np.where(finite, flat, 0.0).sum(axis=1)
    centre = np.where(count > 0, total / np.maximum(count, 1), 0.5)
    return centre[:, None, None, :]


def balance_index(labels: np.ndarray, rng: np.random.Generator, per_class: int = 0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Training indices with every class filled up to ``per_class`` (0: the largest class).

    Returns ``(index, is_copy)``: the original indices first, then the drawn copies. Classes
    already at or above the target keep all their clips (nothing is thrown away).
    """
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    target = per_class if per_class > 0 else int(counts.max())
    extra = [rng.choice(np.flatnonzero(labels == c), size=target - n, replace=True)
             for c, n in zip(classes, counts) if n < target]
    copies = np.concatenate(extra).astype(np.int64) if extra else np.zeros(0, dtype=np.int64)
    index = np.concatenate([np.arange(len(labels), dtype=np.int64), copies])
    is_copy = np.concatenate([np.zeros(len(labels), bool), np.ones(len(copies), bool)])
    return index, is_copy
