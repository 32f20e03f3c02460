"""The key-frame MLP as a slrbench SignModel: fit, predict, explain, oracle, save/load."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from harness.api import (ClipSet, ClipSetInfo, RunContext, SlrbenchError, Unlabelled,
                         check_model_threads, torch_compute)

from plugins.keyframe_mlp.cascade import CascadeResult, run_cascade, run_stage, segment_best, \
    stage_rows
from plugins.keyframe_mlp.config import KeyframeMLPConfig
from plugins.keyframe_mlp.features import FEATURE_DIM
from plugins.keyframe_mlp.frames import FrameTable, Standardiser, build_table
from plugins.keyframe_mlp.nets import StageMLP
from plugins.keyframe_mlp.persist import BadModelDir, load_model, save_model
from plugins.keyframe_mlp.training import StageData, train_stage


def _frame_counts(clips: ClipSet | Unlabelled) -> tuple[np.ndarray, np.ndarray]:
    """(fps, n_frames) per clip from a labelled set or an unlabelled view."""
    if isinstance(clips, Unlabelled):
        return clips.fps, clips.n_frames
    return (clips.meta["fps"].to_numpy(dtype=np.float64),
            clips.meta["n_frames"].to_numpy(dtype=np.int64))


class KeyframeMLP:
    """MLP1 over single frames, MLP2 over (key frame, frame) pairs, optional MLP3."""

    def __init__(self, config: KeyframeMLPConfig, vocab: tuple[str, ...]):
        self.config = config
        self.vocab = tuple(vocab)
        self.num_classes = len(self.vocab)
        self.nets: list[StageMLP] = []
        self.standardiser: Standardiser | None = None

    @classmethod
    def build(cls, config: KeyframeMLPConfig, info: ClipSetInfo) -> "KeyframeMLP":
        if not info.has_landmarks:
            raise SlrbenchError(f"keyframe_mlp needs landmarks but dataset {info.name!r} has "
                                "only videos; extract them with `slrbench data extract`")
        return cls(config, info.vocab)

    def _new_net(self, stage: int) -> StageMLP:
        return StageMLP(stage * FEATURE_DIM, self.config.hidden(stage), self.num_classes,
                        self.config.dropout)

    # --- training -----------------------------------------------------------------------
    def _table(self, clips: ClipSet, name: str, advance=None) -> FrameTable:
        fps, n_frames = _frame_counts(clips)
        return build_table(clips, fps, self.config, name, labels=clips.labels,
                           mirror=self.config.mirror, n_frames=n_frames, advance=advance)

    def fit(self, train: ClipSet, val: ClipSet, ctx: RunContext) -> None:
        """Train the stages in turn, each with the earlier ones frozen.

        Every frame of a training clip (and of its mirrored copy) is a sample carrying the
        clip's label. Stage k's key frames on the training and validation clips come from
        stage k-1 by ``train_key``: the frame with the highest probability of the clip's
        true label (the original; labels are legitimately used at training time) or of
        any class (what honest inference will do).
        """
        if len(train) == 0:
            raise SlrbenchError(f"keyframe_mlp: dataset {train.name!r} has no training clips")
        check_model_threads("keyframe_mlp", self.config.threads)
        with torch.random.fork_rng(devices=[]), torch_compute(self.config.threads):
            torch.manual_seed(ctx.seed)
            generator = torch.Generator().manual_seed(ctx.seed)
            with ctx.progress(len(train) + len(val), "keyframe_mlp features") as bar:
                train_table = self._table(train, f"{train.name} (train)", bar.advance)
                val_table = self._table(val, f"{val.name} (val)", bar.advance) \
                    if len(val) else None
            self.standardiser = Standardiser.fit(train_table.x)
            for table in (train_table, val_table):
                if table is not None:
                    self.standardiser.apply_(table.x)
            self.nets = []
            train_keys = torch.empty((train_table.n_clips, 0), dtype=torch.int64)
            val_keys = torch.empty((val_table.n_clips if val_table else 0, 0),
                                   dtype=torch.int64)
            for stage in range(1, self.config.stages + 1):
                net = self._new_net(stage)
                train_data = self._stage_data(train_table, train_keys)
                val_data = self._stage_data(val_table, val_keys) if val_table else None
                train_stage(net, stage, train_data, val_data, self.num_classes, self.config,
                            ctx, generator)
                self.nets.append(net)
                if stage < self.config.stages:
                    train_keys = self._next_keys(net, train_data, train_keys)
                    if val_data is not None:
                        val_keys = self._next_keys(net, val_data, val_keys)

    @staticmethod
    def _stage_data(table: FrameTable, keys: torch.Tensor) -> StageData:
        return StageData(table.x, stage_rows(keys, table.clip_of), table.frame_labels(),
                         table.clip_of, table.n_clips)

    def _next_keys(self, net: StageMLP, data: StageData, keys: torch.Tensor) -> torch.Tensor:
        out = run_stage(net, data.x, data.rows, data.labels)
        score = out.label_prob if self.config.train_key == "true_class" else out.max_prob
        best = segment_best(score, data.clip_of, data.n_clips)
        return torch.cat([keys, best.unsqueeze(1)], dim=1)

    # --- inference ----------------------------------------------------------------------
    def _check_trained(self) -> None:
        if not self.nets or self.standardiser is None:
            raise SlrbenchError("keyframe_mlp: the model is not trained; call fit() or load "
                                "a saved model first")

    def _cascade(self, clips: ClipSet | Unlabelled, labels: np.ndarray | None
                 ) -> tuple[CascadeResult, np.ndarray]:
        """Run the cascade over batches of clips; returns the results and n_frames."""
        self._check_trained()
        with torch_compute(self.config.threads):
            return self._cascade_batches(clips, labels)

    def _cascade_batches(self, clips: ClipSet | Unlabelled, labels: np.ndarray | None
                         ) -> tuple[CascadeResult, np.ndarray]:
        fps, n_frames = _frame_counts(clips)
        parts: list[CascadeResult] = []
        step = self.config.infer_batch_clips
        for start in range(0, len(clips), step):
            index = np.arange(start, min(start + step, len(clips)))
            batch = clips if len(index) == len(clips) else clips.subset(index)
            table = build_table(batch, fps[index], self.config, "prediction clips",
                                n_frames=n_frames[index])
            self.standardiser.apply_(table.x)
            batch_labels = None if labels is None else torch.from_numpy(labels[index])
            result = run_cascade(self.nets, table.x, table.clip_of, table.n_clips,
                                 batch_labels)
            result.frames = result.frames - table.offsets[:-1].unsqueeze(1)   # within clip
            parts.append(result)
        if not parts:
            empty = torch.empty((0, len(self.nets)))
            return CascadeResult(empty.long(), empty, empty, torch.empty(0, dtype=torch.int64),
                                 torch.empty((0, self.num_classes))), n_frames
        joined = CascadeResult(*(torch.cat([getattr(p, f) for p in parts])
                                 for f in ("frames", "scores", "top", "chosen", "proba")))
        return joined, n_frames

    def predict_proba(self, clips: Unlabelled) -> np.ndarray:
        """Class probabilities at the frame of the winning stage, chosen without labels."""
        result, _ = self._cascade(clips, labels=None)
        return result.proba.numpy().astype(np.float32)

    def explain(self, clips: Unlabelled) -> pd.DataFrame:
        """Per clip: each stage's chosen frame and its highest probability, the winner."""
        result, n_frames = self._cascade(clips, labels=None)
        columns: dict[str, np.ndarray] = {}
        for k in range(len(self.nets)):
            columns[f"stage{k + 1}_frame"] = result.frames[:, k].numpy()
            columns[f"stage{k + 1}_prob"] = result.top[:, k].numpy().astype(np.float64)
        columns["chosen_stage"] = result.chosen.numpy() + 1
        columns["n_frames"] = np.asarray(n_frames, dtype=np.int64)
        return pd.DataFrame(columns)

    def oracle_predict_proba(self, clips: ClipSet) -> np.ndarray | None:
        """The original study's test protocol, which reads the test labels.

        Returns None unless ``selection="oracle"``. Otherwise each stage's frame is the one
        with the highest probability of the clip's TRUE label, the stage answers with its
        argmax class at that frame, and the stage whose frame gives the true label the
        higher probability wins. The returned row is that frame's class probabilities, so
        its argmax is the original's answer. The harness reports it only as test_oracle_*.
        """
        if self.config.selection != "oracle":
            return None
        result, _ = self._cascade(clips, labels=clips.labels)
        return result.proba.numpy().astype(np.float32)

    def num_parameters(self) -> int:
        return sum(p.numel() for net in self.nets for p in net.parameters())

    # --- persistence --------------------------------------------------------------------
    def save(self, path: Path) -> None:
        self._check_trained()
        save_model(Path(path), self.num_classes, self.standardiser.mean, self.standardiser.std,
                   [net.state_dict() for net in self.nets])

    @classmethod
    def load(cls, path: Path, config: KeyframeMLPConfig, info: ClipSetInfo) -> "KeyframeMLP":
        mean, std, states = load_model(Path(path), info.num_classes)
        model = cls(config, info.vocab)
        model.standardiser = Standardiser(mean, std)
        for stage, state in enumerate(states, start=1):
            net = model._new_net(stage)
            try:
                net.load_state_dict(state)
            except RuntimeError as error:
                raise BadModelDir(f"{path}/mlp{stage}.pt does not match the saved config "
                                  f"({str(error).splitlines()[0]}); save the model again") \
                    from None
            net.eval()
            model.nets.append(net)
        return model
