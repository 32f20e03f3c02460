"""Landmark extractors: frames in, float32 ``[T, 543, 3]`` out (MediaPipe Holistic order).

An extractor is anything with ``__call__(frames) -> array`` and ``close()``; the pipeline in
:mod:`harness.extract.pipeline` only sees this protocol, so a MediaPipe Tasks landmarker (or another
pose model converted to the layout) can be added beside :class:`HolisticExtractor` and
named in :data:`EXTRACTORS`.
"""
from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from typing import Callable, Iterable, Protocol, runtime_checkable

import numpy as np

from harness.data.clips import FACE, LEFT_HAND, N_LANDMARKS, POSE, RIGHT_HAND
from harness.errors import BadConfig, BadVideo


@runtime_checkable
class Extractor(Protocol):
    """Turns one clip's frames (uint8 RGB ``[H, W, 3]`` each) into landmarks."""

    name: str

    def __call__(self, frames: Iterable[np.ndarray]) -> np.ndarray: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class HolisticConfig:
    """MediaPipe Holistic (legacy ``mp.solutions``) settings.

    ``model_complexity`` 1 uses the pose model shipped inside the mediapipe wheel;
    0 and 2 would download their model at first use, which must never happen here.
    """

    model_complexity: int = 1
    static_image_mode: bool = False
    smooth_landmarks: bool = True
    refine_face_landmarks: bool = False
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5


@contextlib.contextmanager
def _without_tensorflow_docs():
    # mediapipe.tasks imports tensorflow.tools.docs only to decorate its API docs when
    # tensorflow is installed: seconds of CPU and a page of TF log lines in every worker.
    # Marking that one module absent makes mediapipe fall back to its own no-op, and is
    # undone at once so that tensorflow itself stays importable.
    name = "tensorflow.tools.docs"
    blocked = "tensorflow" not in sys.modules and name not in sys.modules
    if blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if blocked and sys.modules.get(name, 0) is None:
            del sys.modules[name]


def import_holistic():
    with _without_tensorflow_docs():
        from mediapipe.python.solutions import holistic
    return holistic


def _part(landmarks, count: int) -> np.ndarray | None:
    if landmarks is None:
        return None
    points = landmarks.landmark
    if len(points) != count:
        return None
    return np.array([(p.x, p.y, p.z) for p in points], dtype=np.float32)


def results_to_frame(results) -> np.ndarray:
    """One Holistic result -> ``[543, 3]`` with NaN for every part it did not find."""
    frame = np.full((N_LANDMARKS, 3), np.nan, dtype=np.float32)
    for part, source, count in ((POSE, results.pose_landmarks, 33),
                                (FACE, results.face_landmarks, 468),
                                (LEFT_HAND, results.left_hand_landmarks, 21),
                                (RIGHT_HAND, results.right_hand_landmarks, 21)):
        points = _part(source, count)
        if points is not None:
            frame[part] = points
    return frame


class HolisticExtractor:
    """MediaPipe Holistic on every frame, tracking within a clip, reset between clips."""

    name = "holistic"

    def __init__(self, config: HolisticConfig = HolisticConfig()):
        if config.model_complexity != 1:
            raise BadConfig("model_complexity must be 1: the other pose models are not in "
                             "the mediapipe wheel and would be downloaded")
        holistic = import_holistic()
        self.config = config
        self._solution = holistic.Holistic(
            static_image_mode=config.static_image_mode,
            model_complexity=config.model_complexity,
            smooth_landmarks=config.smooth_landmarks,
            refine_face_landmarks=config.refine_face_landmarks,
            min_detection_confidence=config.min_detection_confidence,
            min_tracking_confidence=config.min_tracking_confidence)
        self._used = False

    def process(self, frame: np.ndarray) -> np.ndarray:
        return results_to_frame(self._solution.process(frame))

    def __call__(self, frames: Iterable[np.ndarray]) -> np.ndarray:
        if self._used:
            # Holistic tracks from frame to frame: a new clip must not start from the
            # previous clip's last pose.
            self._solution.reset()
        self._used = True
        out = [self.process(frame) for frame in frames]
        if not out:
            raise BadVideo("the clip has no frames")
        return np.stack(out)

    def close(self) -> None:
        if self._solution is not None:
            self._solution.close()
            self._solution = None


EXTRACTORS: dict[str, Callable[[], Extractor]] = {"holistic": HolisticExtractor}


def make_extractor(name: str = "holistic") -> Extractor:
    if name not in EXTRACTORS:
        raise ValueError(f"unknown extractor {name!r}; known: {', '.join(EXTRACTORS)}")
    return EXTRACTORS[name]()
