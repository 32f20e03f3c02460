"""MLflow runs -> one tidy row per run -> groups of runs that may share a table.

A table only ever holds runs of one split (same split hash): accuracies measured on
different test clips are not comparable. Inside a split, runs of the same model and the
same plugin config (``slrbench.config_hash``) are seeds of one entry, shown as mean ± std.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.run.tracking import TAG


@dataclass(frozen=True)
class Metric:
    key: str          # column of the tidy table
    mlflow: str       # MLflow metric name
    label: str        # column heading
    kind: str         # "percent", "count", "seconds" or "ms": how it is printed


# The summary table's columns, in order; every other module reads them from here.
SUMMARY_METRICS = (
    Metric("top1", "test_top1", "Top-1", "percent"),
    Metric("top5", "test_top5", "Top-5", "percent"),
    Metric("class_acc", "test_mean_class_accuracy", "Per-class acc.", "percent"),
    Metric("macro_f1", "test_macro_f1", "Macro-F1", "percent"),
    Metric("parameters", "parameters", "Params", "count"),
    Metric("train_seconds", "train_seconds", "Train time", "seconds"),
    Metric("latency_ms", "latency_ms_p50", "ms / clip", "ms"),
)
EXTRA_METRICS = (
    Metric("latency_p95", "latency_ms_p95", "ms / clip (p95)", "ms"),
    Metric("oracle_top1", "test_oracle_top1", "Oracle top-1", "percent"),
    Metric("oracle_top5", "test_oracle_top5", "Oracle top-5", "percent"),
)
ALL_METRICS = SUMMARY_METRICS + EXTRA_METRICS
# How many config differences name a variant before it is abbreviated to its hash.
MAX_VARIANT_FIELDS = 3


def _param(runs: pd.DataFrame, name: str, default=None) -> pd.Series:
    column = f"params.{name}"
    if column in runs:
        return runs[column]
    return pd.Series([default] * len(runs), index=runs.index, dtype=object)


def _tag(runs: pd.DataFrame, name: str) -> pd.Series:
    column = f"tags.{TAG}{name}"
    if column in runs:
        return runs[column]
    return pd.Series([None] * len(runs), index=runs.index, dtype=object)


def _as_int(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype("Int64")


def tidy_runs(runs: pd.DataFrame, experiments: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per run with short column names, metrics as floats, configs as dicts."""
    if runs.empty:
        return pd.DataFrame()
    tidy = pd.DataFrame({
        "run_id": runs["run_id"].astype(str),
        "experiment": runs["experiment_id"].map(experiments or {}).fillna(runs["experiment_id"]),
        "model": _tag(runs, "model").fillna(_param(runs, "model")).astype(str),
        "dataset": _param(runs, "dataset").astype(str),
        "vocab": _as_int(_param(runs, "vocab_size")),
        "seed": _as_int(_param(runs, "seed")),
        "split_seed": _as_int(_param(runs, "split_seed", 0)),
        "split_hash": _param(runs, "split_hash").fillna(_tag(runs, "split_hash")).astype(str),
        "split_protocol": _param(runs, "split_protocol", "").fillna("").astype(str),
        "config_hash": _tag(runs, "config_hash").fillna("").astype(str),
        "inputs": _tag(runs, "inputs").fillna("landmarks").astype(str),
        "n_train": _as_int(_param(runs, "n_train")),
        "n_val": _as_int(_param(runs, "n_val")),
        "n_test": _as_int(_param(runs, "n_test")),
        "git_commit": _param(runs, "git_commit", "").fillna("unknown").astype(str),
        "machine": _param(runs, "machine", "").fillna("unknown").astype(str),
        "device": _param(runs, "device", "").fillna("").astype(str),
        "start_time": pd.to_datetime(runs.get("start_time"), utc=True, errors="coerce"),
    }, index=runs.index)
    for metric in ALL_METRICS:
        column = f"metrics.{metric.mlflow}"
        tidy[metric.key] = (pd.to_numeric(runs[column], errors="coerce") if column in runs
                            else np.nan)
    config_columns = [c for c in runs.columns if c.startswith("params.config.")]
    version_columns = [c for c in runs.columns if c.startswith("params.version.")]
    tidy["config"] = [_row_dict(runs.loc[i], config_columns, "params.config.")
                      for i in runs.index]
    tidy["versions"] = [_row_dict(runs.loc[i], version_columns, "params.version.")
                        for i in runs.index]
    option_columns = [c for c in runs.columns if c.startswith("params.data_option.")]
    tidy["data_options"] = [_row_dict(runs.loc[i], option_columns, "params.data_option.")
                            for i in runs.index]
    tidy["data_dir"] = _param(runs, "data_dir", "").fillna("").astype(str)
    metric_columns = [c for c in runs.columns if c.startswith("metrics.")]
    tidy["metric_names"] = [[c[len("metrics."):] for c in metric_columns
                             if pd.notna(runs.at[i, c])] for i in runs.index]
    # Runs logged before config hashes existed: fall back to the config itself.
    missing = tidy["config_hash"].isin(["", "None", "nan"])
    tidy.loc[missing, "config_hash"] = [str(sorted(c.items())) for c in tidy.loc[missing, "config"]]
    tidy["variant"] = variant_labels(tidy)
    return tidy.sort_values(["dataset", "vocab", "variant", "seed"]).reset_index(drop=True)


def _row_dict(row: pd.Series, columns: list[str], prefix: str) -> dict[str, str]:
    return {c[len(prefix):]: str(row[c]) for c in columns
            if isinstance(row[c], str) and row[c] not in ("", "None")}


def variant_labels(tidy: pd.DataFrame) -> list[str]:
    """The model name, plus the config fields that tell its variants apart.

    ``keyframe_mlp`` alone while only one config of it was run; ``keyframe_mlp
    (stages=1)`` and ``keyframe_mlp (stages=2)`` once both were. When more than
    ``MAX_VARIANT_FIELDS`` fields differ across the variants, each variant is named by the
    fields where it departs from the most-run value of each field (``keyframe_mlp
    (stages=3)``); the most-run config keeps the bare name. A label that would still be
    ambiguous, or list too many fields, carries the config hash.
    """
    labels: dict[tuple[str, str], str] = {}
    for model, runs in tidy.groupby("model", sort=False):
        counts = runs["config_hash"].value_counts()
        hashes = list(dict.fromkeys(runs["config_hash"]))
        if len(hashes) == 1:
            labels[(model, hashes[0])] = model
            continue
        configs = {h: runs.loc[runs["config_hash"] == h, "config"].iloc[0] for h in hashes}
        keys = sorted(set().union(*configs.values()))
        differing = [k for k in keys if len({configs[h].get(k) for h in hashes}) > 1]
        if len(differing) <= MAX_VARIANT_FIELDS:
            shown = {h: differing for h in hashes}
        else:
            usual = {k: _most_run(configs, counts, k) for k in differing}
            shown = {h: [k for k in differing if configs[h].get(k) != usual[k]] for h in hashes}
        named = {}
        for h in hashes:
            fields = shown[h]
            if len(fields) > MAX_VARIANT_FIELDS:
                named[h] = f"{model} (config {h[:8]})"
            elif fields:
                detail = ", ".join(f"{k}={configs[h].get(k, '-')}" for k in fields)
                named[h] = f"{model} ({detail})"
            else:
                named[h] = model
        repeated = {name for name in named.values() if list(named.values()).count(name) > 1}
        for h in hashes:
            name = named[h]
            if name in repeated:
                name = f"{name[:-1]}; config {h[:8]})" if name.endswith(")") \
                    else f"{name} (config {h[:8]})"
            labels[(model, h)] = name
    return [labels[(m, h)] for m, h in zip(tidy["model"], tidy["config_hash"])]


def _most_run(configs: dict[str, dict], counts: pd.Series, key: str):
    """The value of ``key`` that the most runs used (first seen on ties)."""
    runs_per_value: dict = {}
    for h, config in configs.items():
        value = config.get(key)
        runs_per_value[value] = runs_per_value.get(value, 0) + int(counts[h])
    return max(runs_per_value, key=runs_per_value.get)


@dataclass
class Stat:
    """Mean ± sample std over seeds (std is NaN for a single run)."""

    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values) -> "Stat":
        values = np.asarray([v for v in values if v is not None and not _isnan(v)], float)
        if len(values) == 0:
            return cls(math.nan, math.nan, 0)
        std = float(values.std(ddof=1)) if len(values) > 1 else math.nan
        return cls(float(values.mean()), std, len(values))

    @property
    def known(self) -> bool:
        return self.n > 0


def _isnan(value) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


@dataclass
class Entry:
    """One model variant on one split: its runs (seeds) and their statistics."""

    variant: str
    model: str
    inputs: str
    runs: pd.DataFrame
    stats: dict[str, Stat] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def seeds(self) -> list[int]:
        return [int(s) for s in self.runs["seed"].dropna()]

    @property
    def run_ids(self) -> list[str]:
        return list(self.runs["run_id"])


@dataclass
class SplitGroup:
    """Every entry evaluated on one split: the unit of a summary table."""

    split_hash: str
    dataset: str
    vocab: int
    protocol: str
    sizes: tuple[int | None, int | None, int | None]   # train, val, test clips
    entries: list[Entry]

    @property
    def short_hash(self) -> str:
        return self.split_hash[:12]

    @property
    def title(self) -> str:
        return f"{self.dataset}, {self.vocab} signs"

    @property
    def anchor(self) -> str:
        return f"split-{self.short_hash}"

    def best(self, key: str = "top1") -> Entry | None:
        known = [e for e in self.entries if e.stats[key].known]
        return max(known, key=lambda e: e.stats[key].mean) if known else None


def _size(runs: pd.DataFrame, column: str) -> int | None:
    values = runs[column].dropna()
    return int(values.iloc[0]) if len(values) else None


def split_groups(tidy: pd.DataFrame) -> list[SplitGroup]:
    groups = []
    for split_hash, runs in tidy.groupby("split_hash", sort=False):
        entries = []
        for (variant, model), seeds in runs.groupby(["variant", "model"], sort=True):
            stats = {m.key: Stat.of(seeds[m.key]) for m in ALL_METRICS}
            entries.append(Entry(variant=variant, model=model,
                                 inputs=seeds["inputs"].iloc[0], runs=seeds, stats=stats))
        entries.sort(key=lambda e: (-_or(e.stats["top1"].mean), e.variant))
        first = runs.iloc[0]
        groups.append(SplitGroup(
            split_hash=str(split_hash), dataset=str(first["dataset"]),
            vocab=int(first["vocab"]) if pd.notna(first["vocab"]) else 0,
            protocol=str(first["split_protocol"]),
            sizes=(_size(runs, "n_train"), _size(runs, "n_val"), _size(runs, "n_test")),
            entries=entries))
    groups.sort(key=lambda g: (g.dataset, g.vocab, g.split_hash))
    return groups


def _or(value: float, default: float = -1.0) -> float:
    return default if _isnan(value) else value
