"""A trained key-frame MLP as plain files: JSON, .npz arrays and torch state dicts.

Layout of a model directory::

    model.json        format, version, classes, vocabulary, trained stages, config
    standardise.npz   feature mean and std (loaded with allow_pickle=False)
    mlp1.pt ...       one torch state dict per stage (loaded with weights_only=True)

Nothing is pickled, so loading a model directory cannot run code.
"""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import typing
from pathlib import Path

import numpy as np
import torch

from harness.api import SlrbenchError, config_to_dict

from plugins.keyframe_mlp.config import KeyframeMLPConfig

FORMAT = "slrbench-keyframe_mlp"
VERSION = 1


class BadModelDir(SlrbenchError):
    """A saved key-frame MLP directory that is missing files or does not match."""


def _write_atomic(target: Path, write) -> None:
    """Write through a temporary file beside ``target`` renamed onto it."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_model(path: Path, config: KeyframeMLPConfig, vocab: tuple[str, ...],
               mean: np.ndarray, std: np.ndarray, states: list[dict]) -> None:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for stage, state in enumerate(states, start=1):
        _write_atomic(path / f"mlp{stage}.pt", lambda tmp, s=state: torch.save(s, tmp))

    def write_stats(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, mean=mean, std=std)
    _write_atomic(path / "standardise.npz", write_stats)
    manifest = {"format": FORMAT, "version": VERSION, "num_classes": len(vocab),
                "vocab": list(vocab), "stages": len(states), "config": config_to_dict(config)}
    text = json.dumps(manifest, indent=1, ensure_ascii=False)
    # model.json goes last: its presence marks a complete directory.
    _write_atomic(path / "model.json", lambda tmp: tmp.write_text(text, encoding="utf-8"))


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
    manifest_file = path / "model.json"
    if not manifest_file.exists():
        raise BadModelDir(f"{path}: no model.json here; not a saved keyframe_mlp model "
                          "(point at the run's model/ artifact directory)")
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise BadModelDir(f"{manifest_file}: not valid JSON ({error}); save the model "
                          "again") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise BadModelDir(f"{manifest_file}: not a {FORMAT} v{VERSION} model directory")
    config = _config_from_json(manifest["config"], manifest_file)
    missing = [f"mlp{k}.pt" for k in range(1, manifest["stages"] + 1)
               if not (path / f"mlp{k}.pt").exists()]
    if missing or not (path / "standardise.npz").exists():
        raise BadModelDir(f"{path}: missing {missing or ['standardise.npz']}; the directory "
                          "is incomplete, save the model again")
    with np.load(path / "standardise.npz", allow_pickle=False) as stats:
        mean, std = stats["mean"], stats["std"]
    states = [torch.load(path / f"mlp{k}.pt", map_location="cpu", weights_only=True)
              for k in range(1, manifest["stages"] + 1)]
    return config, tuple(manifest["vocab"]), mean, std, states
