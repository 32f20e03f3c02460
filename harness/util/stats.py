"""Mean ± sample standard deviation over seeds: one rule for the sweep, its view and the report.

The spread is the sample standard deviation (ddof=1), so a single run has none (NaN), and
values that are missing (None, NaN) are left out rather than counted as zero; so is an
infinite one (a diverged loss), which no mean or spread can carry.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable


def _missing(value) -> bool:
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


def _spread(values: list[float], mean: float) -> float:
    try:
        return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))
    except OverflowError:     # 1e200 squared is past a float: the deviations scaled first
        scale = max(abs(v - mean) for v in values)
        return scale * _spread([(v - mean) / scale for v in values], 0.0)


@dataclass(frozen=True)
class MeanStd:
    mean: float
    std: float          # NaN for fewer than two values
    n: int

    @classmethod
    def of(cls, values: Iterable) -> "MeanStd":
        kept = [float(v) for v in values if not _missing(v)]
        if not kept:
            return cls(math.nan, math.nan, 0)
        mean = math.fsum(kept) / len(kept)
        return cls(mean, _spread(kept, mean) if len(kept) > 1 else math.nan, len(kept))

    @property
    def known(self) -> bool:
        return self.n > 0

    def format(self, digits: int = 3) -> str:
        return format_mean_std(self.mean, self.std, digits)


def format_mean_std(mean: float, std: float, digits: int = 3) -> str:
    """``0.833 ± 0.012``; one seed has no spread: ``0.833``; no run: ``-``."""
    if _missing(mean):
        return "-"
    if _missing(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"
