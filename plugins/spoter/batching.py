"""Batches of clips of similar length, padded only to the longest clip of their batch."""
from __future__ import annotations

import numpy as np
import torch

from harness.api import length_batches as shared_length_batches

POOL_BATCHES = 20        # shuffle, then sort by length within pools of this many batches


def length_batches(lengths: np.ndarray, batch_size: int,
                   rng: np.random.Generator | None = None) -> list[np.ndarray]:
    return shared_length_batches(lengths, batch_size, rng, POOL_BATCHES)


def pad(rows: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """``[T_i, F]`` arrays -> ``frames [B, T_max, F]`` and ``padding [B, T_max]`` (True =
    padded frame)."""
    longest = max(len(r) for r in rows)
    frames = np.zeros((len(rows), longest, rows[0].shape[1]), dtype=np.float32)
    padding = np.ones((len(rows), longest), dtype=bool)
    for i, r in enumerate(rows):
        frames[i, :len(r)] = r
        padding[i, :len(r)] = False
    return torch.from_numpy(frames), torch.from_numpy(padding)
