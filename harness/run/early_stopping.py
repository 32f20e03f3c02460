"""The one early-stopping rule every plugin trains by.

A plugin states its rule as a :class:`StoppingRule` (monitor, mode, patience, min_delta,
restore_best; defaults in one place) and calls :meth:`EarlyStopping.step` once per epoch.
An epoch improves when its value beats the best so far by more than ``min_delta``
(``value < best - min_delta`` for ``mode="min"``, ``value > best + min_delta`` for
``"max"``); training stops after ``patience`` epochs in a row without an improvement. The
rule's fields are logged with the run (``early_stopping.*``), so two runs that stopped by
different rules never look alike. Learning-rate plateaus are torch's own
``ReduceLROnPlateau`` (:func:`keras_plateau` builds one that behaves like Keras').
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable, Literal

from harness.errors import BadConfig


@dataclass(frozen=True)
class StoppingRule:
    monitor: str = "val_loss"                 # the name of the monitored curve
    mode: Literal["min", "max"] = "min"
    patience: int = 10                        # epochs without improvement before stopping
    min_delta: float = 0.0                    # an improvement must exceed this
    restore_best: bool = True                 # end with the best epoch's weights

    def __post_init__(self) -> None:
        if self.mode not in ("min", "max"):
            raise BadConfig(f"early stopping mode {self.mode!r}: use 'min' or 'max'")
        if self.patience < 1:
            raise BadConfig(f"early stopping patience {self.patience}: must be at least 1")
        if self.min_delta < 0:
            raise BadConfig(f"early stopping min_delta {self.min_delta}: must be >= 0")

    def params(self, prefix: str = "early_stopping") -> dict[str, str]:
        return {f"{prefix}.{name}": str(value) for name, value in
                (("monitor", self.monitor), ("mode", self.mode), ("patience", self.patience),
                 ("min_delta", self.min_delta), ("restore_best", self.restore_best))}


class EarlyStopping:
    """Tracks one training run against a :class:`StoppingRule`.

    ``step(epoch, value, snapshot)`` returns True while training should go on;
    ``snapshot`` (called only on an improving epoch) returns the state to restore, e.g.
    a copy of the network's ``state_dict``. Epochs are counted from 1.
    """

    def __init__(self, rule: StoppingRule = StoppingRule()):
        self.rule = rule
        self.best = math.inf if rule.mode == "min" else -math.inf
        self.best_epoch = 0
        self.best_state: Any = None
        self.epochs_run = 0
        self.waited = 0
        self.stopped = False

    def improves(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.rule.mode == "min":
            return value < self.best - self.rule.min_delta
        return value > self.best + self.rule.min_delta

    def step(self, epoch: int, value: float, snapshot: Callable[[], Any] | None = None) -> bool:
        self.epochs_run = epoch
        if self.improves(float(value)):
            self.best, self.best_epoch, self.waited = float(value), epoch, 0
            if snapshot is not None and self.rule.restore_best:
                self.best_state = snapshot()
            return True
        self.waited += 1
        self.stopped = self.waited >= self.rule.patience
        return not self.stopped


def state_snapshot(module) -> Callable[[], dict]:
    """A snapshot function for :meth:`EarlyStopping.step`: a deep copy of a torch
    module's ``state_dict`` (parameters and buffers), taken when it is called."""
    return lambda: copy.deepcopy(module.state_dict())


def keras_plateau(optimizer, patience: int, factor: float, min_delta: float = 1e-4):
    """torch's ``ReduceLROnPlateau`` set up as Keras' (absolute ``min_delta``, no
    cooldown): the rate is multiplied by ``factor`` after ``patience`` epochs without an
    improvement. torch reduces once the bad epochs *exceed* its patience, Keras once they
    *reach* it, hence ``patience - 1``."""
    import torch
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=factor, patience=max(0, patience - 1),
        threshold=min_delta, threshold_mode="abs", cooldown=0)
