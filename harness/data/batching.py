"""Batches of clips of similar length, so that a batch is padded only to its longest clip,
and the padding itself."""
from __future__ import annotations

import numpy as np


def length_batches(lengths: np.ndarray, batch_size: int,
                   rng: np.random.Generator | None = None,
                   pool_batches: int = 16) -> list[np.ndarray]:
    """Index batches grouping similar lengths.

    Without ``rng`` (prediction): sorted by length. With it (training): a fresh shuffle on
    every call, sorted by length within pools of ``pool_batches`` batches, so the batches
    differ between epochs yet stay length-homogeneous; the batch order is shuffled too.
    """
    lengths = np.asarray(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    order = rng.permutation(len(lengths))
    pool = batch_size * pool_batches
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start:start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def pad_rows(rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``[T_i, F]`` arrays -> ``frames [B, T_max, F]`` float32, zeros past each clip, and
    ``valid [B, T_max]`` (True = a real frame)."""
    longest = max(len(r) for r in rows)
    frames = np.zeros((len(rows), longest, rows[0].shape[1]), dtype=np.float32)
    valid = np.zeros((len(rows), longest), dtype=bool)
    for i, r in enumerate(rows):
        frames[i, :len(r)] = r
        valid[i, :len(r)] = True
    return frames, valid
