"""What a run read, recorded in MLflow: the dataset as an MLflow dataset input, its landmark
digest and the MediaPipe version that extracted it.

The dataset input's name is ``<clip set>-<vocabulary size>``; its digest hashes the landmark
digest, the vocabulary and the split hash, so MLflow shows a re-extraction, another
vocabulary or another split as a different dataset. The profile carries the parts.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np

from harness.data.clips import N_LANDMARKS, ClipSet
from harness.data.digest import clipset_digest, extraction_version
from harness.data.store import LandmarkStore


def dataset_input(clips: ClipSet, split_hash: str, source):
    """The MLflow dataset (metadata only: the landmarks stay where they are) and its parts."""
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.types.schema import Schema, TensorSpec

    landmarks = clipset_digest(clips)
    mediapipe = extraction_version(clips)
    vocab = list(clips.vocab)
    identity = json.dumps({"landmarks": landmarks, "vocab": vocab, "split": split_hash})
    splits = clips.meta["split"].astype(str).value_counts()
    profile = {"landmark_digest": landmarks, "split_hash": split_hash,
               "vocab_size": len(vocab), "vocab": vocab, "clips": len(clips),
               **{f"{name}_clips": int(splits.get(name, 0)) for name in ("train", "val", "test")},
               "mediapipe_version": mediapipe, "lacks": list(clips.lacks)}

    class LandmarkDataset(MetaDataset):
        @property
        def profile(self):
            return profile

        def to_dict(self):
            return {**super().to_dict(), "profile": json.dumps(profile, ensure_ascii=False)}

    dataset = LandmarkDataset(
        source=source,
        name=f"{clips.name}-{len(vocab)}",
        digest=hashlib.sha256(identity.encode()).hexdigest()[:16],
        schema=Schema([TensorSpec(np.dtype(np.float32), (-1, N_LANDMARKS, 3), "landmarks")]))
    return dataset, profile


def data_source(clips: ClipSet, data_dir: Path | None):
    """Where the landmarks are read from: the store, else the data folder, else the adapter."""
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    folder = (clips.landmarks.path if isinstance(clips.landmarks, LandmarkStore) else data_dir)
    if folder is None:
        return CodeDatasetSource({"slrbench.dataset": clips.name})
    with warnings.catch_warnings():
        # mlflow registers the local-file source twice and warns that it picks one of them
        warnings.simplefilter("ignore")
        return resolve_dataset_source(Path(folder).resolve().as_uri())


def log_dataset_input(mlflow_client, run_id: str, dataset_input, tries: int = 3) -> None:
    """``log_inputs`` for one dataset, safe when runs log the same dataset at once.

    MLflow's SQL store looks the dataset up and inserts it if it is missing, in two steps:
    of two runs that log a new dataset together (a sweep's seeds on one dataset) the later
    insert breaks the unique key and the whole call fails. Tried again, the lookup finds the
    dataset the other run stored, so the run is only linked to it."""
    for attempt in range(tries):
        try:
            mlflow_client.log_inputs(run_id, datasets=[dataset_input])
            return
        except Exception as error:  # noqa: BLE001 - sqlite, postgres and REST word it apart
            text = str(error).lower()
            lost_race = "unique" in text or "duplicate key" in text or "integrity" in text
            if not lost_race or attempt == tries - 1:
                raise


def log_lineage(tracked, clips: ClipSet, split_hash: str, data_dir: Path | None) -> dict:
    """Log the run's dataset input and the ``data.*`` params; returns them."""
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT
    dataset, profile = dataset_input(clips, split_hash, data_source(clips, data_dir))
    log_dataset_input(tracked.client, tracked.run_id, DatasetInput(
        dataset._to_mlflow_entity(), tags=[InputTag(MLFLOW_DATASET_CONTEXT, "train/val/test")]))
    params = {"data.landmark_digest": profile["landmark_digest"],
              "data.mediapipe_version": profile["mediapipe_version"],
              "data.dataset_digest": dataset.digest}
    tracked.log_params(params)
    return params


RUN_FILE = "run.toml"


def run_file_text(config, plugin_config: dict, experiment: str, device: str, run_id: str,
                  uri: str) -> str:
    """The run's resolved options as a run file: the plugin's whole config (defaults too,
    so a later change of a default cannot change a repeat), the seeds, the data, the device."""
    from harness.run.run_file import dump
    values = {"model": config.model, "dataset": config.dataset, "vocab": config.vocab,
              "seed": config.seed, "split-seed": config.split_seed,
              "data-dir": str(Path(config.data_dir).resolve()) if config.data_dir else None,
              "experiment": experiment, "device": device, "threads": config.threads,
              "system-metrics": bool(getattr(config, "system_metrics", False)),
              "set": dict(plugin_config)}
    if config.data_options:
        values["data-option"] = dict(config.data_options)
    return dump(values, comments=(
        f"slrbench run {run_id}: `slrbench run --config {RUN_FILE}` repeats it",
        f"(logged to {uri}; add --tracking-uri to send the repeat elsewhere)"))


def log_run_file(tracked, config, plugin_config: dict, experiment: str, device: str,
                 work_dir: Path) -> Path:
    path = Path(work_dir) / RUN_FILE
    path.write_text(run_file_text(config, plugin_config, experiment, device, tracked.run_id,
                                  tracked.uri), encoding="utf-8")
    tracked.log_artifact(path)
    return path
