"""The report's statistics against direct computations on small crafted cases.

The bootstrap distribution of a mean of 0/1 outcomes is known exactly (k of n right:
Binomial(n, k/n) / n), and so is that of a mean of -1/0/+1 paired differences (n draws
from the three observed shares), so the intervals and p-values can be checked against
exact numbers rather than against a second run of the same code.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom

from harness.report import stats
from tests.report_store import exact_bootstrap_p


def _outcomes(right: int, n: int) -> np.ndarray:
    values = np.zeros(n)
    values[:right] = 1
    return np.random.default_rng(3).permutation(values)


@pytest.mark.parametrize("right, n", [(150, 200), (31, 200), (200, 200)])
def test_bootstrap_interval_matches_the_exact_binomial_quantiles(right, n):
    ci = stats.bootstrap_mean(_outcomes(right, n), key="case", replicates=20000)
    p = right / n
    exact = binom.ppf([0.025, 0.975], n, p) / n
    # The replicate quantile lands on the exact atom unless the exact CDF sits within
    # sampling noise of 2.5 % at it; then on its neighbour (one clip, 1/n).
    assert abs(ci.low - exact[0]) <= 1 / n + 1e-12
    assert abs(ci.high - exact[1]) <= 1 / n + 1e-12
    assert ci.low <= p <= ci.high
    # Not a normal-approximation or a 90 % interval: both would be narrower or shifted by
    # more than one clip here.
    if 0 < right < n:
        half = 1.96 * math.sqrt(p * (1 - p) / n)
        assert abs((ci.high - ci.low) - 2 * half) < 3 / n


def test_bootstrap_is_seeded_by_its_key():
    values = _outcomes(120, 200)
    first = stats.bootstrap_mean(values, key="bench/config")
    assert stats.bootstrap_mean(values, key="bench/config") == first
    assert stats.bootstrap_mean(values, key="other") != first
    assert stats.bootstrap_mean([], key="x") is None


def test_class_mean_interval_equals_a_clip_by_clip_computation():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 6)
    per_clip = rng.integers(0, 3, size=30) / 2        # seed means of 2 seeds: 0, 0.5, 1
    replicates = 300
    ci = stats.bootstrap_class_mean(per_clip, labels, key="k", replicates=replicates)
    rows = np.concatenate(list(stats.stratified_resamples(labels, replicates,
                                                          stats.generator(0, "k"))))
    direct = []
    for row in rows:
        recalls = []
        for klass in sorted(set(labels[row])):
            chosen = [per_clip[i] for i in row if labels[i] == klass]
            recalls.append(sum(chosen) / len(chosen))
        direct.append(sum(recalls) / len(recalls))
    expected = np.quantile(direct, [0.025, 0.975], method="inverted_cdf")
    assert (ci.low, ci.high) == pytest.approx(tuple(expected), abs=1e-12)
    full = np.mean([per_clip[labels == k].mean() for k in range(5)])
    assert ci.low <= full <= ci.high


def test_class_mean_resamples_keep_every_class_and_its_clip_count():
    # one clip over all clips would drop the classes of one or two clips from many
    # resamples, skewing the interval of a figure that averages over every class
    labels = np.array([0] * 20 + [1] * 2 + [2] + [3] * 7)
    rows = np.concatenate(list(stats.stratified_resamples(labels, 1200,
                                                          stats.generator(0, "k"))))
    assert rows.shape == (1200, labels.size)
    counts = np.stack([np.bincount(labels[row], minlength=4) for row in rows])
    assert (counts == np.bincount(labels)).all()
    assert len(np.unique(rows[:, 20])) == 2          # class 1's clips are drawn from its own


def _paired(a_only: int, b_only: int, both: int, neither: int):
    a = np.array([1] * a_only + [0] * b_only + [1] * both + [0] * neither, dtype=float)
    b = np.array([0] * a_only + [1] * b_only + [1] * both + [0] * neither, dtype=float)
    order = np.random.default_rng(1).permutation(len(a))
    return a[order], b[order]


def _mcnemar_exact(a_only: int, b_only: int) -> float:
    discordant = a_only + b_only
    tail = sum(math.comb(discordant, k) for k in range(min(a_only, b_only) + 1))
    return min(1.0, 2 * tail / 2 ** discordant)


def test_paired_test_finds_a_known_difference():
    a, b = _paired(a_only=22, b_only=2, both=28, neither=8)
    test = stats.paired_bootstrap(a, b, key="diff", replicates=20000)
    assert test.difference == pytest.approx(20 / 60)
    exact = exact_bootstrap_p(22, 2, 60)
    assert exact < 1e-4
    assert test.p_value == pytest.approx(1 / 20001)      # no replicate as extreme
    assert test.significant and _mcnemar_exact(22, 2) < 0.001
    reverse = stats.paired_bootstrap(b, a, key="diff", replicates=20000)
    assert reverse.difference == pytest.approx(-20 / 60) and reverse.significant


def test_paired_test_finds_no_difference_where_there_is_none():
    a, b = _paired(a_only=6, b_only=5, both=30, neither=19)
    test = stats.paired_bootstrap(a, b, key="same", replicates=20000)
    exact = exact_bootstrap_p(6, 5, 60)
    assert test.p_value == pytest.approx(exact, abs=0.015)
    assert exact > 0.5 and not test.significant
    assert _mcnemar_exact(6, 5) > 0.5
    identical = stats.paired_bootstrap(a, a, key="same")
    assert identical.difference == 0 and identical.p_value == 1.0


def test_paired_test_on_seed_means_and_misaligned_input():
    rng = np.random.default_rng(5)
    seeds_a = (rng.random((3, 80)) < 0.8).mean(axis=0)
    seeds_b = (rng.random((3, 80)) < 0.5).mean(axis=0)
    test = stats.paired_bootstrap(seeds_a, seeds_b, key="seeds")
    assert test.difference == pytest.approx(seeds_a.mean() - seeds_b.mean())
    assert test.significant and test.clips == 80
    assert stats.paired_bootstrap(seeds_a, seeds_b[:10]) is None
