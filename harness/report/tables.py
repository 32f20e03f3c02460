"""Numbers as the tables print them: headline rows, every configuration, the verdict line."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from harness.report.collect import (COST_METRICS, TEST_METRICS, VAL_METRICS, Benchmark,
                                    Configuration, Metric, version_label)
from harness.report.headline import CHOSEN_ON, Headline, validation_order
from harness.report.stats import ALPHA, Interval, PairedTest
from harness.util.stats import MeanStd
from harness.report.uncertainty import Uncertainty
from harness.report.words import counted

MARK = "★"
# Accuracies printed with an interval; the rest with ± std alone.
WITH_INTERVAL = ("top1", "top5", "class_acc")


def _nan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def plain(value: float, kind: str) -> str:
    """One number in the unit of its column (percent as 0-100)."""
    if _nan(value):
        return "–"
    if kind == "percent":
        return f"{100 * value:.1f}"
    if kind == "count":
        for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if value >= size:
                return f"{value / size:.{1 if value < 10 * size else 0}f}{suffix}"
        return f"{value:.0f}"
    if kind == "seconds":
        if value >= 3600:
            return f"{value / 3600:.1f} h"
        if value >= 120:
            return f"{value / 60:.1f} min"
        return f"{value:.1f} s"
    if kind == "ms":
        return f"{value:.2f}" if value < 10 else f"{value:.1f}"
    return f"{value:g}"


def spread(stat: MeanStd, kind: str) -> str:
    """The ± part, in the same unit as :func:`plain` (empty for a single run)."""
    if stat.n < 2 or _nan(stat.std):
        return ""
    if kind == "count" and not stat.std:
        return ""
    return plain(stat.std, kind)


def interval(value: Interval | None) -> str:
    return "" if value is None else f"{100 * value.low:.1f}–{100 * value.high:.1f}"


def p_value(p: float) -> str:
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


@dataclass(frozen=True)
class Column:
    metric: Metric
    low_value: bool = False        # dropped first on a narrow screen
    with_spread: bool = True

    @property
    def heading(self) -> str:
        return self.metric.label + (" (%)" if self.metric.kind == "percent" else "")


# The headline's cost columns show the mean alone: the spread is in "all configurations".
HEADLINE_COLUMNS = (*(Column(m) for m in TEST_METRICS if m.key in WITH_INTERVAL),
                    *(Column(m, low_value=True, with_spread=False) for m in COST_METRICS))
ALL_COLUMNS = (*(Column(m) for m in VAL_METRICS[:1]), *(Column(m) for m in TEST_METRICS),
               *(Column(m, low_value=True) for m in COST_METRICS))


@dataclass
class Cell:
    value: str
    spread: str = ""
    interval: str = ""
    low_value: bool = False
    strong: bool = False
    left_out: str = ""             # "1 seed left out": the mean is of fewer runs than n counts


@dataclass
class TableRow:
    variant: str
    version: str
    n: int                         # the seeds the top-1 mean is of, not every run
    seeds: str                     # those seeds; any left out, said after them
    cells: list[Cell]
    note: str = ""                 # how the configuration was chosen
    marked: bool = False           # significantly best
    chosen: bool = False           # the model's configuration in the headline
    missing: list[str] = field(default_factory=list)   # runs without predictions


# Top-5 of a vocabulary of five signs or fewer is 100 % by construction: no figure.
TOP5_MIN_VOCAB = 6


def left_out(stat: MeanStd, runs: int) -> str:
    """What a cell says when its mean is of fewer runs than there are: a seed with no value
    (a diverged or unfinished run) is left out, never counted as zero or as a seed."""
    if not stat.known or stat.n >= runs:
        return ""
    return f"{counted(runs - stat.n, 'seed')} left out"


def seeds_text(config: Configuration) -> str:
    """The seeds the row's n counts, and then those it leaves out."""
    text = ", ".join(map(str, config.seeds))
    if config.left_out:
        text += f" (left out, no test top-1: {', '.join(map(str, config.left_out))})"
    return text


def _cells(stats: dict[str, MeanStd], uncertainty: Uncertainty | None, columns,
           strong_top1: bool = False, vocab: int | None = None, runs: int = 0) -> list[Cell]:
    cells = []
    for column in columns:
        metric = column.metric
        stat = stats[metric.key]
        if metric.key == "top5" and vocab is not None and vocab < TOP5_MIN_VOCAB:
            cells.append(Cell("–", low_value=column.low_value))
            continue
        bounds = uncertainty.intervals.get(metric.key) if uncertainty else None
        cells.append(Cell(plain(stat.mean, metric.kind),
                          spread(stat, metric.kind) if column.with_spread else "",
                          interval(bounds) if stat.known else "", column.low_value,
                          strong=strong_top1 and metric.key == "top1",
                          left_out=left_out(stat, runs)))
    return cells


def headline_rows(headline: Headline) -> list[TableRow]:
    marked = headline.marked
    rows = []
    for row in headline.rows:
        config = row.configuration
        if row.candidates == 1:
            note = ""
        elif row.chosen_on == CHOSEN_ON:
            note = f"best {CHOSEN_ON} of {row.candidates} configurations"
        else:
            note = f"{row.candidates} configurations, no validation figures: most seeds"
        rows.append(TableRow(
            config.variant, config.version, config.stats["top1"].n, seeds_text(config),
            _cells(config.stats, row.uncertainty, HEADLINE_COLUMNS, row is marked,
                   headline.benchmark.vocab, config.n),
            note=note, marked=row is marked, chosen=True,
            missing=row.uncertainty.outcomes.missing if row.uncertainty.known
            else list(config.scored["run_id"])))
    return rows


def configuration_rows(benchmark: Benchmark, uncertainty: dict[str, Uncertainty],
                       chosen: set[str]) -> list[TableRow]:
    """Every configuration, best validation top-1 first (the order they were chosen in)."""
    rows = []
    for config in sorted(benchmark.configurations, key=lambda c: (c.model, validation_order(c))):
        rows.append(TableRow(
            config.variant, version_label(config.version), config.stats["top1"].n,
            seeds_text(config),
            _cells(config.stats, uncertainty.get(config.key), ALL_COLUMNS,
                   vocab=benchmark.vocab, runs=config.n),
            chosen=config.key in chosen))
    return rows


def verdict(headline: Headline) -> str:
    """One sentence: who is best on this benchmark and whether that is more than chance."""
    rows, test = headline.rows, headline.test
    if len(rows) < 2:
        return "One model on this benchmark: nothing to compare."
    first, second = rows[0].configuration.variant, rows[1].configuration.variant
    if test is None:
        return f"{first} leads {second} on mean top-1; {headline.problem}."
    how = (f"{test.name} over the {counted(test.clips, 'shared test clip')}, "
           f"{test.replicates:,} resamples")
    points = 100 * test.difference
    if headline.marked is not None:
        return (f"{MARK} {first} is ahead of {second} by {points:.1f} points of top-1 "
                f"({p_value(test.p_value)}, {how}).")
    if test.significant and test.difference < 0:
        # the mean counts runs the paired test has no predictions of (or other clips)
        return (f"No row is marked: {first} leads {second} on mean top-1, but on the clips "
                f"both have per-clip predictions of, {second} is ahead by {-points:.1f} points "
                f"({p_value(test.p_value)}, {how}).")
    return (f"No row is marked: {first} and {second} differ by {points:.1f} points of top-1, "
            f"which the test split does not separate from chance at {ALPHA:g} "
            f"({p_value(test.p_value)}, {how}).")


def test_columns(test: PairedTest | None) -> dict:
    """The paired test as CSV/LaTeX fields."""
    if test is None:
        return {"test": "", "p_value": math.nan, "difference_top1": math.nan, "test_clips": 0}
    return {"test": test.name, "p_value": test.p_value, "difference_top1": test.difference,
            "test_clips": test.clips}
