"""The most confused sign pairs and the part of the confusion matrix worth drawing."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class ConfusedPair:
    true: str
    predicted: str
    count: int
    share: float          # of the true sign's test clips


def pooled(matrices: Sequence[np.ndarray]) -> np.ndarray | None:
    """Counts summed over seeds; None if the runs disagree on the vocabulary size."""
    shapes = {m.shape for m in matrices}
    if not matrices or len(shapes) != 1:
        return None
    return np.sum(matrices, axis=0)


def top_pairs(matrix: np.ndarray, vocab: Sequence[str], limit: int) -> list[ConfusedPair]:
    counts = np.asarray(matrix, dtype=np.int64).copy()
    np.fill_diagonal(counts, 0)
    totals = np.asarray(matrix).sum(axis=1)
    flat = np.argsort(-counts, axis=None, kind="stable")[:limit]
    pairs = []
    for index in flat:
        i, j = np.unravel_index(index, counts.shape)
        if counts[i, j] == 0:
            break
        pairs.append(ConfusedPair(vocab[i], vocab[j], int(counts[i, j]),
                                  float(counts[i, j] / totals[i]) if totals[i] else 0.0))
    return pairs


def focus_classes(matrix: np.ndarray, limit: int) -> np.ndarray:
    """Indices of the classes to draw: all of them for a small vocabulary, otherwise the
    classes taking part in the largest off-diagonal counts (true or predicted side)."""
    n = len(matrix)
    if n <= limit:
        return np.arange(n)
    counts = np.asarray(matrix, dtype=np.int64).copy()
    np.fill_diagonal(counts, 0)
    chosen: list[int] = []
    for index in np.argsort(-counts, axis=None, kind="stable"):
        i, j = np.unravel_index(index, counts.shape)
        if counts[i, j] == 0:
            break
        for k in (int(i), int(j)):
            if k not in chosen and len(chosen) < limit:
                chosen.append(k)
        if len(chosen) >= limit:
            break
    if not chosen:        # nothing confused: show the first classes
        chosen = list(range(limit))
    return np.array(sorted(chosen))
