"""The training loop: augmented clips in length-sorted batches, AdamW with warm-up and
cosine decay, label smoothing, late dropout, mixed precision on CUDA, optionally the
harness's moving average of the weights, and the harness's early-stopping rule on
validation loss (best epoch restored)."""
from __future__ import annotations

import math
from contextlib import nullcontext
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from harness.api import (EarlyStopping, RunContext, StoppingRule, WeightAverage, affine,
                         compose, finger_bend, hand_affine, length_batches, mix_clips,
                         mix_labels, pad_rows, resample, sometimes, spatial_mask,
                         state_snapshot, temporal_mask)
from plugins.conv_transformer.config import ConvTransformerConfig
from plugins.conv_transformer.features import HANDS, flip_points


def pad(rows: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """``frames [B, T_max, F]`` and ``valid [B, T_max]`` (True = a real frame)."""
    frames, valid = pad_rows(rows)
    return torch.from_numpy(frames), torch.from_numpy(valid)


def augmenter(cfg: ConvTransformerConfig):
    """The configured chain of harness augmentations on ``[T, 59, 3]`` points."""
    return compose(
        sometimes(cfg.flip_prob, lambda points, rng: flip_points(points)),
        sometimes(cfg.hand_affine_prob, partial(
            hand_affine, scale=(cfg.hand_scale_min, cfg.hand_scale_max),
            degrees=cfg.hand_rotate_deg, shift=cfg.hand_shift, hands=HANDS)),
        sometimes(cfg.finger_bend_prob, partial(finger_bend, degrees=cfg.finger_bend_deg,
                                                hands=HANDS)),
        sometimes(cfg.affine_prob, partial(affine, scale=(cfg.scale_min, cfg.scale_max),
                                           shear=cfg.shear, degrees=cfg.rotate_deg,
                                           shift=cfg.shift)),
        sometimes(cfg.resample_prob, partial(resample, low=cfg.resample_min,
                                             high=cfg.resample_max)),
        sometimes(cfg.temporal_mask_prob, partial(temporal_mask,
                                                  max_fraction=cfg.temporal_mask_max)),
        sometimes(cfg.spatial_mask_prob, spatial_mask),
    )


def learning_rate(cfg: ConvTransformerConfig, step: int, total: int, warmup: int) -> float:
    """Linear warm-up to ``learning_rate``, then cosine decay to zero at ``total``."""
    if step < warmup:
        return cfg.learning_rate * (step + 1) / warmup
    progress = (step - warmup) / max(total - warmup, 1)
    return cfg.learning_rate * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


class Precision:
    """Autocast and loss scaling: float16 autocast with a gradient scaler on CUDA, plain
    float32 elsewhere unless ``amp`` is asked for (bfloat16 autocast on the CPU, the same
    code path, which is how the tests hold it without a GPU)."""

    def __init__(self, device: str, mode: str):
        kind = "cuda" if device.startswith("cuda") else "cpu"
        self.enabled = mode == "amp" or (mode == "auto" and kind == "cuda")
        self.kind = kind
        self.dtype = torch.float16 if kind == "cuda" else torch.bfloat16
        # float16 needs loss scaling, bfloat16 has float32's range and does not.
        self.scales = self.enabled and kind == "cuda"
        self.scaler = torch.amp.GradScaler(kind, enabled=self.scales
                                           and torch.cuda.is_available())

    def autocast(self):
        return torch.autocast(self.kind, dtype=self.dtype, enabled=self.enabled)

    def step(self, loss: torch.Tensor, optimiser: torch.optim.Optimizer) -> None:
        optimiser.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(optimiser)
        self.scaler.update()


def train(model, train_points: list[np.ndarray], labels: np.ndarray,
          val_rows: list[np.ndarray], val_labels: np.ndarray, ctx: RunContext) -> None:
    """Fit ``model.net`` in place. ``train_points``: ``[T_i, 59, 3]`` raw points per clip;
    ``val_rows``: features per validation clip (never augmented)."""
    cfg: ConvTransformerConfig = model.config
    net, device, classes = model.net, model.device, model.num_classes
    rng = np.random.default_rng(ctx.seed)
    augment = augmenter(cfg)
    precision = Precision(device, cfg.precision)
    fixed = None if cfg.augment else [model.rows(p) for p in train_points]
    optimiser = torch.optim.AdamW(net.parameters(), lr=cfg.learning_rate,
                                  weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(train_points) / cfg.batch_size)
    total = cfg.epochs * steps_per_epoch
    warmup = min(cfg.warmup_epochs * steps_per_epoch, total // 2)
    late_epoch = int(math.ceil(cfg.late_dropout_start * cfg.epochs))
    rule = StoppingRule(monitor="val_loss" if len(val_rows) else "train_loss", mode="min",
                        patience=cfg.patience, restore_best=True)
    stopper = EarlyStopping(rule)
    ctx.log_params(rule.params())
    average = WeightAverage(net, cfg.average_window) if cfg.average_window else None
    evaluated = average.applied if average else nullcontext
    snapshot = average.state if average else state_snapshot(net)
    step = 0
    with ctx.progress(total, "conv_transformer: training") as bar:
        for epoch in range(1, cfg.epochs + 1):
            net.late_dropout.active = epoch > late_epoch
            rows, targets = _epoch_inputs(model, train_points, labels, fixed, augment, rng)
            lengths = np.array([len(r) for r in rows])
            net.train()
            total_loss, seen = 0.0, 0
            for batch in length_batches(lengths, cfg.batch_size, rng):
                for group in optimiser.param_groups:
                    group["lr"] = learning_rate(cfg, step, total, warmup)
                frames, valid = pad([rows[i] for i in batch])
                target = torch.from_numpy(targets[batch]).to(device)
                with precision.autocast():
                    logits = net(frames.to(device), valid.to(device))
                loss = F.cross_entropy(logits.float(), target,
                                       label_smoothing=cfg.label_smoothing)
                precision.step(loss, optimiser)
                if average:
                    average.update()
                total_loss += float(loss.detach()) * len(batch)
                seen += len(batch)
                step += 1
                bar.advance(1)
            train_loss = total_loss / max(seen, 1)
            ctx.log_metric("train_loss", train_loss, epoch)
            monitored = train_loss
            if len(val_rows):
                with evaluated():
                    proba = model.predict_rows(val_rows)
                picked = proba[np.arange(len(val_labels)), val_labels]
                monitored = float(-np.log(np.clip(picked, 1e-7, 1.0)).mean())
                ctx.log_metric("val_loss", monitored, epoch)
                ctx.log_metric("epoch_val_top1", float((proba.argmax(1) == val_labels).mean()),
                               epoch)
            if not stopper.step(epoch, monitored, snapshot):
                break
    if stopper.best_state is not None:
        net.load_state_dict(stopper.best_state)
    elif average:
        average.load_into()
    ctx.log_metric("best_epoch", stopper.best_epoch)


def _epoch_inputs(model, points: list[np.ndarray], labels: np.ndarray, fixed, augment,
                  rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
    """Features and soft targets of one epoch's training clips, freshly augmented."""
    cfg = model.config
    targets = np.eye(model.num_classes, dtype=np.float32)[labels]
    if fixed is not None:
        return fixed, targets
    rows = []
    for i, p in enumerate(points):
        p = augment(p, rng)
        if cfg.mix_prob and rng.random() < cfg.mix_prob:
            j = int(rng.integers(len(points)))
            p, share = mix_clips(p, augment(points[j], rng), rng)
            targets[i] = mix_labels(labels[i], labels[j], share, model.num_classes)
        rows.append(model.rows(p))
    return rows, targets
