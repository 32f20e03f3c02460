"""Accuracy against vocabulary size: one point per model, dataset and vocabulary, taken from
the headline (the model's configuration chosen on validation), with its 95 % interval."""
from __future__ import annotations

import math

from harness.report.figures import Point, logarithmic
from harness.report.headline import Headline


def speaking(headlines: list[Headline]) -> dict[tuple[str, int], list[Headline]]:
    """The headlines of each dataset and vocabulary, the one that speaks for it first: the
    split with the most runs. One split speaks for every model, so that the points at one
    vocabulary size are on the same test clips, as in a headline table (one model's best
    split beside another's would compare different clips)."""
    found: dict[tuple[str, int], list[Headline]] = {}
    for item in headlines:
        found.setdefault((item.benchmark.dataset, item.benchmark.vocab), []).append(item)
    return {key: sorted(same, key=lambda h: (-h.benchmark.n_runs, h.benchmark.split_hash))
            for key, same in found.items()}


def points(headlines: list[Headline]) -> list[Point]:
    """Datasets run at more than one vocabulary size, each size from the split that speaks
    for it (:func:`speaking`)."""
    chosen: dict[tuple[str, str, int], Point] = {}
    for (dataset, vocab), (item, *_) in speaking(headlines).items():
        for row in item.rows:
            config = row.configuration
            top1 = config.stats["top1"]
            if not top1.known:
                continue
            bounds = row.uncertainty.intervals.get("top1")
            chosen[(dataset, config.model, vocab)] = Point(
                config.model, dataset, vocab, top1.mean,
                bounds.low if bounds else math.nan, bounds.high if bounds else math.nan)
    sizes: dict[str, set[int]] = {}
    for dataset, _, vocab in chosen:
        sizes.setdefault(dataset, set()).add(vocab)
    return [point for (dataset, _, _), point in sorted(chosen.items())
            if len(sizes[dataset]) > 1]


def other_splits(headlines: list[Headline], drawn: list[Point]) -> list[str]:
    """For the figure's caption: each drawn dataset and vocabulary that was also evaluated
    on other splits, and the split its points are from."""
    shown = {(p.panel, p.x) for p in drawn}
    return [f"{dataset} at {vocab} signs, split {same[0].benchmark.short_hash} (of "
            f"{len(same)})" for (dataset, vocab), same in speaking(headlines).items()
            if len(same) > 1 and (dataset, vocab) in shown]


def axis_words(drawn: list[Point]) -> str:
    """The caption's words for the size axis, as the panels drew it (a log axis only where
    a dataset's sizes span 8x: WLASL 100 and 300 are on a linear one)."""
    panels: dict[str, set[float]] = {}
    for point in drawn:
        panels.setdefault(point.panel, set()).add(point.x)
    logs = {logarithmic(sizes) for sizes in panels.values()}
    if logs == {True}:
        return "on a logarithmic axis"
    if logs == {False}:
        return "on a linear axis"
    return "on a logarithmic axis where a dataset's sizes span a factor of 8 or more"
