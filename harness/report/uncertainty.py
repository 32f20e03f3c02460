"""Per-clip outcomes of a configuration's runs, and the intervals they give its accuracies.

Each run's ``predictions.csv`` says, clip by clip, whether the run was right (top-1) and
whether the true sign was among its five best guesses (top-5). The runs of one configuration
share a split, so their clips line up; the seed mean per clip is what the bootstrap resamples.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.report import stats
from harness.report.words import counted

CLIP_COLUMNS = ("clip_id", "label", "gloss", "correct", "top5")
MEASURES = ("top1", "top5", "class_acc")
# How ``correct`` reads back from CSV (pandas writes True/False; older tables 1/0).
TRUTHS, FALSEHOODS = ["true", "1"], ["false", "0"]


def unusable(predictions: pd.DataFrame | None, test_clips: int | None) -> str:
    """Why a run's ``predictions.csv`` cannot give its per-clip outcomes ("" if it can).

    A file cut short (a copy or an upload that stopped) still parses: its rows would quietly
    shrink the clips every interval and paired test is computed over, so it must hold one
    complete row per test clip the run logged (``n_test``), each clip once.
    """
    if predictions is None:
        return "missing or unreadable"
    lacking = [c for c in CLIP_COLUMNS if c not in predictions]
    if lacking:
        return f"no {', '.join(lacking)} column"
    if test_clips is not None and len(predictions) != test_clips:
        return f"{counted(len(predictions), 'row')} for the run's {test_clips} test clips"
    blank = predictions[list(CLIP_COLUMNS)].isna().any(axis=1)    # a row cut off midway
    labels = pd.to_numeric(predictions["label"], errors="coerce")
    malformed = (blank | labels.isna() | (labels % 1 != 0)
                 | ~predictions["correct"].astype(str).str.lower().isin(TRUTHS + FALSEHOODS))
    if malformed.any():
        return (f"{counted(int(malformed.sum()), 'malformed or incomplete row')} "
                f"(the first on line {int(malformed.to_numpy().argmax()) + 2})")
    repeated = predictions["clip_id"].astype(str).duplicated()
    if repeated.any():
        return f"clip {predictions['clip_id'].astype(str)[repeated].iloc[0]} more than once"
    return ""


def clip_outcomes(predictions: pd.DataFrame | None) -> pd.DataFrame | None:
    """``clip_id, label, top1, top5`` of one run, or None if its table lacks the columns."""
    if predictions is None or any(c not in predictions for c in CLIP_COLUMNS):
        return None
    truth = predictions["gloss"].astype(str)
    guesses = predictions["top5"].fillna("").astype(str).str.split("|")
    return pd.DataFrame({
        "clip_id": predictions["clip_id"].astype(str),
        "label": pd.to_numeric(predictions["label"], errors="coerce"),
        "top1": predictions["correct"].astype(str).str.lower().isin(TRUTHS),
        "top5": [t in g for t, g in zip(truth, guesses)],
    }).dropna(subset=["label"])


@dataclass
class Outcomes:
    """Seed-mean correctness per test clip of one configuration."""

    clip_ids: np.ndarray
    labels: np.ndarray
    top1: np.ndarray
    top5: np.ndarray
    runs: int                                   # runs whose predictions are in
    missing: list[str] = field(default_factory=list)   # runs without usable predictions

    def __len__(self) -> int:
        return len(self.clip_ids)

    def aligned(self, clip_ids: np.ndarray, measure: str = "top1") -> np.ndarray:
        """``measure`` per clip in the order of ``clip_ids`` (all of which must be here)."""
        position = pd.Series(np.arange(len(self.clip_ids)), index=self.clip_ids)
        return getattr(self, measure)[position.loc[clip_ids].to_numpy()]


def pool(per_run: dict[str, pd.DataFrame | None]) -> Outcomes | None:
    """The clips every usable run evaluated, with each measure averaged over the runs."""
    usable = {run: frame for run, frame in per_run.items() if frame is not None and len(frame)}
    missing = [run for run in per_run if run not in usable]
    if not usable:
        return None
    frames = [frame.drop_duplicates("clip_id").set_index("clip_id") for frame in usable.values()]
    common = frames[0].index
    for frame in frames[1:]:
        common = common.intersection(frame.index)
    common = common.sort_values()
    if len(common) == 0:
        return None
    stack = {m: np.mean([f.loc[common, m].to_numpy(dtype=np.float64) for f in frames], axis=0)
             for m in ("top1", "top5")}
    return Outcomes(np.asarray(common, dtype=object),
                    frames[0].loc[common, "label"].to_numpy(dtype=np.int64),
                    stack["top1"], stack["top5"], runs=len(frames), missing=missing)


@dataclass
class Uncertainty:
    outcomes: Outcomes | None
    intervals: dict[str, stats.Interval | None]
    unusable: dict[str, str] = field(default_factory=dict)   # run -> why its predictions fail

    @property
    def known(self) -> bool:
        return self.outcomes is not None


def measure(outcomes: Outcomes | None, key: str, seed: int = 0,
            unusable: dict[str, str] | None = None) -> Uncertainty:
    """95 % bootstrap intervals of a configuration's seed-mean test accuracies."""
    if outcomes is None:
        return Uncertainty(None, {m: None for m in MEASURES}, dict(unusable or {}))
    return Uncertainty(outcomes, {
        "top1": stats.bootstrap_mean(outcomes.top1, seed=seed, key=f"{key}|top1"),
        "top5": stats.bootstrap_mean(outcomes.top5, seed=seed, key=f"{key}|top5"),
        "class_acc": stats.bootstrap_class_mean(outcomes.top1, outcomes.labels, seed=seed,
                                                key=f"{key}|class_acc"),
    }, dict(unusable or {}))


def compare(first: Outcomes | None, second: Outcomes | None, key: str,
            seed: int = 0) -> stats.PairedTest | None:
    """Paired test of top-1 on the clips both configurations were evaluated on."""
    if first is None or second is None:
        return None
    shared = np.intersect1d(first.clip_ids.astype(str), second.clip_ids.astype(str))
    if len(shared) == 0:
        return None
    return stats.paired_bootstrap(first.aligned(shared), second.aligned(shared),
                                  seed=seed, key=key)
