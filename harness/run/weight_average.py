"""A moving average of a network's weights over the latest part of training.

The averaged weights sit in a flatter part of the loss surface than the last step's, which
matters most where the test data differ from the training data (another signer) and a
validation split of the training signers cannot show it. The window is a fraction of the
steps taken so far, so that one setting means the same on 140 clips and on 14,000 and at
any epoch budget: after ``n`` steps the average is exponential with a decay of
``1 - 1 / (window x n)``, i.e. it spans about the latest ``window x n`` steps (the early
steps, where that is under one, simply copy the weights). Floating-point parameters and
buffers are averaged (a BatchNorm's running statistics included); integer buffers copied.
"""
from __future__ import annotations

import copy
from contextlib import contextmanager
from typing import Iterator

from harness.errors import BadConfig


class WeightAverage:
    """``update()`` after every optimiser step; ``with average.applied():`` evaluates with
    the averaged weights (the trained ones are put back after); ``state()`` is a snapshot
    for :meth:`EarlyStopping.step` and ``load_into()`` ends training on the average."""

    def __init__(self, module, window: float):
        if not 0.0 < window <= 1.0:
            raise BadConfig(f"weight average window {window}: use a fraction of the steps "
                            "in (0, 1], e.g. 0.1")
        self.module = module
        self.window = window
        self.updates = 0
        self.average = {name: value.detach().clone()
                        for name, value in module.state_dict().items()}

    def decay(self) -> float:
        """The weight the average keeps at the next update."""
        return max(0.0, 1.0 - 1.0 / (self.window * (self.updates + 1)))

    def update(self) -> None:
        import torch
        decay = self.decay()
        self.updates += 1
        with torch.no_grad():
            for name, value in self.module.state_dict().items():
                kept = self.average[name]
                if kept.is_floating_point():
                    kept.mul_(decay).add_(value.detach().to(kept.dtype), alpha=1.0 - decay)
                else:
                    kept.copy_(value)

    def state(self) -> dict:
        return copy.deepcopy(self.average)

    def load_into(self, module=None) -> None:
        (module or self.module).load_state_dict(self.average)

    @contextmanager
    def applied(self) -> Iterator[None]:
        trained = copy.deepcopy(self.module.state_dict())
        self.module.load_state_dict(self.average)
        try:
            yield
        finally:
            self.module.load_state_dict(trained)
