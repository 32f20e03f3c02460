"""The report's statistics: bootstrap intervals over test clips and the paired bootstrap
test between two models evaluated on the same test clips (mean ± std over seeds is
:class:`harness.util.stats.MeanStd`, shared with the sweep).

Everything is seeded from a string key (the benchmark and configuration), so a number in
the report is the same whichever order the report computes it in.

Per-clip values are the *seed mean* of a configuration's correctness on each test clip
(1, 0, or a fraction with several seeds), so an interval or a test is about the seed-mean
accuracy that the tables print, and its uncertainty is the one that comes from which clips
happen to be in the test set. Seed-to-seed spread is the separate ± std.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np

LEVEL = 0.95
INTERVAL_REPLICATES = 2000
TEST_REPLICATES = 10000
ALPHA = 0.05
TEST_NAME = "paired bootstrap"
# Replicates drawn per block: bounds memory at CHUNK x clips indices.
CHUNK = 500


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    level: float = LEVEL


@dataclass(frozen=True)
class PairedTest:
    """``a`` against ``b`` on the same clips: observed difference of mean accuracy (a - b)
    and the two-sided p-value of "no difference"."""

    difference: float
    p_value: float
    clips: int
    replicates: int
    name: str = TEST_NAME

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


def generator(seed: int, key: str) -> np.random.Generator:
    digest = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng([seed, digest])


def _resamples(n: int, replicates: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Blocks of bootstrap index rows, each row n clip indices drawn with replacement."""
    done = 0
    while done < replicates:
        block = min(CHUNK, replicates - done)
        yield rng.integers(0, n, size=(block, n))
        done += block


def _percentile_interval(values: np.ndarray, level: float) -> Interval:
    tail = (1 - level) / 2
    # inverted_cdf: each end is an attained replicate value, as in the bootstrap
    # distribution's own quantile function.
    low, high = np.quantile(values, [tail, 1 - tail], method="inverted_cdf")
    return Interval(float(low), float(high), level)


def bootstrap_mean(per_clip, *, seed: int = 0, key: str = "",
                   replicates: int = INTERVAL_REPLICATES, level: float = LEVEL
                   ) -> Interval | None:
    """Percentile interval of the mean of ``per_clip`` (e.g. top-1 correctness)."""
    values = np.asarray(per_clip, dtype=np.float64)
    if values.size == 0:
        return None
    rng = generator(seed, key)
    means = np.concatenate([values[rows].mean(axis=1)
                            for rows in _resamples(values.size, replicates, rng)])
    return _percentile_interval(means, level)


def stratified_resamples(labels: np.ndarray, replicates: int,
                         rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Blocks of bootstrap index rows that redraw each class's clips from that class alone,
    so every row holds every class with its own number of clips."""
    members = [np.flatnonzero(labels == klass) for klass in np.unique(labels)]
    done = 0
    while done < replicates:
        block = min(CHUNK, replicates - done)
        yield np.concatenate([clips[rng.integers(0, len(clips), size=(block, len(clips)))]
                              for clips in members], axis=1)
        done += block


def class_means(per_clip: np.ndarray, labels: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Mean per-class accuracy of each resample (a row of clip indices): the mean over the
    classes present in the resample of the class's mean correctness."""
    classes = int(labels.max()) + 1
    offsets = (np.arange(len(rows))[:, None] * classes + labels[rows]).ravel()
    size = len(rows) * classes
    hits = np.bincount(offsets, weights=per_clip[rows].ravel(), minlength=size)
    counts = np.bincount(offsets, minlength=size).astype(np.float64)
    hits, counts = hits.reshape(len(rows), classes), counts.reshape(len(rows), classes)
    present = counts > 0
    recall = np.divide(hits, counts, out=np.zeros_like(hits), where=present)
    return recall.sum(axis=1) / present.sum(axis=1)


def bootstrap_class_mean(per_clip, labels, *, seed: int = 0, key: str = "",
                         replicates: int = INTERVAL_REPLICATES, level: float = LEVEL
                         ) -> Interval | None:
    """Percentile interval of the mean per-class accuracy, each class's clips resampled
    within the class: the test split fixes which signs are tested and how often, and a
    resample that left out a small class (as one over all clips does, most often the
    classes of one or two clips) would average over other signs than the figure does."""
    values = np.asarray(per_clip, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if values.size == 0:
        return None
    rng = generator(seed, key)
    means = np.concatenate([class_means(values, labels, rows)
                            for rows in stratified_resamples(labels, replicates, rng)])
    return _percentile_interval(means, level)


def paired_bootstrap(a, b, *, seed: int = 0, key: str = "",
                     replicates: int = TEST_REPLICATES) -> PairedTest | None:
    """Two-sided paired bootstrap test of equal mean accuracy on the same clips.

    The clip-wise differences ``d = a - b`` are resampled; under the null hypothesis the
    bootstrap distribution of the mean difference is centred on zero, so the p-value is the
    share of replicates whose distance from the observed mean is at least the observed mean's
    distance from zero, with the usual +1 correction (it is never exactly 0).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.size == 0:
        return None
    differences = a - b
    observed = float(differences.mean())
    rng = generator(seed, key)
    extreme = 0
    # A tolerance keeps replicates that tie the observed distance exactly (common with
    # 0/1 outcomes) on the "at least as extreme" side despite rounding.
    threshold = abs(observed) - 1e-12
    for rows in _resamples(differences.size, replicates, rng):
        extreme += int((np.abs(differences[rows].mean(axis=1) - observed) >= threshold).sum())
    return PairedTest(observed, (extreme + 1) / (replicates + 1), int(differences.size),
                      replicates)
