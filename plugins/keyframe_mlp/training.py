"""Training one stage as the original did with Keras.

Adam (lr 5e-4, Keras' epsilon 1e-7), batches of 200 shuffled samples, cross-entropy plus
the L2 penalty ``l2 * sum(w**2)`` of the hidden kernels (what Keras' ``kernel_regularizer``
adds; the reported train and validation losses include it, as Keras' do). The penalty's
gradient ``2 * l2 * w`` reaches Adam as its (coupled, not AdamW's) ``weight_decay`` on
those kernels: the same update, without differentiating the penalty every step. Early stopping
on the validation loss with the best weights restored (the harness's rule: strictly lower
is better, as Keras' ``min_delta=0``); the learning rate is halved after ``lr_patience``
epochs without an improvement of at least 1e-4 (Keras' ReduceLROnPlateau, built with
the harness's ``keras_plateau``). A stage's samples are its input rows: one per frame of every clip.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from harness.api import EarlyStopping, RunContext, StoppingRule, keras_plateau, state_snapshot

from plugins.keyframe_mlp.cascade import gather_inputs, run_stage, segment_best
from plugins.keyframe_mlp.config import KeyframeMLPConfig
from plugins.keyframe_mlp.nets import StageMLP

ADAM_EPSILON = 1e-7           # Keras' default (torch's is 1e-8)


@dataclass
class StageData:
    """Inputs of one stage for a set of clips: index rows into the shared feature matrix."""

    x: torch.Tensor           # [F, D] standardised frame features
    rows: torch.Tensor        # [F, k] frames making each input, in temporal order
    labels: torch.Tensor      # [F] the clip's label for every input
    clip_of: torch.Tensor     # [F]
    n_clips: int

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class Evaluation:
    loss: float               # cross-entropy + L2 penalty
    frame_top1: float         # accuracy of single inputs (Keras' "accuracy")
    clip_top1: float          # this stage alone, honest: class of the clip's most confident input


def evaluate(net: StageMLP, data: StageData, l2: float) -> Evaluation:
    net.eval()
    out = run_stage(net, data.x, data.rows, data.labels)
    penalty = float(net.l2_penalty().detach()) * l2
    best = segment_best(out.max_prob, data.clip_of, data.n_clips)
    clip_correct = (out.pred[best] == data.labels[best]).double().mean()
    return Evaluation(loss=float(-out.label_logp.double().mean()) + penalty,
                      frame_top1=float((out.pred == data.labels).double().mean()),
                      clip_top1=float(clip_correct))


def _class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """sklearn's "balanced" weights over this stage's samples; absent classes weigh 0."""
    counts = torch.bincount(labels, minlength=num_classes).double()
    present = int((counts > 0).sum())
    weights = torch.where(counts > 0, len(labels) / (present * counts.clamp(min=1)),
                          torch.zeros_like(counts))
    return weights.float()


def _adam(net: StageMLP, config: KeyframeMLPConfig) -> torch.optim.Adam:
    """Adam with the L2 penalty's gradient as weight decay on the hidden kernels only.

    The fused kernel updates all tensors in one pass, a third of the unfused step's time.
    """
    kernels = net.hidden_kernels()
    others = [p for p in net.parameters() if all(p is not k for k in kernels)]
    groups = [{"params": kernels, "weight_decay": 2 * config.l2},
              {"params": others, "weight_decay": 0.0}]
    return torch.optim.Adam(groups, lr=config.lr, eps=ADAM_EPSILON, fused=True)


def stopping_rule(config: KeyframeMLPConfig, has_val: bool) -> StoppingRule:
    return StoppingRule(monitor="val_loss" if has_val else "train_loss", mode="min",
                        patience=config.patience, min_delta=0.0, restore_best=True)


def train_stage(net: StageMLP, stage: int, train: StageData, val: StageData | None,
                num_classes: int, config: KeyframeMLPConfig, ctx: RunContext,
                generator: torch.Generator) -> None:
    """Train ``net`` in place and leave it in eval mode with its best weights.

    Without validation clips the training loss is monitored instead.
    """
    prefix = f"mlp{stage}"
    optimizer = _adam(net, config)
    plateau = keras_plateau(optimizer, config.lr_patience, config.lr_factor)
    rule = stopping_rule(config, val is not None)
    ctx.log_params(rule.params())
    stopping = EarlyStopping(rule)
    weights = _class_weights(train.labels, num_classes) \
        if config.balance == "class_weights" else None
    sample_weights = _class_weights(train.labels, num_classes)[train.labels].double() \
        if config.balance == "sampler" else None
    logged_rate = None
    with ctx.progress(config.epochs, f"keyframe_mlp {prefix}") as bar:
        for epoch in range(1, config.epochs + 1):
            train_loss = _train_epoch(net, train, weights, sample_weights, config, optimizer,
                                      generator)
            ctx.log_metric(f"{prefix}_train_loss", train_loss, epoch)
            monitored = train_loss
            if val is not None:
                result = evaluate(net, val, config.l2)
                monitored = result.loss
                ctx.log_metric(f"{prefix}_val_loss", result.loss, epoch)
                ctx.log_metric(f"{prefix}_val_top1", result.clip_top1, epoch)
                ctx.log_metric(f"{prefix}_val_frame_top1", result.frame_top1, epoch)
            rate = optimizer.param_groups[0]["lr"]
            if rate != logged_rate:          # one point per change: MLflow calls are not free
                ctx.log_metric(f"{prefix}_lr", rate, epoch)
                logged_rate = rate
            bar.advance(1)
            bar.set_description(f"keyframe_mlp {prefix} loss {monitored:.3f}")
            if not stopping.step(epoch, monitored, state_snapshot(net)):
                break
            plateau.step(monitored)
    if stopping.best_state is not None:
        net.load_state_dict(stopping.best_state)
    net.eval()
    ctx.log_metric(f"{prefix}_best_epoch", stopping.best_epoch)
    ctx.log_metric(f"{prefix}_epochs_run", stopping.epochs_run)


def _train_epoch(net: StageMLP, data: StageData, weights: torch.Tensor | None,
                 sample_weights: torch.Tensor | None, config: KeyframeMLPConfig,
                 optimizer: torch.optim.Optimizer, generator: torch.Generator) -> float:
    net.train()
    n = len(data)
    if sample_weights is not None:
        order = torch.multinomial(sample_weights, n, replacement=True, generator=generator)
    else:
        order = torch.randperm(n, generator=generator)
    total = 0.0
    for start in range(0, n, config.batch_size):
        batch = order[start:start + config.batch_size]
        targets = data.labels[batch]
        logits = net(gather_inputs(data.x, data.rows[batch]))
        losses = F.cross_entropy(logits, targets, reduction="none")
        if weights is not None:
            losses = losses * weights[targets]
        loss = losses.mean()
        with torch.no_grad():    # reported as Keras does, at the weights of this step
            penalty = net.l2_penalty()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += (float(loss.detach()) + config.l2 * float(penalty)) * len(batch)
    return total / max(n, 1)
