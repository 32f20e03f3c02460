"""Crafted MLflow stores for the report's tests: runs logged straight through the MLflow
client, in the layout ``harness.run.runner`` writes (params, tags, metrics, curves,
``predictions.csv``, ``confusion.csv``, ``model/slrbench.json``), with per-clip outcomes
chosen by the test, so that what the report must show is known in advance. Training a
hundred models would take an hour; writing a hundred such runs takes seconds.
"""
from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from harness.run.metrics import confusion_matrix, macro_f1, mean_class_accuracy
from harness.run.tracking import MODEL_ARTIFACT, MODEL_INFO, TAG, client, ensure_experiment

MISS = 5            # rank of the true sign beyond the top five


@dataclass
class Split:
    """The test clips of one benchmark."""

    dataset: str
    vocab: int
    split_hash: str
    clip_ids: list[str]
    labels: np.ndarray
    glosses: list[str]
    protocol: str = "official"
    sizes: tuple[int, int] = (500, 100)        # train, val clips
    coverage: str = ""                          # coverage.test param, e.g. "100/258"

    @classmethod
    def make(cls, dataset: str, vocab: int, clips: int, tag: str = "", **kwargs) -> "Split":
        labels = np.arange(clips) % vocab
        glosses = [f"{dataset}-sign{i}" for i in range(vocab)]
        split_hash = f"{dataset}{vocab}{tag}".ljust(64, "0")[:64]
        return cls(dataset, vocab, split_hash, [f"{dataset}{vocab}-c{i:04d}" for i in range(clips)],
                   labels, glosses, **kwargs)


@dataclass
class Run:
    model: str
    split: Split
    seed: int
    ranks: np.ndarray                # rank of the true sign per test clip: 0 = right
    val_top1: float
    config: dict = field(default_factory=dict)
    version: str | None = "1"
    curves: dict[str, list[float]] = field(default_factory=dict)
    extra: pd.DataFrame | None = None           # plugin explain columns
    parameters: float = 1.0e5
    train_seconds: float = 30.0
    latency_ms: float = 1.5
    inputs: str = "landmarks"
    metrics: dict[str, float] = field(default_factory=dict)   # logged in place of the computed


def exact_bootstrap_p(a_only: int, b_only: int, n: int) -> float:
    """The paired bootstrap p-value computed exactly for 0/1 outcomes on ``n`` clips, ``a``
    alone right on ``a_only`` and ``b`` alone on ``b_only``: P(|S* - D| >= |D|) for S* the
    sum of n draws from the observed differences (-1, 0, +1) and D their observed sum."""
    step = np.array([b_only, n - a_only - b_only, a_only], dtype=float) / n
    distribution = np.array([1.0])
    for _ in range(n):
        distribution = np.convolve(distribution, step)
    sums = np.arange(-n, n + 1)
    observed = a_only - b_only
    return float(distribution[np.abs(sums - observed) >= abs(observed)].sum())


def ranks_for(accuracy: float, clips: int, rng: np.random.Generator,
              top5: float | None = None) -> np.ndarray:
    """Ranks giving ``accuracy`` top-1 (and about ``top5``) on ``clips`` clips."""
    right = rng.permutation(clips) < round(accuracy * clips)
    ranks = np.where(right, 0, MISS)
    wrong = np.flatnonzero(~right)
    near = round(((top5 if top5 is not None else min(1.0, accuracy + 0.15)) - accuracy) * clips)
    ranks[wrong[:max(0, near)]] = rng.integers(1, MISS, size=len(wrong[:max(0, near)]))
    return ranks


def _predictions(run: Run) -> tuple[pd.DataFrame, np.ndarray]:
    split = run.split
    vocab = split.vocab
    predicted = np.where(run.ranks == 0, split.labels, (split.labels + 1) % vocab)
    top5 = []
    for label, first, rank in zip(split.labels, predicted, run.ranks):
        others = [int(first)] + [int((label + k) % vocab) for k in range(2, 2 + vocab)
                                 if (label + k) % vocab not in (label, first)]
        guesses = others[:5]
        if 0 < rank < MISS and vocab > 1:
            guesses = guesses[:rank] + [int(label)] + guesses[rank:4]
        top5.append("|".join(split.glosses[g] for g in guesses[:5]))
    table = pd.DataFrame({
        "clip_id": split.clip_ids, "gloss": [split.glosses[i] for i in split.labels],
        "label": split.labels, "predicted": predicted,
        "predicted_gloss": [split.glosses[i] for i in predicted],
        "probability": 0.5 + 0.4 * (run.ranks == 0), "correct": run.ranks == 0,
        "top5": top5, "n_frames": 40})
    if run.extra is not None:
        table = pd.concat([table, run.extra.reset_index(drop=True)], axis=1)
    return table, predicted


def log_run(mlflow_client, uri: str, run: Run) -> str:
    split = run.split
    experiment = ensure_experiment(mlflow_client, f"{split.dataset}-{split.vocab}", uri)
    config_hash = hashlib.sha256(json.dumps([run.model, run.config], sort_keys=True)
                                 .encode()).hexdigest()[:16]
    tags = {TAG + "model": run.model, TAG + "dataset": split.dataset,
            TAG + "vocab": str(split.vocab), TAG + "seed": str(run.seed),
            TAG + "split_hash": split.split_hash, TAG + "inputs": run.inputs,
            TAG + "config_hash": config_hash}
    if run.version is not None:
        tags[TAG + "model_version"] = run.version
    created = mlflow_client.create_run(experiment, run_name=f"{run.model}-s{run.seed}", tags=tags)
    run_id = created.info.run_id
    table, predicted = _predictions(run)
    params = {"model": run.model, "dataset": split.dataset, "vocab_size": split.vocab,
              "seed": run.seed, "split_seed": 0, "split_hash": split.split_hash,
              "split_protocol": split.protocol, "n_train": split.sizes[0],
              "n_val": split.sizes[1], "n_test": len(split.clip_ids), "git_commit": "abc123def456",
              "machine": "x86_64 Linux, 2 cpus", "device": "cpu",
              "version.torch": "2.13.0", "version.numpy": "1.26.4",
              **{f"config.{k}": v for k, v in run.config.items()}}
    if run.version is not None:
        params["plugin.version"] = run.version
    if split.coverage:
        params["coverage.test"] = split.coverage
    labels = split.labels
    metrics = {
        "test_top1": float((run.ranks == 0).mean()), "test_top5": float((run.ranks < MISS).mean()),
        "test_mean_class_accuracy": mean_class_accuracy(labels, predicted, split.vocab),
        "test_macro_f1": macro_f1(labels, predicted, split.vocab),
        "val_top1": run.val_top1, "val_top5": min(1.0, run.val_top1 + 0.1),
        "val_mean_class_accuracy": run.val_top1, "val_macro_f1": run.val_top1,
        "parameters": run.parameters, "train_seconds": run.train_seconds,
        "latency_ms_p50": run.latency_ms, "latency_ms_p95": 1.5 * run.latency_ms,
        "peak_memory_mb": 300.0, "test_batch_ms_per_clip": run.latency_ms / 4,
        **run.metrics}
    from mlflow.entities import Metric, Param
    entries = [Metric(k, float(v), 0, 0) for k, v in metrics.items()]
    for name, values in run.curves.items():
        entries += [Metric(name, float(v), 0, step) for step, v in enumerate(values, start=1)]
    items = [Param(k, str(v)) for k, v in params.items()]
    for start in range(0, max(len(items), len(entries)), 100):
        mlflow_client.log_batch(run_id, metrics=entries[start:start + 100],
                                params=items[start:start + 100])
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        table.to_csv(folder / "predictions.csv", index=False)
        np.savetxt(folder / "confusion.csv", confusion_matrix(labels, predicted, split.vocab),
                   fmt="%d", delimiter=",")
        (folder / MODEL_ARTIFACT).mkdir()
        (folder / MODEL_ARTIFACT / MODEL_INFO).write_text(json.dumps(
            {"model": run.model, "vocab": split.glosses}), encoding="utf-8")
        mlflow_client.log_artifacts(run_id, str(folder))
    mlflow_client.set_terminated(run_id, "FINISHED")
    return run_id


def write_store(folder: Path, runs: list[Run]) -> tuple[str, list[str]]:
    uri = f"sqlite:///{folder}/mlruns.db"
    mlflow_client, resolved = client(uri, writes=True)
    return resolved, [log_run(mlflow_client, resolved, run) for run in runs]


def learning_curve(epochs: int, rng: np.random.Generator, final: float = 0.8
                   ) -> dict[str, list[float]]:
    steps = np.arange(1, epochs + 1)
    return {"train_loss": list(2.5 * np.exp(-steps / 8) + rng.random(epochs) * 0.05 + 0.1),
            "val_loss": list(2.6 * np.exp(-steps / 10) + rng.random(epochs) * 0.08 + 0.3),
            "epoch_val_top1": list(final * (1 - np.exp(-steps / 6)) + rng.random(epochs) * 0.02)}


def real_split(dataset: str, vocab: int) -> tuple[Split, np.ndarray]:
    """The test clips of a registered dataset (so the key-frame gallery can reload them),
    and their frame counts."""
    from harness.run.loading import load_clipset, make_request
    clips, manifest = load_clipset(dataset, make_request(vocab=vocab))
    test = clips.split("test")
    split = Split(dataset, len(clips.vocab), manifest.sha256, [str(c) for c in test.clip_ids],
                  np.asarray(test.labels), [str(g) for g in clips.vocab],
                  protocol=manifest.protocol,
                  sizes=(len(clips.split("train")), len(clips.split("val"))))
    return split, test.meta["n_frames"].to_numpy()


def stage_columns(frames: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """What keyframe_mlp's ``explain`` adds to predictions.csv: each stage's frame."""
    return pd.DataFrame({"stage1_frame": rng.integers(0, frames), "stage1_prob": 0.4,
                         "stage2_frame": rng.integers(0, frames), "stage2_prob": 0.7,
                         "chosen_stage": 2})


def hundred_runs(seed: int = 0) -> list[Run]:
    """A store the size of a real study: 4 benchmarks (WLASL-100/300 on partial copies,
    MS-ASL-100, and a synthetic set the gallery can reload), 5 model families, 8
    configurations and 3 seeds each per benchmark, plus 4 runs of an older plugin version
    that logged none; every trained model with 40 epochs of curves."""
    rng = np.random.default_rng(seed)
    synthetic, frames = real_split("synthetic", 20)
    splits = [Split.make("wlasl", 100, 100, coverage="100/258"),
              Split.make("wlasl", 300, 317, coverage="317/988"),
              Split.make("msasl", 100, 200), synthetic]
    families = [("spoter", {"lr": 0.001}, 0.62), ("spoter", {"lr": 0.003}, 0.60),
                ("spoter", {"lr": 0.01}, 0.55), ("lstm", {"hidden": 128}, 0.50),
                ("lstm", {"hidden": 256}, 0.52), ("keyframe_mlp", {}, 0.48),
                ("pooled_logreg", {}, 0.30), ("r2plus1d", {}, 0.40)]
    runs = []
    for split in splits:
        harder = split.vocab / 1000
        for model, config, accuracy in families:
            for run_seed in range(3):
                top1 = float(np.clip(accuracy - harder + rng.normal(0, 0.02), 0.02, 0.98))
                extra = (stage_columns(frames, rng) if model == "keyframe_mlp"
                         and split is synthetic else None)
                runs.append(Run(
                    model, split, run_seed, ranks_for(top1, len(split.clip_ids), rng),
                    val_top1=top1 + rng.normal(0, 0.01), config=config, extra=extra,
                    curves={} if model == "pooled_logreg" else learning_curve(40, rng, top1),
                    parameters={"r2plus1d": 3.1e7, "pooled_logreg": 2.2e4}.get(model, 4.0e5),
                    train_seconds=float(rng.uniform(20, 900)),
                    latency_ms=float(rng.uniform(0.5, 30)),
                    inputs="video" if model == "r2plus1d" else "landmarks"))
        runs.append(Run("lstm", split, 0, ranks_for(0.45 - harder, len(split.clip_ids), rng),
                        val_top1=0.45, config={"hidden": 128}, version=None,
                        curves=learning_curve(40, rng, 0.45)))
    return runs
