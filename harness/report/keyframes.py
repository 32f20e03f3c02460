"""Key-frame models: a gallery of the frames each stage chose, and honest vs oracle accuracy.

A run belongs here when its ``predictions.csv`` has ``stage1_frame`` columns (written by
the model's ``explain``). The landmarks are not in the run: the gallery reloads the test
clips from the dataset with the run's vocabulary and split seed, checks that the split
hash matches the run's, and draws the chosen frames as skeletons.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.report.collect import Configuration
from harness.report.figures import Image, figure, png
from harness.util.stats import MeanStd
from harness.report.skeleton import clip_bounds, draw_frame

STAGE_COLUMN = re.compile(r"^stage(\d+)_frame$")
RIGHT, WRONG = "#2e7d32", "#c62828"


@dataclass
class StageChoice:
    stage: int
    frame: int
    probability: float
    chosen: bool


@dataclass
class GalleryClip:
    clip_id: str
    true: str
    predicted: str
    correct: bool
    probability: float
    n_frames: int
    stages: list[StageChoice]
    image: Image


@dataclass
class Gallery:
    title: str
    run_id: str
    seed: int | None
    clips: list[GalleryClip] = field(default_factory=list)
    problem: str | None = None


@dataclass
class OracleRow:
    variant: str
    honest: MeanStd
    oracle: MeanStd

    @property
    def gap_points(self) -> float:
        return 100 * (self.oracle.mean - self.honest.mean)


def stage_numbers(predictions: pd.DataFrame) -> list[int]:
    found = (STAGE_COLUMN.match(c) for c in predictions.columns)
    return sorted(int(m.group(1)) for m in found if m)


def is_keyframe_run(predictions: pd.DataFrame | None) -> bool:
    return predictions is not None and bool(stage_numbers(predictions))


def oracle_rows(configurations: list[Configuration]) -> list[OracleRow]:
    return [OracleRow(c.variant, c.stats["top1"], c.stats["oracle_top1"])
            for c in configurations if c.stats["oracle_top1"].known]


def pick_clips(predictions: pd.DataFrame, count: int) -> pd.DataFrame:
    """Deterministic sample: the most confident mistakes, then correct clips spread evenly."""
    wrong = predictions[~predictions["correct"].astype(bool)]
    wrong = wrong.sort_values(["probability", "clip_id"], ascending=[False, True])
    take_wrong = wrong.head(count // 2)
    right = predictions[predictions["correct"].astype(bool)].sort_values("clip_id")
    need = count - len(take_wrong)
    if len(right) > need > 0:
        right = right.iloc[np.linspace(0, len(right) - 1, need).round().astype(int)]
    return pd.concat([right.head(max(need, 0)), take_wrong])


class ClipLoader:
    """Reloads a run's dataset once per (dataset, vocab, split seed) and finds test clips."""

    def __init__(self):
        self._cache: dict[tuple, tuple[object, str] | str] = {}

    def clips(self, dataset: str, vocab: int, split_seed: int, split_hash: str,
              data_dir: str = "", options: dict | None = None):
        """(ClipSet, None) or (None, why it could not be loaded)."""
        key = (dataset, vocab, split_seed, data_dir, tuple(sorted((options or {}).items())))
        if key not in self._cache:
            self._cache[key] = self._load(*key)
        loaded = self._cache[key]
        if isinstance(loaded, str):
            return None, loaded
        clips, loaded_hash = loaded
        if loaded_hash != split_hash:
            return None, (f"reloading {dataset} (vocabulary {vocab}, split seed {split_seed}) "
                          f"gives split {loaded_hash[:12]}, not the run's {split_hash[:12]}: "
                          "its files or its --data-option values differ from the run's")
        return clips, None

    @staticmethod
    def _load(dataset: str, vocab: int, split_seed: int, data_dir: str, options: tuple):
        from harness.run.loading import load_clipset, make_request
        try:
            clips, manifest = load_clipset(dataset, make_request(
                data_dir=data_dir or None, vocab=vocab, split_seed=split_seed,
                options=dict(options)))
        except Exception as error:  # noqa: BLE001 - any failure becomes a note, not a crash
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            return f"could not reload dataset {dataset!r} to draw its clips: {first}"
        if not clips.has_landmarks:
            return f"dataset {dataset!r} has no landmarks to draw"
        return clips, manifest.sha256


def stage_label(stage: int) -> str:
    return f"MLP{stage}"


def draw_clip(clip: np.ndarray, stages: list[StageChoice], correct: bool) -> Image:
    bounds = clip_bounds(clip)
    with figure(1.75 * len(stages), 2.05, 1, len(stages)) as (fig, axes):
        for axis, choice in zip(axes.flat, stages):
            draw_frame(axis, clip, choice.frame, bounds)
            mark = "  (answer)" if choice.chosen else ""
            axis.set_title(f"{stage_label(choice.stage)}: frame {choice.frame + 1}/{len(clip)}"
                           f"\np = {choice.probability:.2f}{mark}", fontsize=8,
                           color="#1b1b1b" if choice.chosen else "#666666")
            if choice.chosen:
                for spine in axis.spines.values():
                    spine.set_color(RIGHT if correct else WRONG)
                    spine.set_linewidth(2.2)
        fig.tight_layout(w_pad=0.6)
        return png(fig)


def gallery(title: str, run: pd.Series, predictions: pd.DataFrame, loader: ClipLoader,
            count: int) -> Gallery:
    seed = int(run["seed"]) if pd.notna(run["seed"]) else None
    result = Gallery(title=title, run_id=str(run["run_id"]), seed=seed)
    vocab = int(run["vocab"]) if pd.notna(run["vocab"]) else None
    split_seed = int(run["split_seed"]) if pd.notna(run["split_seed"]) else 0
    clips, problem = loader.clips(str(run["dataset"]), vocab, split_seed, str(run["split_hash"]),
                                  str(run.get("data_dir", "") or ""),
                                  run.get("data_options") or {})
    if clips is None:
        result.problem = problem
        return result
    position = {cid: i for i, cid in enumerate(clips.clip_ids)}
    stages = stage_numbers(predictions)
    for _, row in pick_clips(predictions, count).iterrows():
        index = position.get(str(row["clip_id"]))
        if index is None:
            result.problem = (f"clip {row['clip_id']} of the run is not in the reloaded "
                              f"{run['dataset']} data")
            continue
        clip = clips.clip(index)
        chosen = int(row["chosen_stage"]) if "chosen_stage" in row else stages[-1]
        choices = [StageChoice(k, int(row[f"stage{k}_frame"]), float(row[f"stage{k}_prob"]),
                               k == chosen) for k in stages]
        if any(not 0 <= c.frame < len(clip) for c in choices):
            result.problem = (f"clip {row['clip_id']}: a chosen frame lies outside its "
                              f"{len(clip)} frames; the dataset changed since the run")
            continue
        correct = bool(row["correct"])
        result.clips.append(GalleryClip(
            clip_id=str(row["clip_id"]), true=str(row["gloss"]),
            predicted=str(row["predicted_gloss"]), correct=correct,
            probability=float(row["probability"]), n_frames=len(clip), stages=choices,
            image=draw_clip(clip, choices, correct)))
    return result
