"""``pooled_logreg``: the linear probe every comparison is measured against.

Per clip: mean, std, min and max over frames of the shoulder-normalised pose and hand
coordinates, plus the fraction of frames each part was detected in; then a standardised
multinomial logistic regression. If a model cannot beat this on the same split, it has not
learned anything a linear read-out of pooled coordinates could not.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.api import (N_LANDMARKS, PARTS, BadConfig, BadSavedModel, ClipSet, ClipSetInfo,
                         ModelSpec, RunContext, Unlabelled, atomic_path, hookimpl,
                         read_model_meta, shoulder_normalise, write_model_meta)

FORMAT = "slrbench-pooled_logreg/1"
META_FILE = "config.json"
WEIGHTS_FILE = "pooled_logreg.npz"
ORIGINS = ("midpoint", "left_shoulder")      # what shoulder_normalise takes


@dataclass(frozen=True)
class PooledLogRegConfig:
    C: float = 1.0                      # inverse L2 strength of the logistic regression
    max_iter: int = 2000
    origin: str = "midpoint"            # shoulder normalisation origin
    parts: tuple[str, ...] = ("pose", "left_hand", "right_hand")

    def __post_init__(self) -> None:
        def bad(message: str) -> None:
            raise BadConfig(f"pooled_logreg: {message}")

        # C = inf is allowed: no regularisation, which scikit-learn accepts.
        if not (isinstance(self.C, numbers.Real) and self.C > 0):      # NaN fails > 0
            bad(f"C={self.C}; it must be a number > 0 (inverse regularisation strength)")
        if not (isinstance(self.max_iter, numbers.Integral) and self.max_iter >= 1):
            bad(f"max_iter={self.max_iter}; it must be at least 1")
        if self.origin not in ORIGINS:
            bad(f"origin={self.origin!r}; it must be one of {', '.join(ORIGINS)}")
        parts = self.parts
        if not isinstance(parts, (tuple, list)) or not parts:
            shown = repr(",".join(parts) if isinstance(parts, (tuple, list)) else parts)
            bad(f"parts={shown}; give one or more of {', '.join(PARTS)}, comma-separated")
        unknown = [p for p in parts if p not in PARTS]
        if unknown:
            what = "is not a part" if len(unknown) == 1 else "are not parts"
            bad(f"parts={','.join(map(str, parts))}: {', '.join(map(repr, unknown))} {what}; "
                f"use {', '.join(PARTS)}")
        if len(set(parts)) != len(parts):
            bad(f"parts={','.join(parts)} names a part twice")


def pooled_features(clip: np.ndarray, config: PooledLogRegConfig) -> np.ndarray:
    normalised = shoulder_normalise(clip, config.origin)
    blocks = []
    for part in config.parts:
        points = normalised[:, PARTS[part]].reshape(len(clip), -1)
        present = np.isfinite(points).all(axis=1)
        if present.any():
            seen = points[present]
            stats = [seen.mean(0), seen.std(0), seen.min(0), seen.max(0)]
        else:
            stats = [np.zeros(points.shape[1], np.float32)] * 4
        blocks.extend(stats)
        blocks.append(np.array([present.mean()], dtype=np.float32))
    return np.nan_to_num(np.concatenate(blocks)).astype(np.float32)


def feature_width(config: PooledLogRegConfig) -> int:
    """Four statistics of every coordinate of each part, and the share of frames it is seen."""
    return sum(4 * 3 * len(range(N_LANDMARKS)[PARTS[part]]) + 1 for part in config.parts)


def feature_matrix(clips, config: PooledLogRegConfig) -> np.ndarray:
    return np.stack([pooled_features(clips.clip(i), config) for i in range(len(clips))])


class PooledLogReg:
    def __init__(self, config: PooledLogRegConfig, num_classes: int):
        self.config = config
        self.num_classes = num_classes
        self.mean = self.scale = self.coef = self.intercept = None

    def fit(self, train: ClipSet, val: ClipSet, ctx: RunContext) -> None:
        from sklearn.linear_model import LogisticRegression
        with ctx.progress(len(train), "pooling features") as progress:
            rows = []
            for i in range(len(train)):
                rows.append(pooled_features(train.clip(i), self.config))
                progress.advance()
        features = np.stack(rows)
        self.mean = features.mean(0)
        self.scale = features.std(0) + 1e-6
        classifier = LogisticRegression(C=self.config.C, max_iter=self.config.max_iter,
                                        random_state=ctx.seed)
        from threadpoolctl import threadpool_limits
        # lbfgs on a few thousand rows gains nothing from BLAS threads, which spin on
        # shared cores (30 s -> 6 s of CPU on signo, same result).
        with threadpool_limits(1):
            classifier.fit((features - self.mean) / self.scale, train.labels)
        # Expand to the full vocabulary: classes absent from train get -inf logits.
        coef = classifier.coef_
        intercept = classifier.intercept_
        if len(classifier.classes_) == 2:  # sklearn stores one row for binary problems
            coef = np.vstack([-coef, coef]) / 2
            intercept = np.array([-intercept[0], intercept[0]]) / 2
        self.coef = np.zeros((self.num_classes, features.shape[1]))
        self.intercept = np.full(self.num_classes, -np.inf)
        self.coef[classifier.classes_] = coef
        self.intercept[classifier.classes_] = intercept

    def predict_proba(self, clips: Unlabelled) -> np.ndarray:
        features = (feature_matrix(clips, self.config) - self.mean) / self.scale
        logits = features @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def num_parameters(self) -> int:
        return int(np.isfinite(self.intercept).sum() * (self.coef.shape[1] + 1))

    def save(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        with atomic_path(path / WEIGHTS_FILE) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, mean=self.mean, scale=self.scale, coef=self.coef,
                     intercept=self.intercept)
        write_model_meta(path, {"format": FORMAT}, META_FILE)

    @classmethod
    def load(cls, path: Path, config: PooledLogRegConfig, info: ClipSetInfo) -> "PooledLogReg":
        # Models saved before the format was recorded have none: they are this format.
        read_model_meta(path, "pooled_logreg", FORMAT, needs=(WEIGHTS_FILE,), name=META_FILE,
                        default_format=FORMAT)
        model = cls(config, info.num_classes)
        with np.load(Path(path) / WEIGHTS_FILE, allow_pickle=False) as arrays:
            model.mean, model.scale = arrays["mean"], arrays["scale"]
            model.coef, model.intercept = arrays["coef"], arrays["intercept"]
        # weights of another configuration or vocabulary met the features as a matmul error
        width, shapes = feature_width(config), {name: getattr(model, name).shape for name in
                                                ("mean", "scale", "coef", "intercept")}
        if shapes != {"mean": (width,), "scale": (width,), "coef": (info.num_classes, width),
                      "intercept": (info.num_classes,)}:
            raise BadSavedModel(f"{Path(path) / WEIGHTS_FILE}: arrays of shapes {shapes} do not "
                                f"fit {info.num_classes} signs and {width} pooled features of "
                                f"parts {list(config.parts)}; fetch the run's artifacts again "
                                "or train the model again")
        return model


def build(config: PooledLogRegConfig, info: ClipSetInfo) -> PooledLogReg:
    return PooledLogReg(config, info.num_classes)


@hookimpl
def slrbench_models() -> list:
    return [ModelSpec(name="pooled_logreg", inputs="landmarks", config=PooledLogRegConfig,
                      build=build, load=PooledLogReg.load,
                      summary="baseline: pooled normalised pose+hand stats -> logistic regression")]
