"""Mean ± sample standard deviation over seeds: one rule for the sweep, its view and the report.

The spread is the sample standard deviation (ddof=1), so a single run has none (NaN), and
values that are missing (None, NaN) are left out rather than counted as zero.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable


def _missing(value) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


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
        std = (math.sqrt(math.fsum((v - mean) ** 2 for v in kept) / (len(kept) - 1))
               if len(kept) > 1 else math.nan)
        return cls(mean, std, len(kept))

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
