"""A trained key-frame MLP as plain files: JSON, .npz arrays and torch state dicts.

Layout of a model directory::

    model.json        format, version, classes, vocabulary, trained stages, config
    standardise.npz   feature mean and std (loaded with allow_pickle=False)
    mlp1.pt ...       one torch state dict per stage (loaded with weights_only=True)

Nothing is pickled, so loading a model directory cannot run code.
"""
from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import numpy as np
import torch

from harness.api import (BadSavedModel, atomic_path, config_to_dict, read_model_meta,
                         write_model_meta)

from plugins.keyframe_mlp.config import KeyframeMLPConfig

FORMAT = "slrbench-keyframe_mlp"
VERSION = 1
MANIFEST = "model.json"
STATS = "standardise.npz"


class BadModelDir(BadSavedModel):
    """A saved key-frame MLP directory that is missing files or does not match."""


def save_model(path: Path, config: KeyframeMLPConfig, vocab: tuple[str, ...],
               mean: np.ndarray, std: np.ndarray, states: list[dict]) -> None:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for stage, state in enumerate(states, start=1):
        with atomic_path(path / f"mlp{stage}.pt") as tmp:
            torch.save(state, tmp)
    with atomic_path(path / STATS) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, mean=mean, std=std)
    manifest = {"format": FORMAT, "version": VERSION, "num_classes": len(vocab),
                "vocab": list(vocab), "stages": len(states), "config": config_to_dict(config)}
    # model.json goes last: its presence marks a complete directory.
    write_model_meta(path, manifest, MANIFEST)


def _config_from_json(values: dict, where: Path) -> KeyframeMLPConfig:
    hints = typing.get_type_hints(KeyframeMLPConfig)
    names = {f.name for f in dataclasses.fields(KeyframeMLPConfig)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise BadModelDir(f"{where}: options {unknown} are unknown to this keyframe_mlp; "
                          "the model was saved by another version, retrain it")
    kwargs = {}
    for name, value in values.items():
        if typing.get_origin(hints[name]) is tuple:
            value = tuple(value)
        kwargs[name] = value
    return KeyframeMLPConfig(**kwargs)


def load_model(path: Path) -> tuple[KeyframeMLPConfig, tuple[str, ...], np.ndarray, np.ndarray,
                                    list[dict]]:
    path = Path(path)
    manifest = read_model_meta(path, "keyframe_mlp", FORMAT, needs=(STATS,), name=MANIFEST,
                               version=VERSION, error=BadModelDir)
    config = _config_from_json(manifest["config"], path / MANIFEST)
    missing = [f"mlp{k}.pt" for k in range(1, manifest["stages"] + 1)
               if not (path / f"mlp{k}.pt").exists()]
    if missing:
        raise BadModelDir(f"{path}: missing {missing}; the directory is incomplete, save "
                          "the model again")
    with np.load(path / STATS, allow_pickle=False) as stats:
        mean, std = stats["mean"], stats["std"]
    states = [torch.load(path / f"mlp{k}.pt", map_location="cpu", weights_only=True)
              for k in range(1, manifest["stages"] + 1)]
    return config, tuple(manifest["vocab"]), mean, std, states
