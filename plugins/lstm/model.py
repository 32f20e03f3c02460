"""The LSTM baseline as a slrbench model: fit, batched prediction, save/load, TFLite export.

Saved as a directory: ``model.keras`` (Keras' zip of JSON config + HDF5 weights, loaded
with ``safe_mode``) and ``slrbench.json`` (format, classes, the input standardisation; the config comes back
from the harness).
Nothing is pickled.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from harness.api import (BadConfig, ClipSet, ClipSetInfo, EarlyStopping, RunContext,
                         SlrbenchError, StoppingRule, Unlabelled, check_model_threads,
                         read_model_meta, write_model_meta)
from plugins.lstm import augment
from plugins.lstm.backend import keras_and_tf
from plugins.lstm.config import LSTMConfig
from plugins.lstm.features import clip_points, encode, feature_size, point_stats
from plugins.lstm.network import build_network, compile_network

FORMAT = "slrbench-lstm/1"
META_FILE = "slrbench.json"
KERAS_FILE = "model.keras"
PREDICT_CHUNK = 1024            # clips featurised at once at prediction time
PREDICT_BATCH = 256


class LSTMModel:
    def __init__(self, config: LSTMConfig, num_classes: int, vocab: tuple[str, ...] = (),
                 net=None, mean: np.ndarray | None = None, std: np.ndarray | None = None):
        self.config = config
        self.num_classes = int(num_classes)
        self.vocab = tuple(vocab)
        self._net = net
        self._infer = None
        self.mean, self.std = mean, std      # per-coordinate standardisation, [42, C]

    # --- features ---------------------------------------------------------------------
    @property
    def num_features(self) -> int:
        return feature_size(self.config.presence_flags, self.config.coords)

    def features(self, clips: ClipSet | Unlabelled) -> np.ndarray:
        """``[N, frames, features]`` float32: exactly what the network (and TFLite) reads."""
        cfg = self.config
        return self._encode(clip_points(clips, cfg.frames, cfg.normalise, cfg.coords))

    def _encode(self, points: np.ndarray) -> np.ndarray:
        return encode(points, self.config.presence_flags, self.config.normalise == "wrist",
                      self.mean, self.std)

    def _augment(self, points: np.ndarray, forced: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
        cfg = self.config
        steps = ((cfg.shift, augment.shift, cfg.shift_max),
                 (cfg.scale, augment.scale, cfg.scale_max),
                 (cfg.noise, augment.noise, cfg.noise_std))
        for enabled, transform, amount in steps:
            if not enabled:
                continue
            # Balancing copies are always transformed, else they would be mere duplicates.
            chosen = forced | (rng.random(len(points)) < cfg.augment_prob)
            if chosen.any():
                points[chosen] = transform(points[chosen], rng, amount)
        return points

    # --- training ---------------------------------------------------------------------
    def fit(self, train: ClipSet, val: ClipSet, ctx: RunContext) -> None:
        check_model_threads("lstm", self.config.threads)
        keras, _ = keras_and_tf(self.config.threads)
        cfg = self.config
        keras.utils.set_random_seed(ctx.seed)
        rng = np.random.default_rng(ctx.seed)
        self._net = build_network(cfg, self.num_features, self.num_classes)
        self._infer = None                  # a graph traced for an earlier network

        points = clip_points(train, cfg.frames, cfg.normalise, cfg.coords)
        if cfg.standardise:
            self.mean, self.std = point_stats(points, cfg.normalise == "wrist")
        labels = train.labels
        if cfg.balance:
            index, is_copy = augment.balance_index(labels, rng, cfg.per_class)
        else:
            index, is_copy = np.arange(len(labels)), np.zeros(len(labels), bool)
        has_val = len(val) > 0
        val_x = self.features(val) if has_val else None
        val_y = val.labels if has_val else None

        steps = math.ceil(len(index) / cfg.batch_size)
        if not has_val:
            rule = StoppingRule(monitor="train_loss", patience=cfg.patience, min_delta=1e-6)
        elif cfg.monitor == "val_top1":
            rule = StoppingRule(monitor="epoch_val_top1", mode="max", patience=cfg.patience)
        else:
            rule = StoppingRule(monitor="val_loss", patience=cfg.patience, min_delta=1e-6)
        ctx.log_params(rule.params())
        stopping = EarlyStopping(rule)
        with ctx.progress(cfg.epochs * steps, "lstm: training") as bar:
            callback = _bar_callback(bar)
            for epoch in range(1, cfg.epochs + 1):
                x = self._encode(self._augment(points[index], is_copy.copy(), rng))
                order = rng.permutation(len(index))
                history = self._net.fit(x[order], labels[index][order],
                                        batch_size=cfg.batch_size, epochs=1, shuffle=False,
                                        verbose=0, callbacks=[callback])
                train_loss = float(history.history["loss"][-1])
                ctx.log_metric("train_loss", train_loss, epoch)
                curves = {"train_loss": train_loss}
                if has_val:
                    proba = self._predict_features(val_x)
                    curves["val_loss"] = _cross_entropy(proba, val_y)
                    curves["epoch_val_top1"] = float((proba.argmax(1) == val_y).mean())
                    ctx.log_metric("val_loss", curves["val_loss"], epoch)
                    ctx.log_metric("epoch_val_top1", curves["epoch_val_top1"], epoch)
                if not stopping.step(epoch, curves[rule.monitor], self._net.get_weights):
                    break
                # Keras' own ReduceLROnPlateau resets with every fit() call, and this loop
                # fits one epoch at a time: the rate halves every lr_patience epochs of the
                # stopping rule's own count of epochs without improvement.
                if cfg.lr_patience and stopping.waited and stopping.waited % cfg.lr_patience == 0:
                    rate = self._net.optimizer.learning_rate
                    rate.assign(float(rate.numpy()) / 2)
        if stopping.best_state is not None:
            self._net.set_weights(stopping.best_state)
        ctx.log_metric("best_epoch", stopping.best_epoch)

    # --- prediction -------------------------------------------------------------------
    def _predict_features(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros((0, self.num_classes), dtype=np.float32)
        if self._infer is None:
            # One traced graph for any batch size: Keras' predict() costs tens of ms of
            # set-up per call, which would dominate the per-clip latency the harness times.
            _, tf = keras_and_tf()
            spec = tf.TensorSpec([None, self.config.frames, self.num_features], tf.float32)
            self._infer = tf.function(lambda batch: self._net(batch, training=False),
                                      input_signature=[spec])
        return np.concatenate([np.asarray(self._infer(x[s:s + PREDICT_BATCH]), np.float32)
                               for s in range(0, len(x), PREDICT_BATCH)])

    def predict_proba(self, clips: Unlabelled) -> np.ndarray:
        self._require_trained()
        parts = []
        for start in range(0, len(clips), PREDICT_CHUNK):
            chunk = clips.subset(np.arange(start, min(start + PREDICT_CHUNK, len(clips))))
            parts.append(self._predict_features(self.features(chunk)))
        if not parts:
            return np.zeros((0, self.num_classes), dtype=np.float32)
        return np.concatenate(parts)

    def num_parameters(self) -> int:
        self._require_trained()
        return int(self._net.count_params())

    def _require_trained(self) -> None:
        if self._net is None:
            raise SlrbenchError("the LSTM model has no weights yet: fit it or load a saved one")

    # --- persistence ------------------------------------------------------------------
    def save(self, path: Path) -> None:
        self._require_trained()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        tmp = path / f".{KERAS_FILE}.{os.getpid()}.keras"
        self._net.save(tmp)
        os.replace(tmp, path / KERAS_FILE)
        meta = {"format": FORMAT, "num_classes": self.num_classes,
                "mean": None if self.mean is None else self.mean.tolist(),
                "std": None if self.std is None else self.std.tolist()}
        write_model_meta(path, meta, META_FILE)

    @classmethod
    def load(cls, path: Path, config: LSTMConfig, info: ClipSetInfo) -> "LSTMModel":
        path = Path(path)
        meta = read_model_meta(path, "lstm", FORMAT, needs=(KERAS_FILE,), name=META_FILE)
        keras, _ = keras_and_tf(config.threads)
        net = keras.models.load_model(path / KERAS_FILE, compile=False, safe_mode=True)
        compile_network(net, config)
        stats = [None if meta.get(k) is None else np.asarray(meta[k], np.float32)
                 for k in ("mean", "std")]
        return cls(config, info.num_classes, tuple(info.vocab), net, *stats)

    # --- export -----------------------------------------------------------------------
    export_formats = ("tflite",)

    def export(self, path: Path, fmt: str) -> Path:
        """Write a TFLite model (batch 1, ``[1, frames, features]`` float32 input)."""
        if fmt != "tflite":
            raise BadConfig(f"the lstm model exports to 'tflite' only, not {fmt!r}")
        self._require_trained()
        from plugins.lstm.tflite import export_tflite

        return export_tflite(self, Path(path))


def _bar_callback(bar):
    """A Keras callback advancing a harness progress bar once per training batch (defined
    here because Keras is imported lazily)."""
    keras, _ = keras_and_tf()

    class BarCallback(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            bar.advance(1)

    return BarCallback()


def _cross_entropy(proba: np.ndarray, labels: np.ndarray) -> float:
    picked = proba[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(picked, 1e-7, 1.0)).mean())


def build(config: LSTMConfig, info) -> LSTMModel:
    if not isinstance(config, LSTMConfig):
        raise BadConfig(f"lstm needs an LSTMConfig, got {type(config).__name__}")
    return LSTMModel(config, info.num_classes, tuple(info.vocab))
