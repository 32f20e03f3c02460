"""SPOTER as a slrbench model: seeded training with early stopping, length-batched
prediction, and weights saved as a plain ``.npz`` of arrays plus JSON (no pickle)."""
from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from harness.api import (BadConfig, ClipSet, ClipSetInfo, EarlyStopping, RunContext,
                         StoppingRule, Unlabelled, check_model_threads, load_state_dict,
                         predict_padded, read_model_meta, save_state_dict, state_snapshot,
                         torch_compute, write_model_meta)
from plugins.spoter.augment import paper_augment, study_copies
from plugins.spoter.batching import length_batches, pad
from plugins.spoter.config import SpoterConfig
from plugins.spoter.features import feature_size, frame_features
from plugins.spoter.network import SpoterNet
from plugins.spoter.skeleton import skeleton, subsample

FORMAT = "slrbench-spoter/1"
META_FILE = "slrbench.json"
WEIGHTS_FILE = "weights.npz"
PREDICT_BATCH = 64


def _with_torch_compute(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with torch_compute(self.config.threads):
            return method(self, *args, **kwargs)
    return wrapper


class SpoterModel:
    def __init__(self, config: SpoterConfig, num_classes: int, vocab: tuple[str, ...] = (),
                 device: str = "cpu"):
        self.config = config
        self.num_classes = int(num_classes)
        self.vocab = tuple(vocab)
        self.device = device
        self.net = self._new_net()

    def _new_net(self) -> SpoterNet:
        c = self.config
        return SpoterNet(feature_size(c.variant), self.num_classes, c.d_model, c.heads,
                         c.encoder_layers, c.decoder_layers, c.feedforward, c.dropout,
                         c.max_frames)

    # --- inputs -----------------------------------------------------------------------
    def joints(self, clips: ClipSet | Unlabelled, i: int) -> np.ndarray:
        frames = subsample(clips.clip(i), self.config.max_frames)
        return skeleton(frames, self.config.wrists_from_hands)

    def features(self, clips: ClipSet | Unlabelled) -> list[np.ndarray]:
        """One ``[T_i, F]`` array per clip: what the network reads."""
        return [frame_features(self.joints(clips, i), self.config.variant)
                for i in range(len(clips))]

    # --- training ---------------------------------------------------------------------
    @_with_torch_compute
    def fit(self, train: ClipSet, val: ClipSet, ctx: RunContext) -> None:
        cfg = self.config
        check_model_threads("spoter", cfg.threads)
        torch.manual_seed(ctx.seed)
        rng = np.random.default_rng(ctx.seed)
        self.device = ("cuda" if str(ctx.device).startswith("cuda")
                       and torch.cuda.is_available() else "cpu")
        self.net = self._new_net().to(self.device)

        joints = [self.joints(train, i) for i in range(len(train))]
        labels = train.labels
        if cfg.variant == "study" and cfg.augment:
            copies = [study_copies(j, cfg.study_rotate_deg) for j in joints]
            joints = [c for group in copies for c in group]
            labels = np.repeat(labels, 3)
        # Augmentation changes the features every epoch; without it they are fixed.
        fixed = None
        if not (cfg.variant == "paper" and cfg.augment):
            fixed = [frame_features(j, cfg.variant) for j in joints]
        lengths = np.array([len(j) for j in joints])
        val_x = self.features(val) if len(val) else []

        optimiser = self._optimiser()
        loss_fn = nn.CrossEntropyLoss()
        steps = math.ceil(len(joints) / cfg.batch_size)
        rule = StoppingRule(monitor="val_loss" if len(val_x) else "train_loss",
                            patience=cfg.patience, min_delta=1e-6)
        ctx.log_params(rule.params())
        stopping = EarlyStopping(rule)
        with ctx.progress(cfg.epochs * steps, "spoter: training") as bar:
            for epoch in range(1, cfg.epochs + 1):
                if fixed is None:
                    rows = [frame_features(paper_augment(j, rng, cfg), cfg.variant)
                            for j in joints]
                else:
                    rows = fixed
                self.net.train()
                total, seen = 0.0, 0
                for batch in length_batches(lengths, cfg.batch_size, rng):
                    frames, padding = pad([rows[i] for i in batch])
                    target = torch.as_tensor(labels[batch], device=self.device)
                    logits = self.net(frames.to(self.device), padding.to(self.device))
                    loss = loss_fn(logits, target)
                    optimiser.zero_grad(set_to_none=True)
                    loss.backward()
                    optimiser.step()
                    total += loss.item() * len(batch)
                    seen += len(batch)
                    bar.advance(1)
                train_loss = total / max(seen, 1)
                ctx.log_metric("train_loss", train_loss, epoch)
                monitored = train_loss
                if len(val_x):
                    proba = self._predict_rows(val_x)
                    picked = proba[np.arange(len(val)), val.labels]
                    monitored = float(-np.log(np.clip(picked, 1e-7, 1.0)).mean())
                    ctx.log_metric("val_loss", monitored, epoch)
                    ctx.log_metric("epoch_val_top1",
                                   float((proba.argmax(1) == val.labels).mean()), epoch)
                if not stopping.step(epoch, monitored, state_snapshot(self.net)):
                    break
        if stopping.best_state is not None:
            self.net.load_state_dict(stopping.best_state)
        ctx.log_metric("best_epoch", stopping.best_epoch)

    def _optimiser(self) -> torch.optim.Optimizer:
        cfg = self.config
        if cfg.optimizer == "sgd":
            return torch.optim.SGD(self.net.parameters(), lr=cfg.learning_rate,
                                   weight_decay=cfg.weight_decay)
        return torch.optim.AdamW(self.net.parameters(), lr=cfg.learning_rate,
                                 weight_decay=cfg.weight_decay)

    # --- prediction -------------------------------------------------------------------
    def _predict_rows(self, rows: list[np.ndarray]) -> np.ndarray:
        return predict_padded(self.net, rows, pad, self.num_classes, self.device,
                              PREDICT_BATCH)

    @_with_torch_compute
    def predict_proba(self, clips: Unlabelled) -> np.ndarray:
        return self._predict_rows(self.features(clips))

    def num_parameters(self) -> int:
        return int(sum(p.numel() for p in self.net.parameters()))

    # --- persistence ------------------------------------------------------------------
    def save(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_state_dict(path / WEIGHTS_FILE, self.net)
        write_model_meta(path, {"format": FORMAT, "num_classes": self.num_classes}, META_FILE)

    @classmethod
    def load(cls, path: Path, config: SpoterConfig, info: ClipSetInfo) -> "SpoterModel":
        path = Path(path)
        read_model_meta(path, "spoter", FORMAT, needs=(WEIGHTS_FILE,), name=META_FILE)
        model = cls(config, info.num_classes, tuple(info.vocab))
        load_state_dict(path / WEIGHTS_FILE, model.net)
        return model


def build(config: SpoterConfig, info) -> SpoterModel:
    if not isinstance(config, SpoterConfig):
        raise BadConfig(f"spoter needs a SpoterConfig, got {type(config).__name__}")
    return SpoterModel(config, info.num_classes, tuple(info.vocab))
