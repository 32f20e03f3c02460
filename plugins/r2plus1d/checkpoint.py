"""Starting weights from a local state dict (``--set weights=PATH``); nothing is downloaded.

Every key and shape of the network must match, except the classifier head ``fc.*``: a
checkpoint trained on another label set (e.g. torchvision's Kinetics-400 ``r2plus1d_18``)
keeps its backbone and gets a fresh head for this dataset's classes.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from harness.api import BadConfig

HEAD_PREFIX = "fc."
FIX = ("give an R(2+1)D-18 state dict in torchvision's r2plus1d_18 layout, saved with "
       "torch.save(model.state_dict(), PATH), for the same width")


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    where = f"--set weights={path}"
    if not path.is_file():
        raise BadConfig(f"{where}: no such file; {FIX}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unpickling error means "not a state dict"
        raise BadConfig(f"{where}: cannot read it as a PyTorch state dict ({error}); "
                        f"{FIX}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]   # the usual training-checkpoint wrapper
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise BadConfig(f"{where}: not a state dict (a mapping of names to tensors); {FIX}")
    # DataParallel / DistributedDataParallel checkpoints prefix every key with "module.".
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def load_weights(network: nn.Module, path: Path | str) -> list[str]:
    """Copy a checkpoint into ``network``; returns the keys left as initialised (the head)."""
    path = Path(path)
    state = read_state_dict(path)
    own = network.state_dict()
    where = f"--set weights={path}"
    missing = sorted(k for k in own if k not in state and not k.startswith(HEAD_PREFIX))
    unexpected = sorted(k for k in state if k not in own)
    wrong = sorted(f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in own
                   if k in state and not k.startswith(HEAD_PREFIX)
                   and state[k].shape != own[k].shape)
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:3])})")
    if wrong:
        problems.append(f"{len(wrong)} shape mismatches (e.g. {'; '.join(wrong[:3])})")
    if problems:
        raise BadConfig(f"{where}: does not fit this R(2+1)D: {'; '.join(problems)}; {FIX}")
    head_fits = all(k in state and state[k].shape == own[k].shape
                    for k in own if k.startswith(HEAD_PREFIX))
    kept = {k: v for k, v in state.items() if head_fits or not k.startswith(HEAD_PREFIX)}
    network.load_state_dict({**own, **kept}, strict=True)
    return [] if head_fits else sorted(k for k in own if k.startswith(HEAD_PREFIX))
