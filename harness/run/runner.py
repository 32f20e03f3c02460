"""One experiment end to end: data -> split -> fit -> predict -> metrics -> MLflow.

Used by ``slrbench run`` and by sweeps. Everything that must be identical across models
happens here; the plugin only fits and predicts.
"""
from __future__ import annotations

import json
import math
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from harness import registry
from harness.data.clips import ClipSet
from harness.util.config import config_from_dict, config_to_dict, field_names
from harness.run.loading import load_clipset, make_request, require_inputs
from harness.errors import BadConfig, BadPlugin, SlrbenchError
from harness.run.out_of_memory import OutOfMemoryAsOneLine
from harness.run.metrics import confusion_matrix, evaluate, percentiles_ms
from harness.util.progress import bar
from harness.run.resources import PeakMemory, Stopwatch, check_threads, use_threads
from harness.specs import CountsParameters, DeclaresInputs, Explains, OracleSelects, RunContext
from harness.run.tracking import (DATA_OPTION, MODEL_ARTIFACT, MODEL_INFO, TAG, TrackedRun,
                                  check_store, experiment_name, git_state, machine,
                                  package_versions)
from harness.run.lineage import log_lineage, log_run_file
from harness.run.mlflow_model import add_mlflow_model


# The run's own figures. A plugin's curves reach MLflow under the names it logs; logging one
# of these would overwrite a harness figure, so it is refused (see reserve_check).
HARNESS_METRICS = frozenset(
    [f"{split}_{name}" for split in ("val", "test", "test_oracle")
     for name in ("top1", "top5", "mean_class_accuracy", "macro_f1")]
    + ["train_seconds", "peak_memory_mb", "parameters", "test_batch_ms_per_clip",
       "latency_ms_p50", "latency_ms_p95"])


@dataclass
class RunConfig:
    model: str
    dataset: str
    vocab: int | None = None
    seed: int = 0
    split_seed: int = 0
    epochs: int | None = None
    overrides: dict[str, str] = field(default_factory=dict)
    data_dir: Path | None = None
    data_options: dict[str, str] = field(default_factory=dict)
    tracking_uri: str | None = None
    experiment: str | None = None
    device: str = "auto"
    latency_clips: int = 50
    verbose: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    threads: int | None = None
    system_metrics: bool = False     # also MLflow's system/* metrics (psutil)


@dataclass
class RunResult:
    run_id: str
    experiment: str
    split_hash: str
    metrics: dict[str, float]
    config: dict[str, Any]
    oracle_used: bool = False


def model_config(spec, overrides: dict[str, str], epochs: int | None):
    values = dict(overrides)
    if epochs is not None:
        if "epochs" not in field_names(spec.config):
            raise BadConfig(f"model {spec.name!r} does not train by epochs; drop --epochs")
        values["epochs"] = str(epochs)
    return config_from_dict(spec.config, values, owner=spec.name)


def required_inputs(spec, config) -> str:
    """What the model needs from the dataset: its spec's inputs, unless its config says
    otherwise (e.g. a video model fed skeleton renderings of landmarks)."""
    return config.required_inputs() if isinstance(config, DeclaresInputs) else spec.inputs


def checked_curve_name(model: str, name: str) -> str:
    """The one renaming rule for plugin metrics: there is none. A name the harness reserves
    for its own figures is an error naming the plugin and the fix."""
    if name in HARNESS_METRICS:
        raise BadPlugin(f"model {model!r} logged a metric named {name!r}, which the harness "
                        "reserves for its own figures; log per-epoch curves under another "
                        f"name, e.g. 'epoch_{name}'")
    return name


SEED_MAX = 2**32 - 1     # numpy's seeding takes 0 .. 2**32 - 1 (random and torch take more)


def check_seed(seed: int, option: str = "--seed") -> None:
    if not 0 <= int(seed) <= SEED_MAX:
        raise BadConfig(f"{option} {seed}: a seed must be between 0 and {SEED_MAX}")


def check_device(device: str, available_here: bool = True) -> None:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N``; with ``available_here``, a CUDA device this
    machine has (a run must never train on the CPU while it records cuda)."""
    if device in ("auto", "cpu"):
        return
    kind, colon, number = device.partition(":")
    if kind != "cuda" or (colon and not number.isdigit()):
        raise BadConfig(f"--device {device!r}: use cpu, cuda (or cuda:N) or auto")
    if not available_here:
        return
    import torch
    if not torch.cuda.is_available():
        raise BadConfig(f"--device {device}: CUDA is not available on this machine (torch "
                        f"{torch.__version__}); use --device cpu, or auto to take a GPU "
                        "only where there is one")
    if number and int(number) >= torch.cuda.device_count():
        raise BadConfig(f"--device {device}: this machine has {torch.cuda.device_count()} "
                        f"CUDA device(s), cuda:0 to cuda:{torch.cuda.device_count() - 1}")


def check_options(config: RunConfig) -> None:
    """The run's own options, checked before any data is read or any run is recorded."""
    check_seed(config.seed, "--seed")
    check_seed(config.split_seed, "--split-seed")
    check_threads(config.threads)
    if config.epochs is not None and config.epochs < 1:
        raise BadConfig(f"--epochs {config.epochs}: must be at least 1")
    if config.experiment is not None and not config.experiment.strip():
        raise BadConfig(f"--experiment {config.experiment!r}: give a name (or leave it out "
                        "for <dataset>-<signs>)")
    check_device(config.device)


def resolve_device(device: str) -> str:
    check_device(device)
    if device != "auto":
        return device
    import torch
    return "cuda" if torch.cuda.is_available() else "cpu"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    import torch
    torch.manual_seed(seed)


def count_parameters(model) -> float:
    """The model's declared parameter count; NaN when it declares none."""
    return float(model.num_parameters()) if isinstance(model, CountsParameters) else math.nan


def check_proba(proba: np.ndarray, clips: ClipSet, model_name: str) -> np.ndarray:
    proba = np.asarray(proba, dtype=np.float64)
    expected = (len(clips), clips.num_classes)
    if proba.shape != expected:
        raise SlrbenchError(f"model {model_name!r} returned probabilities of shape "
                            f"{proba.shape}, expected {expected} (clips x classes)")
    if not np.isfinite(proba).all():
        raise SlrbenchError(f"model {model_name!r} returned NaN or inf probabilities: did "
                            "its training diverge? (try a lower learning rate)")
    return proba


def measure_latency(model, clips: ClipSet, limit: int) -> list[float]:
    """Seconds to predict one clip at a time, for up to ``limit`` test clips."""
    if limit <= 0 or len(clips) == 0:
        return []
    unlabelled = clips.unlabelled()
    model.predict_proba(unlabelled.subset([0]))  # warm-up: lazy inits, caches, JIT
    seconds = []
    for i in range(min(limit, len(clips))):
        start = time.perf_counter()
        model.predict_proba(unlabelled.subset([i]))
        seconds.append(time.perf_counter() - start)
    return seconds


def predictions_table(clips: ClipSet, proba: np.ndarray, extra: pd.DataFrame | None) -> pd.DataFrame:
    vocab = np.asarray(clips.vocab, dtype=object)
    top5 = np.argsort(-proba, axis=1)[:, :5]
    predicted = proba.argmax(axis=1)
    table = pd.DataFrame({
        "clip_id": clips.clip_ids,
        "gloss": clips.meta["gloss"].to_numpy(),
        "label": clips.labels,
        "predicted": predicted,
        "predicted_gloss": vocab[predicted],
        "probability": proba[np.arange(len(proba)), predicted],
        "correct": predicted == clips.labels,
        "top5": ["|".join(vocab[row]) for row in top5],
        "n_frames": clips.meta["n_frames"].to_numpy(),
    })
    if extra is not None and len(extra) == len(table):
        extra = extra.drop(columns=[c for c in extra.columns if c in table.columns])
        table = pd.concat([table, extra.reset_index(drop=True)], axis=1)
    return table


def plot_confusion(matrix: np.ndarray, vocab, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    n = len(vocab)
    size = min(12, 3 + 0.35 * n)
    fig, axis = plt.subplots(figsize=(size, size))
    axis.imshow(matrix, cmap="Blues", interpolation="nearest")
    if n <= 40:
        axis.set_xticks(range(n), vocab, rotation=90, fontsize=7)
        axis.set_yticks(range(n), vocab, fontsize=7)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_experiment(config: RunConfig, on_event: Callable[[str], None] | None = None) -> RunResult:
    say = on_event or (lambda message: None)
    check_options(config)
    # a store that cannot take the run fails before the data is read
    check_store(config.tracking_uri, writes=True)
    spec = registry.model(config.model)
    registry.dataset(config.dataset)  # unknown names fail before any data is read
    plugin_config = model_config(spec, config.overrides, config.epochs)
    inputs = required_inputs(spec, plugin_config)
    request = make_request(config.data_dir, config.vocab, config.split_seed, inputs,
                           config.verbose, config.data_options)
    clips, manifest = load_clipset(config.dataset, request)
    require_inputs(clips, inputs, config.dataset, f"model {spec.name!r}")
    train, val, test = clips.split("train"), clips.split("val"), clips.split("test")
    vocab_size = len(clips.vocab)
    experiment = config.experiment or experiment_name(config.dataset, vocab_size)
    say(f"{config.dataset}: {vocab_size} signs, train {len(train)} / val {len(val)} / test "
        f"{len(test)} clips; split {manifest.sha256[:12]} ({manifest.protocol})")
    if clips.notes.get("summary"):
        say(str(clips.notes["summary"]))
    warnings = list(clips.notes.get("warnings", ()))
    for warning in warnings:
        say(f"WARNING: {warning}")

    seed_everything(config.seed)
    use_threads(config.threads)
    device = resolve_device(config.device)
    origin = registry.model_origin(spec.name)
    tags = {TAG + "model": spec.name, TAG + "dataset": config.dataset,
            TAG + "vocab": str(vocab_size), TAG + "seed": str(config.seed),
            TAG + "split_hash": manifest.sha256, TAG + "inputs": inputs,
            TAG + "config_hash": config_fingerprint(spec.name, config_to_dict(plugin_config)),
            TAG + "model_version": registry.code_version(spec.name),
            **({TAG + "warnings": " | ".join(warnings)[:5000]} if warnings else {}),
            **config.tags}
    run_name = f"{spec.name}-{config.dataset}-{vocab_size}-s{config.seed}"
    with TrackedRun(config.tracking_uri, experiment, run_name, tags,
                    system_metrics=config.system_metrics) as tracked, \
            tempfile.TemporaryDirectory(prefix="slrbench-run-") as work, \
            OutOfMemoryAsOneLine(spec.name, device, config.overrides):
        work_dir = Path(work)
        commit, dirty_files = git_state()
        tracked.log_params({
            "model": spec.name, "dataset": config.dataset, "vocab_size": vocab_size,
            "seed": config.seed, "split_seed": config.split_seed, "threads": config.threads or "",
            "split_hash": manifest.sha256, "split_protocol": manifest.protocol,
            "n_train": len(train), "n_val": len(val), "n_test": len(test),
            "git_commit": commit, "git_dirty": dirty_files, "machine": machine(),
            "device": device,
            "plugin.version": spec.version, "plugin.name": origin.plugin,
            "plugin.distribution": origin.package,
            "data_dir": str(Path(config.data_dir).resolve()) if config.data_dir else "",
            **{f"{DATA_OPTION}{k}": v for k, v in config.data_options.items()},
            **clips.notes.get("params", {}),  # what the adapter found, e.g. coverage.*
            **{f"config.{k}": v for k, v in config_to_dict(plugin_config).items()},
            **{f"version.{k}": v for k, v in package_versions().items()},
        })
        manifest.write(work_dir / "split_manifest.json")
        tracked.log_artifact(work_dir / "split_manifest.json")
        log_lineage(tracked, clips, manifest.sha256, config.data_dir)
        log_run_file(tracked, config, config_to_dict(plugin_config), experiment, device, work_dir)

        model = spec.build(plugin_config, clips.info)
        def log_curve(name: str, value: float, step: int | None) -> None:
            tracked.log_metric(checked_curve_name(spec.name, name), value, step)

        context = RunContext(seed=config.seed, device=device, work_dir=work_dir,
                             verbose=config.verbose, metric_logger=log_curve,
                             param_logger=tracked.log_params,
                             progress_factory=lambda total, text: bar(total, text))
        say(f"training {spec.name} (seed {config.seed}, {device}) ...")
        with PeakMemory() as memory, Stopwatch() as train_clock:
            model.fit(train, val, context)

        metrics: dict[str, float] = {"train_seconds": train_clock.seconds,
                                     "peak_memory_mb": memory.peak / 2**20,
                                     "parameters": count_parameters(model)}
        with bar(2, "evaluating") as progress:
            val_proba = check_proba(model.predict_proba(val.unlabelled()), val, spec.name)
            progress.advance()
            with Stopwatch() as test_clock:
                test_proba = check_proba(model.predict_proba(test.unlabelled()), test, spec.name)
            progress.advance()
        metrics.update({f"val_{k}": v for k, v in evaluate(val_proba, val.labels).items()})
        metrics.update({f"test_{k}": v for k, v in evaluate(test_proba, test.labels).items()})
        metrics["test_batch_ms_per_clip"] = 1000 * test_clock.seconds / max(1, len(test))
        latency = percentiles_ms(measure_latency(model, test, config.latency_clips))
        metrics["latency_ms_p50"], metrics["latency_ms_p95"] = latency["p50"], latency["p95"]

        oracle_used = False
        if isinstance(model, OracleSelects):
            oracle_proba = model.oracle_predict_proba(test)
            if oracle_proba is not None:
                oracle_used = True
                say("WARNING: oracle evaluation uses the TEST LABELS to choose frames; it is "
                    "logged as test_oracle_* only and is not this run's accuracy")
                oracle_proba = check_proba(oracle_proba, test, spec.name)
                metrics.update({f"test_oracle_{k}": v
                                for k, v in evaluate(oracle_proba, test.labels).items()})
                tracked.set_tags({TAG + "oracle": "uses test labels"})

        extra = model.explain(test.unlabelled()) if isinstance(model, Explains) else None
        table = predictions_table(test, test_proba, extra)
        table.to_csv(work_dir / "predictions.csv", index=False)
        tracked.log_artifact(work_dir / "predictions.csv")
        matrix = confusion_matrix(test.labels, test_proba.argmax(axis=1), vocab_size)
        np.savetxt(work_dir / "confusion.csv", matrix, fmt="%d", delimiter=",")
        tracked.log_artifact(work_dir / "confusion.csv")
        plot_confusion(matrix, clips.vocab, work_dir / "confusion.png",
                       f"{spec.name} on {config.dataset}-{vocab_size} (test)")
        tracked.log_artifact(work_dir / "confusion.png")

        model_dir = work_dir / MODEL_ARTIFACT
        (model_dir / "weights").mkdir(parents=True)
        model.save(model_dir / "weights")
        info = {"model": spec.name, "dataset": config.dataset, "vocab": list(clips.vocab),
                "config": config_to_dict(plugin_config), "inputs": inputs,
                "split_hash": manifest.sha256, "seed": config.seed,
                "model_version": registry.code_version(spec.name),
                "clip_set": clips.name, "lacks": list(clips.lacks),
                "has_landmarks": clips.has_landmarks, "has_videos": clips.has_videos}
        (model_dir / MODEL_INFO).write_text(json.dumps(info, ensure_ascii=False, indent=1,
                                                       default=str), encoding="utf-8")
        add_mlflow_model(model_dir, info, tracked.run_id)  # the same folder, as an MLflow model
        tracked.log_artifacts(model_dir, MODEL_ARTIFACT)
        tracked.log_metrics(metrics)
        (work_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
        tracked.log_artifact(work_dir / "metrics.json")
        run_id = tracked.run_id

    return RunResult(run_id=run_id, experiment=experiment, split_hash=manifest.sha256,
                     metrics=metrics, config=config_to_dict(plugin_config),
                     oracle_used=oracle_used)


def config_fingerprint(model: str, plugin_config: dict) -> str:
    import hashlib
    text = json.dumps({"model": model, "config": plugin_config}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]

