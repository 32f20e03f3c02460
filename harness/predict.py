"""Recognising signs in new files with a trained model from an MLflow run."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from harness.clips import ArrayLandmarks, ClipSet
from harness.landmark_files import read_landmark_file
from harness.tracking import LoadedModel, load_model

LANDMARK_SUFFIXES = (".parquet", ".npy")


def clipset_from_arrays(arrays: list[np.ndarray], vocab, fps: float = 30.0) -> ClipSet:
    meta = pd.DataFrame({"clip_id": [f"input{i}" for i in range(len(arrays))], "gloss": "",
                         "label": -1, "split": "test", "signer": "", "fps": fps,
                         "n_frames": [len(a) for a in arrays], "source": ""})
    return ClipSet(name="input", meta=meta, vocab=tuple(vocab),
                   landmarks=ArrayLandmarks(arrays))


def rank(loaded: LoadedModel, arrays: list[np.ndarray], top: int) -> list[list[tuple[str, float]]]:
    clips = clipset_from_arrays(arrays, loaded.vocab)
    proba = loaded.model.predict_proba(clips.unlabelled())
    ranked = []
    for row in proba:
        order = np.argsort(-row)[:top]
        ranked.append([(loaded.vocab[i], float(row[i])) for i in order])
    return ranked


def read_inputs(paths: Iterable[Path]) -> list[tuple[Path, np.ndarray]]:
    return [(Path(p), read_landmark_file(p)) for p in paths]


def predict_files(run_id: str, paths: Iterable[Path], tracking_uri: str | None = None,
                  top: int = 5) -> Iterator[tuple[Path, list[tuple[str, float]]]]:
    loaded = load_model(run_id, tracking_uri)
    inputs = read_inputs(paths)
    ranked = rank(loaded, [array for _, array in inputs], top)
    yield from zip((path for path, _ in inputs), ranked)
