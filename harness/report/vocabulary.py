"""Accuracy against vocabulary size: one point per model, dataset and vocabulary, taken from
the headline (the model's configuration chosen on validation), with its 95 % interval."""
from __future__ import annotations

import math

from harness.report.figures import Point
from harness.report.headline import Headline


def points(headlines: list[Headline]) -> list[Point]:
    """Datasets run at more than one vocabulary size. Where a dataset and vocabulary were
    evaluated on several splits, the split with the most runs of the model speaks for it."""
    chosen: dict[tuple[str, str, int], tuple[int, Point]] = {}
    for headline in headlines:
        bench = headline.benchmark
        for row in headline.rows:
            config = row.configuration
            top1 = config.stats["top1"]
            if not top1.known:
                continue
            bounds = row.uncertainty.intervals.get("top1")
            point = Point(config.model, bench.dataset, bench.vocab, top1.mean,
                          bounds.low if bounds else math.nan, bounds.high if bounds else math.nan)
            key = (bench.dataset, config.model, bench.vocab)
            if key not in chosen or config.n > chosen[key][0]:
                chosen[key] = (config.n, point)
    sizes: dict[str, set[int]] = {}
    for dataset, _, vocab in chosen:
        sizes.setdefault(dataset, set()).add(vocab)
    return [point for (dataset, _, _), (_, point) in sorted(chosen.items())
            if len(sizes[dataset]) > 1]
