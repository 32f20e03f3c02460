"""Batches of clips of similar length, padded only to the longest clip of their batch."""
from __future__ import annotations

import numpy as np
import torch

from harness.api import length_batches as shared_length_batches, pad_rows

POOL_BATCHES = 20        # shuffle, then sort by length within pools of this many batches


def length_batches(lengths: np.ndarray, batch_size: int,
                   rng: np.random.Generator | None = None) -> list[np.ndarray]:
    return shared_length_batches(lengths, batch_size, rng, POOL_BATCHES)


def pad(rows: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """``frames [B, T_max, F]`` and ``padding [B, T_max]`` (True = padded frame: what
    ``nn.Transformer``'s key padding mask wants)."""
    frames, valid = pad_rows(rows)
    return torch.from_numpy(frames), torch.from_numpy(~valid)
