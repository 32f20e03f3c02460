"""What a plugin provides (ModelSpec, DatasetSpec) and what it is given (RunContext).

These are the whole contract between the harness and a plugin; plugins import them from
``harness.api``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from harness.data.clips import ClipSet, ClipSetInfo, Unlabelled


@runtime_checkable
class SignModel(Protocol):
    """A trained or trainable model. The harness computes every reported metric itself.

    What a model may do beyond these three methods it declares by implementing one of the
    capability protocols below; the harness checks them with ``isinstance``.
    """

    def fit(self, train: ClipSet, val: ClipSet, ctx: "RunContext") -> None: ...

    def predict_proba(self, clips: Unlabelled) -> np.ndarray: ...

    def save(self, path: Path) -> None: ...


# --- optional capabilities -----------------------------------------------------------------
@runtime_checkable
class Explains(Protocol):
    """Per-clip columns saved beside the predictions (e.g. the frames a stage chose)."""

    def explain(self, clips: Unlabelled) -> pd.DataFrame: ...


@runtime_checkable
class OracleSelects(Protocol):
    """A protocol that uses the test labels, reproduced for comparison only.

    Its metrics are logged under ``test_oracle_*``, never as the run's accuracy; return
    None when the model's config does not ask for it.
    """

    def oracle_predict_proba(self, clips: ClipSet) -> np.ndarray | None: ...


@runtime_checkable
class CountsParameters(Protocol):
    """The model's number of trainable parameters (logged as ``parameters``)."""

    def num_parameters(self) -> int: ...


@runtime_checkable
class Exports(Protocol):
    """A deployment format (``slrbench export --format F``): writes ``path``, returns it."""

    export_formats: tuple[str, ...]

    def export(self, path: Path, fmt: str) -> Path: ...


@runtime_checkable
class DeclaresInputs(Protocol):
    """A model config whose options change what the model reads from a dataset (e.g. a
    video model fed skeleton renderings of landmarks): ``"landmarks"`` or ``"video"``."""

    def required_inputs(self) -> str: ...


@dataclass(frozen=True)
class ModelSpec:
    """One model a plugin provides.

    ``build(config, info)`` makes an untrained model; ``load(path, config, info)`` rebuilds
    a saved one from the directory its ``save`` wrote, given back the config object and the
    dataset info (vocabulary) the harness saved beside it. ``version`` is the plugin's
    own: raise it whenever a change alters results (features, training, defaults), so runs of
    old and new code are never pooled or skipped as already done.
    """

    name: str
    summary: str
    inputs: str                                   # "landmarks" or "video"
    config: type                                  # dataclass with defaults
    build: Callable[[Any, ClipSetInfo], SignModel]
    load: Callable[[Path, Any, ClipSetInfo], SignModel]
    version: str = "1"


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
class ExtractionRequest:
    """What ``slrbench data extract`` was given besides the folder of videos."""

    index_file: Path | None = None      # --index: a CSV listing the clips
    annotations: Path | None = None     # --annotations: the dataset's split / class files


@dataclass(frozen=True)
class ExtractionPlan:
    """Which clips to extract from a folder of videos, and how to label them.

    ``index`` has one row per clip: ``file`` (relative to the videos folder, or absolute)
    and ``gloss``, optionally ``clip_id``, ``signer``, ``split`` and ``start_frame`` /
    ``end_frame`` (1-based, inclusive; ``end_frame`` -1: to the last frame); the harness
    checks it as it checks an ``index.csv`` (:mod:`harness.data.index`). ``vocab`` is the
    official class order (None: the sorted glosses), ``dataset`` the name written into the
    store, ``note`` a line shown to the user (e.g. how many listed clips are absent).
    """

    index: pd.DataFrame
    vocab: list[str] | None
    dataset: str
    note: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    summary: str
    load: Callable[[DatasetRequest], ClipSet]
    default_data_dir: Callable[[], Path | None] = lambda: None
    inputs: tuple[str, ...] = ("landmarks",)
    vocab_sizes: tuple[int, ...] = ()
    # how `slrbench data extract --dataset NAME --videos DIR` finds the clips in DIR
    plan_extraction: Callable[[Path, ExtractionRequest], ExtractionPlan] | None = None
    # the dataclass of its `--data-option key=value` settings; None: it takes none, and
    # the harness refuses any (an option nobody reads would be logged as if it applied)
    options: type | None = None


class ProgressBar(Protocol):
    def advance(self, n: int = 1) -> None: ...
    def set_description(self, text: str) -> None: ...
    def __enter__(self) -> "ProgressBar": ...
    def __exit__(self, *exc) -> None: ...


@dataclass
class RunContext:
    """Everything a model may use from the harness while it trains.

    ``log_metric`` records a curve point under exactly the given name (names the harness
    reserves for its own figures, such as ``val_top1``, are refused); epochs count from 1.
    ``log_params`` records settings that are not config fields, e.g. a
    :class:`~harness.run.early_stopping.StoppingRule`'s ``params()``.
    """

    seed: int = 0
    device: str = "cpu"
    work_dir: Path = field(default_factory=lambda: Path("."))
    verbose: bool = False
    metric_logger: Callable[[str, float, int | None], None] | None = None
    param_logger: Callable[[dict[str, str]], None] | None = None
    progress_factory: Callable[[int | None, str], ProgressBar] | None = None

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        if self.metric_logger is not None:
            self.metric_logger(name, float(value), step)

    def log_params(self, params: dict[str, Any]) -> None:
        if self.param_logger is not None:
            self.param_logger({str(k): str(v) for k, v in params.items()})

    def progress(self, total: int | None, description: str) -> ProgressBar:
        if self.progress_factory is None:
            from harness.util.progress import silent_bar
            return silent_bar()
        return self.progress_factory(total, description)
