"""All frames of many clips packed into one feature matrix, plus the standardiser.

A :class:`FrameTable` holds ``x [F, 329]`` (float32, standardised) for the frames of a set
of clips laid end to end, ``clip_of [F]`` (which clip a frame belongs to) and ``offsets``
(clip i is rows ``offsets[i]:offsets[i+1]``). The matrix is allocated once, at its final
size, so building it for a large vocabulary never holds two copies.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from harness.api import BadLandmarks, mirror_landmarks

from plugins.keyframe_mlp.config import KeyframeMLPConfig
from plugins.keyframe_mlp.features import FEATURE_DIM, frame_features

_CHUNK = 65536            # rows standardised at a time (bounds float64 temporaries)


@dataclass
class Standardiser:
    """Feature mean and std fitted on training frames; constant features get std 1."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray | torch.Tensor) -> "Standardiser":
        if isinstance(x, torch.Tensor):
            x = x.numpy()
        total = np.zeros(x.shape[1])
        squares = np.zeros(x.shape[1])
        for start in range(0, len(x), _CHUNK):
            block = x[start:start + _CHUNK].astype(np.float64)
            total += block.sum(axis=0)
            squares += np.square(block).sum(axis=0)
        count = max(len(x), 1)
        mean = total / count
        var = np.maximum(squares / count - np.square(mean), 0.0)
        std = np.sqrt(var)
        std[std < 1e-8] = 1.0
        return cls(mean.astype(np.float32), std.astype(np.float32))

    def apply_(self, x: np.ndarray | torch.Tensor) -> None:
        """Standardise ``x`` in place (a tensor shares its numpy memory)."""
        if isinstance(x, torch.Tensor):
            x = x.numpy()
        for start in range(0, len(x), _CHUNK):
            block = x[start:start + _CHUNK]
            block -= self.mean
            block /= self.std


@dataclass
class FrameTable:
    x: torch.Tensor            # [F, D] float32
    clip_of: torch.Tensor      # [F] int64
    offsets: torch.Tensor      # [N + 1] int64
    labels: torch.Tensor | None = None   # [N] int64, only for labelled (training) sets

    @property
    def n_clips(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_frames(self) -> int:
        return len(self.x)

    def frame_labels(self) -> torch.Tensor:
        return self.labels[self.clip_of]


def _fps(value: float, config: KeyframeMLPConfig) -> float:
    return float(value) if np.isfinite(value) and value > 0 else config.default_fps


def build_table(clips, fps: np.ndarray, config: KeyframeMLPConfig, name: str,
                labels: np.ndarray | None = None, mirror: bool = False,
                n_frames: np.ndarray | None = None,
                advance: Callable[[int], None] | None = None) -> FrameTable:
    """Raw (unstandardised) features of every frame of ``clips`` (``len`` + ``clip(i)``).

    With ``mirror`` each clip is followed by its mirrored copy (same label). ``n_frames``
    (from the metadata) sizes the matrix up front; a clip whose length differs from it is
    a broken dataset and raises :class:`BadLandmarks`. ``advance(1)`` is called per clip.
    """
    copies = 2 if mirror else 1
    n = len(clips)
    if n_frames is None:
        n_frames = np.array([len(clips.clip(i)) for i in range(n)], dtype=np.int64)
    lengths = np.repeat(np.asarray(n_frames, dtype=np.int64), copies)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    x = np.empty((int(offsets[-1]), FEATURE_DIM), dtype=np.float32)
    for i in range(n):
        clip = clips.clip(i)
        if len(clip) != n_frames[i] or clip.ndim != 3:
            raise BadLandmarks(f"{name}: clip {i} has {len(clip)} frames but the metadata "
                               f"says {n_frames[i]}; rebuild the dataset's landmark store")
        rate = _fps(fps[i], config)
        versions = (clip, mirror_landmarks(clip)) if mirror else (clip,)
        for copy, version in enumerate(versions):
            row = i * copies + copy
            x[offsets[row]:offsets[row + 1]] = frame_features(
                version, rate, config.origin, config.shoulder_width, config.velocity)
        if advance is not None:
            advance(1)
    clip_of = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    table_labels = None
    if labels is not None:
        table_labels = torch.from_numpy(np.repeat(np.asarray(labels, dtype=np.int64), copies))
    return FrameTable(torch.from_numpy(x), torch.from_numpy(clip_of),
                      torch.from_numpy(offsets), table_labels)
