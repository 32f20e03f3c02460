"""The answer first: per benchmark, each model's configuration chosen on validation, ranked
on test, and whether the best is ahead of the second by more than test-set chance.

Validation decides which configuration speaks for a model (never the test split: choosing
on test would report the luckiest draw). The test split then ranks the models, and a paired
test on the same test clips says whether the first is really ahead of the second.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from harness.report.collect import Benchmark, Configuration
from harness.report.stats import PairedTest
from harness.report.uncertainty import Uncertainty, compare

CHOSEN_ON = "val top-1"


@dataclass
class Row:
    configuration: Configuration
    uncertainty: Uncertainty
    candidates: int          # configurations of this model on the benchmark
    chosen_on: str           # CHOSEN_ON, or why validation could not decide


@dataclass
class Headline:
    benchmark: Benchmark
    rows: list[Row]                    # one per model, best test top-1 first
    test: PairedTest | None            # first row against the second
    problem: str = ""                  # why there is no test, when there are two rows

    @property
    def marked(self) -> Row | None:
        """The best row, only when it beats the second significantly."""
        if self.test is not None and self.test.significant and self.test.difference > 0:
            return self.rows[0]
        return None

    @property
    def chosen_keys(self) -> set[str]:
        return {row.configuration.key for row in self.rows}


def _or(value: float, default: float) -> float:
    return default if value is None or math.isnan(value) else value


def validation_order(configuration: Configuration) -> tuple:
    """Sort key: best validation top-1 first; ties by validation per-class accuracy, then
    more seeds, then name. No test figure takes part."""
    stats = configuration.stats
    return (-_or(stats["val_top1"].mean, -math.inf), -_or(stats["val_class_acc"].mean, -math.inf),
            -configuration.n, configuration.variant)


def choose(configurations: list[Configuration]) -> tuple[Configuration, str]:
    """The configuration a model is represented by, and on what it was chosen."""
    if len(configurations) == 1:
        return configurations[0], "only configuration"
    ordered = sorted(configurations, key=validation_order)
    if not ordered[0].stats["val_top1"].known:
        return ordered[0], "most seeds (no validation figures)"
    return ordered[0], CHOSEN_ON


def test_order(row: Row) -> tuple:
    return (-_or(row.configuration.stats["top1"].mean, -math.inf), row.configuration.variant)


def headline(benchmark: Benchmark, uncertainty: dict[str, Uncertainty], seed: int = 0
             ) -> Headline:
    by_model: dict[str, list[Configuration]] = {}
    for configuration in benchmark.configurations:
        by_model.setdefault(configuration.model, []).append(configuration)
    rows = []
    for configurations in by_model.values():
        chosen, reason = choose(configurations)
        rows.append(Row(chosen, uncertainty[chosen.key], len(configurations), reason))
    rows.sort(key=test_order)
    result = Headline(benchmark, rows, None)
    if len(rows) < 2:
        return result
    first, second = rows[0], rows[1]
    result.test = compare(first.uncertainty.outcomes, second.uncertainty.outcomes,
                          key=f"{benchmark.split_hash}|{first.configuration.key}|"
                              f"{second.configuration.key}", seed=seed)
    if result.test is None:
        lacking = [r.configuration.variant for r in (first, second) if not r.uncertainty.known]
        result.problem = (f"no paired test: no per-clip predictions for {', '.join(lacking)}"
                          if lacking else "no paired test: the two share no test clips")
    return result
