"""Recognising signs in new files with a trained model from an MLflow run."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from harness.data.clips import ArrayLandmarks, ClipSet
from harness.errors import BadConfig, BadVideo
from harness.extract.pipeline import extract_videos
from harness.data.landmark_files import read_landmark_file
from harness.run.tracking import LoadedModel, opened_model
from harness.data.index import LANDMARK_SUFFIXES, VIDEO_SUFFIXES
from harness.extract.video_io import frame_files


def clipset_from_arrays(arrays: list[np.ndarray], vocab, fps: float = 30.0) -> ClipSet:
    meta = pd.DataFrame({"clip_id": [f"input{i}" for i in range(len(arrays))], "gloss": "",
                         "label": -1, "split": "test", "signer": "", "fps": fps,
                         "n_frames": [len(a) for a in arrays], "source": ""})
    return ClipSet(name="input", meta=meta, vocab=tuple(vocab),
                   landmarks=ArrayLandmarks(arrays))


def rank(loaded: LoadedModel, arrays: list[np.ndarray], top: int) -> list[list[tuple[str, float]]]:
    clips = clipset_from_arrays(arrays, loaded.vocab)
    return top_glosses(loaded.model.predict_proba(clips.unlabelled()), loaded.vocab, top)


def is_video(path: Path) -> bool:
    """A video file, or a folder of JPEG/PNG frames (one clip, the GSL layout)."""
    if path.is_dir():
        return bool(frame_files(path))
    return path.suffix.lower() in VIDEO_SUFFIXES


def expand_inputs(paths: Iterable[Path]) -> list[Path]:
    """A folder that is not itself a frame folder stands for the clips inside it."""
    expanded = []
    for path in map(Path, paths):
        if path.is_dir() and not is_video(path):
            inside = sorted(p for p in path.iterdir()
                            if p.suffix.lower() in LANDMARK_SUFFIXES + VIDEO_SUFFIXES
                            or (p.is_dir() and is_video(p)))
            if not inside:
                raise BadVideo(f"{path}: no videos, frame folders or landmark files "
                               f"({', '.join(LANDMARK_SUFFIXES + VIDEO_SUFFIXES)}) inside")
            expanded.extend(inside)
        else:
            expanded.append(path)
    return expanded


def read_inputs(paths: Iterable[Path], verbose: bool = False) -> list[tuple[Path, np.ndarray]]:
    """Landmarks of every input: read from landmark files, extracted from videos."""
    paths = expand_inputs(paths)
    videos = [p for p in paths if is_video(p)]
    extracted = dict(zip(videos, extract_videos(videos, verbose))) if videos else {}
    return [(p, extracted[p] if p in extracted else read_landmark_file(p)) for p in paths]


def top_glosses(proba: np.ndarray, vocab, top: int) -> list[list[tuple[str, float]]]:
    return [[(vocab[i], float(row[i])) for i in np.argsort(-row)[:top]] for row in proba]


def rank_videos(loaded: LoadedModel, paths: list[Path], top: int) -> list[list[tuple[str, float]]]:
    """For a model trained on video: decode the clips, no landmarks involved."""
    from harness.util.paths import cache_dir
    from harness.extract.video_cache import clipset_from_videos
    not_video = [p for p in paths if not is_video(p)]
    if not_video:
        raise BadVideo(f"{not_video[0]}: this run's model reads videos, not landmark files")
    clips = clipset_from_videos(paths, loaded.vocab, cache_dir() / "videos")
    return top_glosses(loaded.model.predict_proba(clips.unlabelled()), loaded.vocab, top)


def predict_files(run_id: str, paths: Iterable[Path], tracking_uri: str | None = None,
                  top: int = 5, verbose: bool = False
                  ) -> Iterator[tuple[Path, list[tuple[str, float]]]]:
    if top < 1:
        raise BadConfig(f"--top {top}: show at least 1 gloss")
    with opened_model(run_id, tracking_uri) as loaded:
        if loaded.info.get("inputs") == "video":
            expanded = expand_inputs(paths)
            ranked = rank_videos(loaded, expanded, top)
        else:
            inputs = read_inputs(paths, verbose)
            expanded = [path for path, _ in inputs]
            ranked = rank(loaded, [array for _, array in inputs], top)
    yield from zip(expanded, ranked)
