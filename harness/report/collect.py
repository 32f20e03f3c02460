"""MLflow runs -> one tidy row per run -> benchmarks of configurations.

A benchmark is one dataset, vocabulary and split (one split hash): accuracies measured on
different test clips are never compared. Inside a benchmark, runs of the same model, the
same plugin config (``slrbench.config_hash``) and the same plugin version are the seeds of
one configuration, shown as mean ± std. Runs of different plugin versions are never pooled:
changed code is a different result; a run that recorded no version (logged before versions
were) is a version of its own, "not recorded".
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.util.stats import MeanStd
from harness.run.tracking import TAG


@dataclass(frozen=True)
class Metric:
    key: str          # column of the tidy table
    mlflow: str       # MLflow metric name
    label: str        # column heading
    kind: str         # "percent", "count", "seconds" or "ms": how it is printed


TEST_METRICS = (
    Metric("top1", "test_top1", "Top-1", "percent"),
    Metric("top5", "test_top5", "Top-5", "percent"),
    Metric("class_acc", "test_mean_class_accuracy", "Per-class", "percent"),
    Metric("macro_f1", "test_macro_f1", "Macro-F1", "percent"),
)
VAL_METRICS = (
    Metric("val_top1", "val_top1", "Val top-1", "percent"),
    Metric("val_class_acc", "val_mean_class_accuracy", "Val per-class", "percent"),
)
COST_METRICS = (
    Metric("parameters", "parameters", "Params", "count"),
    Metric("train_seconds", "train_seconds", "Train time", "seconds"),
    Metric("latency_ms", "latency_ms_p50", "ms / clip", "ms"),
)
ORACLE_METRICS = (
    Metric("oracle_top1", "test_oracle_top1", "Oracle top-1", "percent"),
)
ALL_METRICS = TEST_METRICS + VAL_METRICS + COST_METRICS + ORACLE_METRICS
# How many config differences name a variant before it is abbreviated to its hash.
MAX_VARIANT_FIELDS = 3
NO_VERSION = ""


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


def _text(series: pd.Series) -> pd.Series:
    """Strings with every kind of missing value as ""."""
    return series.where(series.notna(), "").astype(str).replace({"None": "", "nan": ""})


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
        "split_protocol": _text(_param(runs, "split_protocol", "")),
        "config_hash": _text(_tag(runs, "config_hash")),
        "plugin_version": _text(_tag(runs, "model_version").fillna(
            _param(runs, "plugin.version"))),
        "coverage_test": _text(_param(runs, "coverage.test", "")),
        "inputs": _tag(runs, "inputs").fillna("landmarks").astype(str),
        "n_train": _as_int(_param(runs, "n_train")),
        "n_val": _as_int(_param(runs, "n_val")),
        "n_test": _as_int(_param(runs, "n_test")),
        "git_commit": _text(_param(runs, "git_commit", "")).replace("", "unknown"),
        "git_dirty": _text(_param(runs, "git_dirty", "")),
        "machine": _text(_param(runs, "machine", "")).replace("", "unknown"),
        "device": _text(_param(runs, "device", "")),
        "start_time": pd.to_datetime(runs.get("start_time"), utc=True, errors="coerce"),
    }, index=runs.index)
    for metric in ALL_METRICS:
        column = f"metrics.{metric.mlflow}"
        tidy[metric.key] = (pd.to_numeric(runs[column], errors="coerce") if column in runs
                            else np.nan)
    # the epoch a run kept its weights from (early stopping), where its plugin logs one
    tidy["best_epoch"] = (pd.to_numeric(runs["metrics.best_epoch"], errors="coerce")
                          if "metrics.best_epoch" in runs else np.nan)
    tidy["config"] = _prefixed(runs, "params.config.")
    tidy["versions"] = _prefixed(runs, "params.version.")
    tidy["data_options"] = _prefixed(runs, "params.data_option.")
    tidy["data_dir"] = _text(_param(runs, "data_dir", ""))
    metric_columns = [c for c in runs.columns if c.startswith("metrics.")]
    tidy["metric_names"] = [[c[len("metrics."):] for c in metric_columns
                             if pd.notna(runs.at[i, c])] for i in runs.index]
    # Runs logged before config hashes existed: fall back to the config itself.
    missing = tidy["config_hash"] == ""
    tidy.loc[missing, "config_hash"] = [str(sorted(c.items())) for c in tidy.loc[missing, "config"]]
    tidy["variant"], tidy["variant_detail"] = variant_labels(tidy)
    return tidy.sort_values(["dataset", "vocab", "variant", "seed"]).reset_index(drop=True)


def _prefixed(runs: pd.DataFrame, prefix: str) -> list[dict[str, str]]:
    columns = [c for c in runs.columns if c.startswith(prefix)]
    return [{c[len(prefix):]: str(runs.at[i, c]) for c in columns
             if isinstance(runs.at[i, c], str) and runs.at[i, c] not in ("", "None")}
            for i in runs.index]


def version_label(version: str) -> str:
    return f"v{version}" if version else "version not recorded"


def variant_labels(tidy: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The model name, plus the config fields that tell its variants apart; and, for a
    label abbreviated to its config hash, the fields it stands for (else "").

    Where the plugin is installed and its runs logged its current fields, a variant is
    named by the fields where it departs from the plugin's defaults (``keyframe_mlp
    (stages=3)``; the bare name is the defaults). Otherwise ``keyframe_mlp`` alone while
    only one config of it was run; ``keyframe_mlp (stages=1)`` and ``keyframe_mlp
    (stages=2)`` once both were, and when more than ``MAX_VARIANT_FIELDS`` fields differ
    across the variants, the fields where each departs from the most-run value of each
    field; the most-run config keeps the bare name. A label that would still be
    ambiguous, or list too many fields, carries the config hash, and its detail lists the
    fields so the report can say what the hash means. A model run in more than one plugin
    version names the version too (``spoter (lr=0.01), v2``).
    """
    named: dict[tuple[str, str], tuple[str, str]] = {}
    for model, runs in tidy.groupby("model", sort=False):
        for config_hash, name_detail in _config_names(model, runs).items():
            named[(model, config_hash)] = name_detail
    versions = tidy.groupby("model")["plugin_version"].nunique()
    labels, details = [], []
    for m, h, v in zip(tidy["model"], tidy["config_hash"], tidy["plugin_version"]):
        name, detail = named[(m, h)]
        labels.append(name + (f", {version_label(v)}" if versions[m] > 1 else ""))
        details.append(detail)
    return labels, details


def plugin_defaults(model: str) -> dict[str, str] | None:
    """The registered plugin's default config as its runs log it (``str`` of each field;
    unset ones left out, as :func:`_prefixed` reads them), or None if it is not here."""
    from harness import registry
    from harness.errors import UnknownPlugin
    from harness.util.config import config_to_dict
    try:
        values = config_to_dict(registry.model(model).config())
    except (UnknownPlugin, TypeError):          # not installed, or no defaults to build
        return None
    return {k: str(v) for k, v in values.items() if v is not None and str(v) != ""}


def _config_names(model: str, runs: pd.DataFrame) -> dict[str, tuple[str, str]]:
    counts = runs["config_hash"].value_counts()
    hashes = list(dict.fromkeys(runs["config_hash"]))
    configs = {h: runs.loc[runs["config_hash"] == h, "config"].iloc[0] for h in hashes}
    defaults = plugin_defaults(model)
    if defaults is not None and all(set(c) == set(defaults) for c in configs.values()):
        # the plugin's own defaults are the reference: a bare name means exactly them
        shown = {h: [k for k in sorted(defaults) if configs[h][k] != defaults[k]]
                 for h in hashes}
        reference = f"where it departs from the {model} defaults"

        def fields(h: str, with_defaults: bool = False) -> str:
            return ", ".join(f"{k}={configs[h][k]}" + (f" (default {defaults[k]})"
                                                       if with_defaults else "")
                             for k in shown[h])
    else:
        if len(hashes) == 1:
            return {hashes[0]: (model, "")}
        keys = sorted(set().union(*configs.values()))
        differing = [k for k in keys if len({configs[h].get(k) for h in hashes}) > 1]
        if len(differing) <= MAX_VARIANT_FIELDS:
            shown = {h: differing for h in hashes}
        else:
            usual = {k: _most_run(configs, counts, k) for k in differing}
            shown = {h: [k for k in differing if configs[h].get(k) != usual[k]] for h in hashes}
        reference = f"where it departs from the {model} configuration most runs used"

        def fields(h: str, with_defaults: bool = False) -> str:
            # a run older than an option never logged it: say so rather than guess its value
            return ", ".join(f"{k}={configs[h][k]}" if k in configs[h] else f"{k} not logged"
                             for k in shown[h])

    named, details = {}, {h: "" for h in hashes}
    for h in hashes:
        if len(shown[h]) > MAX_VARIANT_FIELDS:
            named[h] = f"{model} (config {h[:8]})"
            details[h] = f"{fields(h, with_defaults=True)} ({reference})"
        elif shown[h]:
            named[h] = f"{model} ({fields(h)})"
        else:
            named[h] = model
    repeated = {name for name in named.values() if list(named.values()).count(name) > 1}
    for h in hashes:
        if named[h] in repeated:
            name = named[h]
            named[h] = (f"{name[:-1]}; config {h[:8]})" if name.endswith(")")
                        else f"{name} (config {h[:8]})")
    return {h: (named[h], details[h]) for h in hashes}


def _most_run(configs: dict[str, dict], counts: pd.Series, key: str):
    """The value of ``key`` that the most runs used (first seen on ties)."""
    runs_per_value: dict = {}
    for h, config in configs.items():
        value = config.get(key)
        runs_per_value[value] = runs_per_value.get(value, 0) + int(counts[h])
    return max(runs_per_value, key=runs_per_value.get)


@dataclass
class Configuration:
    """One model, plugin config and plugin version on one benchmark: its seeds."""

    variant: str
    model: str
    version: str
    inputs: str
    runs: pd.DataFrame
    stats: dict[str, MeanStd] = field(default_factory=dict)
    repeated: dict[str, int] = field(default_factory=dict)   # earlier run of a seed -> seed

    @property
    def key(self) -> str:
        """Unique inside a benchmark; also seeds this configuration's bootstrap."""
        return f"{self.model}|{self.runs['config_hash'].iloc[0]}|{self.version}"

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def seeds(self) -> list[int]:
        """Seeds of the runs :attr:`scored` holds: those its n counts."""
        return [int(s) for s in self.scored["seed"].dropna()]

    @property
    def run_ids(self) -> list[str]:
        return list(self.runs["run_id"])

    @property
    def scored(self) -> pd.DataFrame:
        """The runs with a test top-1 figure: the ones its mean, its n and its intervals are
        of. A diverged or unfinished run has none, and must not count as a seed."""
        return self.runs[self._has_top1()]

    @property
    def left_out(self) -> list[int]:
        """Seeds of the runs that :attr:`scored` leaves out."""
        return [int(s) for s in self.runs.loc[~self._has_top1(), "seed"].dropna()]

    def _has_top1(self) -> np.ndarray:
        return np.isfinite(self.runs["top1"].to_numpy(dtype=np.float64))


@dataclass
class Benchmark:
    """Every configuration evaluated on one split: the unit of a headline table."""

    split_hash: str
    dataset: str
    vocab: int
    protocol: str
    sizes: tuple[int | None, int | None, int | None]   # train, val, test clips
    coverage: str                                      # "100/258" official test clips, or ""
    configurations: list[Configuration]

    @property
    def short_hash(self) -> str:
        return self.split_hash[:8]

    @property
    def title(self) -> str:
        return f"{self.dataset}, {self.vocab} signs"

    @property
    def anchor(self) -> str:
        return f"bench-{self.split_hash[:12]}"

    @property
    def n_runs(self) -> int:
        return sum(c.n for c in self.configurations)

    def coverage_parts(self) -> tuple[int, int] | None:
        """(test clips present, official test clips) from ``coverage.test``."""
        present, _, official = self.coverage.partition("/")
        if present.strip().isdigit() and official.strip().isdigit() and int(official.strip()):
            return int(present), int(official)
        return None


def _first(runs: pd.DataFrame, column: str):
    values = runs[column].dropna()
    values = values[values.astype(str) != ""]
    return values.iloc[0] if len(values) else None


def latest_per_seed(seeds: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """A configuration's runs with one run per seed, the latest started, and the earlier
    ones left out (run id -> seed). A seed run twice is one seed: counted twice it would
    be n = 2 with a spread of 0.0, an agreement between seeds that no second seed showed."""
    order = seeds.sort_values("start_time", kind="stable", na_position="first")
    earlier = (order["seed"].notna() & order.duplicated("seed", keep="last")).reindex(
        seeds.index)
    return seeds[~earlier], dict(zip(seeds.loc[earlier, "run_id"],
                                     seeds.loc[earlier, "seed"].astype(int)))


def benchmarks(tidy: pd.DataFrame) -> list[Benchmark]:
    found = []
    for split_hash, runs in tidy.groupby("split_hash", sort=False):
        configurations = []
        for (model, _, version), seeds in runs.groupby(
                ["model", "config_hash", "plugin_version"], sort=False):
            seeds, repeated = latest_per_seed(seeds)
            configurations.append(Configuration(
                variant=str(seeds["variant"].iloc[0]), model=str(model), version=str(version),
                inputs=str(seeds["inputs"].iloc[0]), runs=seeds.reset_index(drop=True),
                stats={m.key: MeanStd.of(seeds[m.key]) for m in ALL_METRICS},
                repeated=repeated))
        configurations.sort(key=lambda c: (c.model, c.variant))
        first = runs.iloc[0]
        sizes = tuple(None if _first(runs, c) is None else int(_first(runs, c))
                      for c in ("n_train", "n_val", "n_test"))
        found.append(Benchmark(
            split_hash=str(split_hash), dataset=str(first["dataset"]),
            vocab=int(first["vocab"]) if pd.notna(first["vocab"]) else 0,
            protocol=str(first["split_protocol"]), sizes=sizes,
            coverage=str(_first(runs, "coverage_test") or ""),
            configurations=configurations))
    found.sort(key=lambda b: (b.dataset, b.vocab, -b.n_runs, b.split_hash))
    return found
