"""The R(2+1)D SignModel: training loop, prediction, save and load."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from harness.api import (BadConfig, ClipSet, ClipSetInfo, EarlyStopping, RunContext,
                         StoppingRule, Unlabelled, atomic_path, read_model_meta, state_snapshot,
                         write_model_meta)

from plugins.r2plus1d.checkpoint import load_weights
from plugins.r2plus1d.config import R2Plus1DConfig
from plugins.r2plus1d.data import ClipTensors, check_inputs
from plugins.r2plus1d.network import R2Plus1D

FORMAT = "slrbench-r2plus1d"
VERSION = 1
FILES = {"meta": "meta.json", "weights": "weights.pt"}
EVAL_BATCH = 16


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


class R2Plus1DModel:
    def __init__(self, config: R2Plus1DConfig, num_classes: int, vocab: tuple[str, ...] = (),
                 initial_weights: bool = True):
        self.config = config
        self.num_classes = num_classes
        self.vocab = tuple(vocab)
        self.device = default_device()
        self.history: list[dict] = []
        self.head_reset: list[str] = []
        # Built (and a --set weights file checked) now, so a bad checkpoint fails before
        # any data is loaded; fit() rebuilds it under the run's seed.
        self.network = self._new_network(initial_weights)

    # --- network -------------------------------------------------------------------------
    def _new_network(self, initial_weights: bool) -> R2Plus1D:
        network = R2Plus1D(self.num_classes, self.config.width, self.config.dropout)
        if initial_weights and self.config.weights:
            self.head_reset = load_weights(network, self.config.weights)
        return network

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.network.parameters())

    def _autocast(self, device: torch.device):
        # float16 autocast on CUDA only: CPU autocast (bfloat16) is slower than float32 on
        # most CPUs and changes results.
        return torch.autocast(device_type=device.type, dtype=torch.float16,
                              enabled=self.config.amp and device.type == "cuda")

    def _to_device(self, device: torch.device) -> None:
        self.network.to(device)
        if device.type == "cuda":
            # cuDNN's 3D convolutions are fastest in channels-last-3d layout.
            self.network.to(memory_format=torch.channels_last_3d)

    def _loader(self, dataset: ClipTensors, device: torch.device, shuffle: bool = False,
                seed: int = 0, batch_size: int | None = None, drop_last: bool = False):
        generator = torch.Generator().manual_seed(seed) if shuffle else None
        return torch.utils.data.DataLoader(
            dataset, batch_size=batch_size or self.config.batch_size, shuffle=shuffle,
            generator=generator, num_workers=self.config.workers, drop_last=drop_last,
            pin_memory=device.type == "cuda")

    def _inputs(self, x: torch.Tensor, device: torch.device) -> torch.Tensor:
        x = x.to(device, non_blocking=True)
        if device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last_3d)
        return x

    # --- training ------------------------------------------------------------------------
    def fit(self, train: ClipSet, val: ClipSet, ctx: RunContext) -> None:
        c = self.config
        check_inputs(train, c)
        if len(train) == 0:
            raise BadConfig("r2plus1d: the training split is empty; check the dataset's split")
        device = torch.device(ctx.device)
        self.device = str(device)
        torch.manual_seed(ctx.seed)
        self.network = self._new_network(initial_weights=True)
        self._to_device(device)

        data = ClipTensors(train, c, train=True, seed=ctx.seed, labels=train.labels)
        # A final batch of one clip would make batch norm's statistics degenerate.
        loader = self._loader(data, device, shuffle=True, seed=ctx.seed,
                              drop_last=len(data) % c.batch_size == 1)
        optimizer = torch.optim.AdamW(self.network.parameters(), lr=c.lr,
                                      weight_decay=c.weight_decay)
        steps = max(1, c.epochs * len(loader))
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps)))
        scaler = torch.amp.GradScaler(device.type,
                                      enabled=c.amp and device.type == "cuda")
        criterion = nn.CrossEntropyLoss(label_smoothing=c.label_smoothing)

        stopping = EarlyStopping(stopping_rule(c, has_val=len(val) > 0))
        ctx.log_params(stopping.rule.params())
        self.history = []
        with ctx.progress(steps, "training r2plus1d") as progress:
            for epoch in range(1, c.epochs + 1):
                data.epoch = epoch
                epoch_lr = optimizer.param_groups[0]["lr"]
                self.network.train()
                total_loss, correct, seen = 0.0, 0, 0
                for x, y in loader:
                    x, y = self._inputs(x, device), y.to(device, non_blocking=True)
                    with self._autocast(device):
                        logits = self.network(x)
                        loss = criterion(logits.float(), y)
                    optimizer.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                    schedule.step()
                    total_loss += float(loss.detach()) * len(y)
                    correct += int((logits.argmax(1) == y).sum())
                    seen += len(y)
                    progress.advance()
                record = {"epoch": epoch, "train_loss": total_loss / max(seen, 1),
                          "train_top1": correct / max(seen, 1),
                          "lr": epoch_lr}
                if len(val):
                    logits = torch.from_numpy(self._logits(val, device))
                    labels = torch.as_tensor(np.array(val.labels))
                    record["val_loss"] = float(nn.functional.cross_entropy(logits, labels))
                    record["epoch_val_top1"] = float((logits.argmax(1) == labels).float().mean())
                for name, value in record.items():
                    if name != "epoch":
                        ctx.log_metric(name, value, step=epoch)
                self.history.append(record)
                if not stopping.step(epoch, record[stopping.rule.monitor],
                                     state_snapshot(self.network)):
                    break
        if stopping.best_state is not None:
            self.network.load_state_dict(stopping.best_state)

    # --- prediction ----------------------------------------------------------------------
    @torch.no_grad()
    def _logits(self, clips: ClipSet | Unlabelled, device: torch.device) -> np.ndarray:
        self.network.eval()
        data = ClipTensors(clips, self.config, train=False)
        out = []
        for x in self._loader(data, device, batch_size=max(EVAL_BATCH, self.config.batch_size)):
            with self._autocast(device):
                out.append(self.network(self._inputs(x, device)).float().cpu())
        if not out:
            return np.zeros((0, self.num_classes), dtype=np.float32)
        return torch.cat(out).numpy()

    def predict_proba(self, clips: Unlabelled) -> np.ndarray:
        device = torch.device(self.device)
        self._to_device(device)
        logits = torch.from_numpy(self._logits(clips, device)).double()
        return torch.softmax(logits, dim=1).numpy()

    # --- persistence ---------------------------------------------------------------------
    def save(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu() for k, v in self.network.state_dict().items()}
        with atomic_path(path / FILES["weights"]) as tmp:
            torch.save(state, tmp)
        meta = {"format": FORMAT, "version": VERSION, "num_classes": self.num_classes,
                "parameters": self.num_parameters(),
                "head_reset_from_weights": self.head_reset, "history": self.history}
        # Last: a meta.json marks a complete directory.
        write_model_meta(path, meta, FILES["meta"])

    @classmethod
    def load(cls, path: Path, config: R2Plus1DConfig, info: ClipSetInfo) -> "R2Plus1DModel":
        path = Path(path)
        meta = read_model_meta(path, "r2plus1d", FORMAT, version=VERSION, name=FILES["meta"],
                               needs=(FILES["weights"],))
        model = cls(config, info.num_classes, info.vocab, initial_weights=False)
        state = torch.load(path / FILES["weights"], map_location="cpu", weights_only=True)
        model.network.load_state_dict(state, strict=True)
        model.history = meta.get("history", [])
        model.head_reset = meta.get("head_reset_from_weights", [])
        return model


def stopping_rule(config: R2Plus1DConfig, has_val: bool) -> StoppingRule:
    """Best validation top-1 (a video network's validation loss is noisy on small sets);
    without validation clips, the training loss. ``patience=0`` never stops early."""
    patience = config.patience or max(1, config.epochs)
    if has_val:
        return StoppingRule(monitor="epoch_val_top1", mode="max", patience=patience)
    return StoppingRule(monitor="train_loss", mode="min", patience=patience)


def build(config: R2Plus1DConfig, info: ClipSetInfo) -> R2Plus1DModel:
    return R2Plus1DModel(config, info.num_classes, info.vocab)
