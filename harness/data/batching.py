"""Batches of clips of similar length, so that a batch is padded only to its longest clip."""
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
