"""Clips, clip sets and the landmark layout every model sees.

One clip is a float32 array ``[T, 543, 3]`` in MediaPipe Holistic order (pose, face, left
hand, right hand); a part MediaPipe did not find in a frame is NaN, never zero.

A :class:`ClipSet` is a table of clip metadata plus the landmarks (or videos) behind it.
Models get labelled ClipSets for training and :class:`Unlabelled` views for prediction: the
view has no gloss, label, signer or source path, so no model can see a test label.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np
import pandas as pd

N_LANDMARKS = 543
POSE = slice(0, 33)
FACE = slice(33, 501)
LEFT_HAND = slice(501, 522)
RIGHT_HAND = slice(522, 543)
PARTS = {"pose": POSE, "face": FACE, "left_hand": LEFT_HAND, "right_hand": RIGHT_HAND}

# Pose landmark indices that matter for normalisation and mirroring; the pose's wrists are
# where Holistic's left and right hand slots attach to the arms.
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12
LEFT_WRIST, RIGHT_WRIST = 15, 16

# Within each 21-point hand: a finger joint's bend is the angle between b - a and c - b for
# each (a, b, c), two joints per finger, thumb to little finger; a finger points from its
# base to its tip.
FINGER_JOINTS = ((4, 3, 2), (3, 2, 0), (8, 6, 5), (6, 5, 0), (12, 10, 9), (10, 9, 0),
                 (16, 14, 13), (14, 13, 0), (20, 18, 17), (18, 17, 0))
FINGER_TIPS = (4, 8, 12, 16, 20)
FINGER_BASES = (2, 5, 9, 13, 17)
# The palm's corners (the plane through them is the palm's), and the index fingertip.
HAND_WRIST, INDEX_BASE, PINKY_BASE = 0, FINGER_BASES[1], FINGER_BASES[4]
INDEX_TIP = FINGER_TIPS[1]

# Columns every adapter fills; more (video, start_time, end_time, session, ...) may follow.
META_COLUMNS = ("clip_id", "gloss", "label", "split", "signer", "fps", "n_frames", "source")
SPLITS = ("train", "val", "test")


class LabelAccessError(PermissionError):
    """A model tried to read a label (or anything derived from one) at prediction time."""


@dataclass
class ClipSet:
    """Clips of one dataset (or one split of it): metadata rows + a way to fetch each clip.

    ``landmarks`` is an object with ``clip(i) -> [T, 543, 3] float32`` over the *full*
    dataset (usually a memory-mapped :class:`harness.data.store.LandmarkStore`); ``rows`` maps
    this set's positions to the store's positions, so subsets cost nothing.
    ``videos`` (optional) gives ``video(i) -> uint8 [T, H, W, 3]`` the same way.
    """

    name: str
    meta: pd.DataFrame
    vocab: tuple[str, ...]
    landmarks: object | None = None
    rows: np.ndarray | None = None
    videos: object | None = None
    lacks: tuple[str, ...] = ()
    notes: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.meta = self.meta.reset_index(drop=True)
        if self.rows is None:
            self.rows = np.arange(len(self.meta), dtype=np.int64)
        missing = [c for c in META_COLUMNS if c not in self.meta.columns]
        if missing:
            raise ValueError(f"ClipSet {self.name!r} metadata lacks columns {missing}")

    # --- size and labels -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.meta)

    @property
    def num_classes(self) -> int:
        return len(self.vocab)

    @property
    def labels(self) -> np.ndarray:
        return self.meta["label"].to_numpy(dtype=np.int64)

    @property
    def clip_ids(self) -> list[str]:
        return self.meta["clip_id"].astype(str).tolist()

    # --- data ------------------------------------------------------------------------
    @property
    def has_landmarks(self) -> bool:
        return self.landmarks is not None

    @property
    def has_videos(self) -> bool:
        return self.videos is not None

    def clip(self, i: int) -> np.ndarray:
        """Landmarks of the i-th clip of this set, float32 ``[T, 543, 3]``."""
        if self.landmarks is None:
            raise LookupError(f"dataset {self.name!r} has no landmarks (video-only); "
                              "run `slrbench data extract` or use a video model")
        return self.landmarks.clip(int(self.rows[i]))

    def video(self, i: int) -> np.ndarray:
        """Decoded frames of the i-th clip, uint8 ``[T, H, W, 3]`` (RGB)."""
        if self.videos is None:
            raise LookupError(f"dataset {self.name!r} has no videos")
        return self.videos.video(int(self.rows[i]))

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self.clip(i)

    # --- views -----------------------------------------------------------------------
    def subset(self, index: Sequence[int] | np.ndarray) -> "ClipSet":
        index = np.asarray(index)
        index = np.flatnonzero(index) if index.dtype == bool else index.astype(np.int64)
        return ClipSet(name=self.name, meta=self.meta.iloc[index], vocab=self.vocab,
                       landmarks=self.landmarks, rows=self.rows[index], videos=self.videos,
                       lacks=self.lacks, notes=self.notes)

    def split(self, name: str) -> "ClipSet":
        return self.subset((self.meta["split"] == name).to_numpy())

    def unlabelled(self) -> "Unlabelled":
        return Unlabelled(self)

    @property
    def info(self) -> "ClipSetInfo":
        return ClipSetInfo(name=self.name, num_classes=len(self.vocab), vocab=self.vocab,
                           has_landmarks=self.has_landmarks, has_videos=self.has_videos,
                           lacks=self.lacks)


@dataclass(frozen=True)
class ClipSetInfo:
    """What a model may know about the dataset when it is built: no clip, no label."""

    name: str
    num_classes: int
    vocab: tuple[str, ...]
    has_landmarks: bool = True
    has_videos: bool = False
    lacks: tuple[str, ...] = ()


class Unlabelled:
    """A label-free view of a ClipSet, the only thing a model sees at prediction time.

    It exposes the clips' data, frame rate and frame count, through closures over the
    clip sources: no attribute leads back to the metadata. Reading ``labels``, ``meta``,
    glosses, signers, clip ids or file paths raises :class:`LabelAccessError`.
    """

    __slots__ = ("_clip", "_video", "_fps", "_n_frames", "_num_classes", "_kinds")

    def __init__(self, clips: ClipSet):
        landmarks, videos, rows = clips.landmarks, clips.videos, np.array(clips.rows)
        self._init(
            (lambda i: landmarks.clip(int(rows[i]))) if landmarks is not None else None,
            (lambda i: videos.video(int(rows[i]))) if videos is not None else None,
            clips.meta["fps"].to_numpy(dtype=np.float64),
            clips.meta["n_frames"].to_numpy(dtype=np.int64), clips.num_classes)

    def _init(self, clip, video, fps, n_frames, num_classes) -> None:
        for name, value in (("_clip", clip), ("_video", video), ("_fps", fps),
                            ("_n_frames", n_frames), ("_num_classes", num_classes)):
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return len(self._fps)

    def clip(self, i: int) -> np.ndarray:
        if self._clip is None:
            raise LookupError("these clips have no landmarks (video-only dataset)")
        return self._clip(i)

    def video(self, i: int) -> np.ndarray:
        if self._video is None:
            raise LookupError("these clips have no videos")
        return self._video(i)

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self.clip(i) for i in range(len(self)))

    @property
    def fps(self) -> np.ndarray:
        return self._fps.copy()

    @property
    def n_frames(self) -> np.ndarray:
        return self._n_frames.copy()

    @property
    def has_landmarks(self) -> bool:
        return self._clip is not None

    @property
    def has_videos(self) -> bool:
        return self._video is not None

    @property
    def num_classes(self) -> int:
        return self._num_classes

    def subset(self, index: Sequence[int] | np.ndarray) -> "Unlabelled":
        index = np.asarray(index)
        index = np.flatnonzero(index) if index.dtype == bool else index.astype(np.int64)
        view = object.__new__(Unlabelled)
        clip, video = self._clip, self._video
        view._init((lambda i: clip(int(index[i]))) if clip is not None else None,
                   (lambda i: video(int(index[i]))) if video is not None else None,
                   self._fps[index], self._n_frames[index], self._num_classes)
        return view

    def __getattr__(self, name: str):
        raise LabelAccessError(
            f"a model tried to read {name!r} at prediction time; test clips carry no labels, "
            "glosses, signers or paths (see harness.data.clips.Unlabelled)")

    def __setattr__(self, name: str, value) -> None:
        raise LabelAccessError("Unlabelled views are read-only")


class ArrayLandmarks:
    """Landmarks held in memory (a list of arrays): for synthetic data and small tests."""

    def __init__(self, arrays: Sequence[np.ndarray]):
        self.arrays = [np.asarray(a, dtype=np.float32) for a in arrays]

    def clip(self, i: int) -> np.ndarray:
        return self.arrays[i]

    def __len__(self) -> int:
        return len(self.arrays)


def relabel(meta: pd.DataFrame, vocab: Sequence[str]) -> pd.DataFrame:
    """Set ``label`` from ``gloss`` by position in ``vocab``; raises on an unknown gloss."""
    index = {g: i for i, g in enumerate(vocab)}
    unknown = sorted(set(meta["gloss"]) - set(index))
    if unknown:
        raise ValueError(f"glosses not in the vocabulary: {unknown[:5]}")
    meta = meta.copy()
    meta["label"] = meta["gloss"].map(index).astype(np.int64)
    return meta
