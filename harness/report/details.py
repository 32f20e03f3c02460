"""What sits collapsed under a benchmark's headline: learning curves of every configuration
(its seeds overlaid), the confusions of the models' chosen configurations, the key-frame
gallery, and honest vs oracle accuracy. Each appears once, under its own benchmark."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.report import confusions, figures, keyframes
from harness.report.artifacts import RunArtifacts
from harness.report.collect import Configuration
from harness.report.encode import Image
from harness.report.headline import Headline, Row


@dataclass(frozen=True)
class DetailLimits:
    gallery_clips: int = 6           # test clips drawn per key-frame configuration
    confusion_classes: int = 24      # larger vocabularies show this many most-confused signs
    confused_pairs: int = 8


@dataclass
class CurveView:
    variant: str
    runs: int
    image: Image


@dataclass
class ConfusionView:
    variant: str
    n_runs: int
    pairs: list[confusions.ConfusedPair]
    image: Image
    shown: int
    total: int


@dataclass
class Details:
    curves: list[CurveView] = field(default_factory=list)
    without_curves: list[str] = field(default_factory=list)
    confusions: list[ConfusionView] = field(default_factory=list)
    without_confusion: list[str] = field(default_factory=list)
    galleries: list[keyframes.Gallery] = field(default_factory=list)
    oracle: list[keyframes.OracleRow] = field(default_factory=list)


def curves(artifacts: RunArtifacts, configuration: Configuration) -> CurveView | None:
    per_run = [artifacts.histories(run["run_id"], run["metric_names"])
               for _, run in configuration.runs.iterrows()]
    per_run = [c for c in per_run if c]
    if not per_run:
        return None
    return CurveView(configuration.variant, len(per_run), figures.learning_curves(per_run))


def confusion(artifacts: RunArtifacts, configuration: Configuration,
              limits: DetailLimits) -> ConfusionView | None:
    # the runs the tables count: a diverged seed's confusions would be summed in unseen
    scored = list(configuration.scored["run_id"])
    matrices = [m for m in (artifacts.confusion(r) for r in scored) if m is not None]
    matrix = confusions.pooled(matrices)
    if matrix is None:
        return None
    vocab = artifacts.vocab(scored[0])
    if vocab is None or len(vocab) != len(matrix):
        vocab = [f"class {i}" for i in range(len(matrix))]
    focus = confusions.focus_classes(matrix, limits.confusion_classes)
    heading = (configuration.variant if len(focus) == len(matrix) else
               f"{configuration.variant}: {len(focus)} most confused signs")
    image = figures.confusion_heatmap(matrix[np.ix_(focus, focus)], [vocab[i] for i in focus],
                                      heading, matrix.sum(axis=1)[focus])
    return ConfusionView(configuration.variant, len(matrices),
                         confusions.top_pairs(matrix, vocab, limits.confused_pairs),
                         image, len(focus), len(matrix))


def gallery(artifacts: RunArtifacts, row: Row, loader: keyframes.ClipLoader,
            limits: DetailLimits) -> keyframes.Gallery | None:
    configuration = row.configuration
    run = configuration.runs.sort_values("seed").iloc[0]
    # a damaged table is no table here too (the verdict the intervals were computed by):
    # the gallery would draw from part of the clips
    if row.uncertainty.unusable.get(run["run_id"]):
        return None
    predictions = artifacts.predictions(run["run_id"])
    if not keyframes.is_keyframe_run(predictions):
        return None
    return keyframes.gallery(configuration.variant, run, predictions, loader,
                             limits.gallery_clips)


def details(headline: Headline, artifacts: RunArtifacts, loader: keyframes.ClipLoader,
            limits: DetailLimits = DetailLimits()) -> Details:
    found = Details()
    benchmark = headline.benchmark
    for configuration in benchmark.configurations:
        view = curves(artifacts, configuration)
        if view is None:
            found.without_curves.append(configuration.variant)
        else:
            found.curves.append(view)
    for row in headline.rows:
        configuration = row.configuration
        view = confusion(artifacts, configuration, limits)
        if view is None:
            found.without_confusion.append(configuration.variant)
        else:
            found.confusions.append(view)
        drawn = gallery(artifacts, row, loader, limits)
        if drawn is not None:
            found.galleries.append(drawn)
    found.oracle = keyframes.oracle_rows(benchmark.configurations)
    return found
