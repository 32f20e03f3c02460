"""Batches of clips of similar length, padded only to the longest clip of their batch."""
from __future__ import annotations

import numpy as np
import torch

POOL_BATCHES = 20        # shuffle, then sort by length within pools of this many batches


def length_batches(lengths: np.ndarray, batch_size: int,
                   rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """Index batches grouping similar lengths. Without ``rng`` (prediction): sorted by
    length. With it (training): a fresh shuffle each call, sorted within pools so that the
    batches differ between epochs yet stay length-homogeneous; batch order shuffled."""
    lengths = np.asarray(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    order = rng.permutation(len(lengths))
    pool = batch_size * POOL_BATCHES
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start:start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


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
