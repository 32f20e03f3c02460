"""A trained key-frame MLP as plain files: JSON, .npz arrays and torch state dicts.

Layout of a model directory::

    model.json        format, version, number of classes, trained stages
    standardise.npz   feature mean and std (loaded with allow_pickle=False)
    mlp1.pt ...       one torch state dict per stage (loaded with weights_only=True)

Nothing is pickled, so loading a model directory cannot run code. The config and the
vocabulary are the harness's to keep (``model/slrbench.json``); they come back to
:func:`load_model` from there.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from harness.api import BadSavedModel, atomic_path, read_model_meta, write_model_meta

FORMAT = "slrbench-keyframe_mlp"
VERSION = 1
MANIFEST = "model.json"
STATS = "standardise.npz"


class BadModelDir(BadSavedModel):
    """A saved key-frame MLP directory that is missing files or does not match."""


def save_model(path: Path, num_classes: int, mean: np.ndarray, std: np.ndarray,
               states: list[dict]) -> None:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for stage, state in enumerate(states, start=1):
        with atomic_path(path / f"mlp{stage}.pt") as tmp:
            torch.save(state, tmp)
    with atomic_path(path / STATS) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, mean=mean, std=std)
    manifest = {"format": FORMAT, "version": VERSION, "num_classes": int(num_classes),
                "stages": len(states)}
    # model.json goes last: its presence marks a complete directory.
    write_model_meta(path, manifest, MANIFEST)


def load_model(path: Path, num_classes: int) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """The standardisation statistics and one state dict per stage."""
    path = Path(path)
    manifest = read_model_meta(path, "keyframe_mlp", FORMAT, needs=(STATS,), name=MANIFEST,
                               version=VERSION, error=BadModelDir)
    if manifest.get("num_classes") != num_classes:
        raise BadModelDir(f"{path / MANIFEST}: saved for {manifest.get('num_classes')} classes, "
                          f"but the run's vocabulary has {num_classes}; save the model again")
    missing = [f"mlp{k}.pt" for k in range(1, manifest["stages"] + 1)
               if not (path / f"mlp{k}.pt").exists()]
    if missing:
        raise BadModelDir(f"{path}: missing {missing}; the directory is incomplete, save "
                          "the model again")
    with np.load(path / STATS, allow_pickle=False) as stats:
        mean, std = stats["mean"], stats["std"]
    states = [torch.load(path / f"mlp{k}.pt", map_location="cpu", weights_only=True)
              for k in range(1, manifest["stages"] + 1)]
    return mean, std, states
