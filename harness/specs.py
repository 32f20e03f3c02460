"""What a plugin provides (ModelSpec, DatasetSpec) and what it is given (RunContext).

These are the whole contract between the harness and a plugin; plugins import them from
``harness.api``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np

from harness.data.clips import ClipSet, ClipSetInfo, Unlabelled


@runtime_checkable
class SignModel(Protocol):
    """A trained or trainable model. The harness computes every reported metric itself.

    Optional extras a model may define (the harness checks with ``hasattr``):

    - ``explain(clips: Unlabelled) -> pandas.DataFrame``: one row per clip of extra columns
      saved beside the predictions (e.g. the key frames a stage chose);
    - ``oracle_predict_proba(clips: ClipSet) -> ndarray | None``: a protocol that uses the
      test labels, reproduced for comparison only. Its metrics are logged under
      ``test_oracle_*``, never as the run's accuracy.
    - ``num_parameters() -> int``: if absent the harness counts torch parameters it finds.
    """

    def fit(self, train: ClipSet, val: ClipSet, ctx: "RunContext") -> None: ...

    def predict_proba(self, clips: Unlabelled) -> np.ndarray: ...

    def save(self, path: Path) -> None: ...


@dataclass(frozen=True)
class ModelSpec:
    name: str
    summary: str
    inputs: str                                   # "landmarks" or "video"
    config: type                                  # dataclass with defaults
    build: Callable[[Any, ClipSetInfo], SignModel]
    load: Callable[[Path], SignModel]


@dataclass(frozen=True)
class DatasetRequest:
    """What the user asked for; an adapter turns it into a ClipSet with a split column."""

    data_dir: Path | None = None
    vocab: int | None = None
    split_seed: int = 0
    cache_dir: Path = Path("datasets/cache")
    inputs: str = "landmarks"
    verbose: bool = False
    options: dict = field(default_factory=dict)   # adapter-specific, from --data-option k=v


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    summary: str
    load: Callable[[DatasetRequest], ClipSet]
    default_data_dir: Callable[[], Path | None] = lambda: None
    inputs: tuple[str, ...] = ("landmarks",)
    vocab_sizes: tuple[int, ...] = ()


class ProgressBar(Protocol):
    def advance(self, n: int = 1) -> None: ...
    def set_description(self, text: str) -> None: ...
    def __enter__(self) -> "ProgressBar": ...
    def __exit__(self, *exc) -> None: ...


@dataclass
class RunContext:
    """Everything a model may use from the harness while it trains."""

    seed: int = 0
    device: str = "cpu"
    work_dir: Path = field(default_factory=lambda: Path("."))
    verbose: bool = False
    metric_logger: Callable[[str, float, int | None], None] | None = None
    progress_factory: Callable[[int | None, str], ProgressBar] | None = None

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        if self.metric_logger is not None:
            self.metric_logger(name, float(value), step)

    def progress(self, total: int | None, description: str) -> ProgressBar:
        if self.progress_factory is None:
            from harness.util.progress import silent_bar
            return silent_bar()
        return self.progress_factory(total, description)
