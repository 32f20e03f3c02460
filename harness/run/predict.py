"""Recognising signs in new files with a trained model from an MLflow run."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from harness.data.clips import PARTS, ArrayLandmarks, ClipSet
from harness.errors import BadConfig, BadLandmarks, BadSavedModel, BadVideo
from harness.extract.pipeline import extract_videos
from harness.data.hands import DEFAULT_RULE, RULES
from harness.data.landmark_files import read_landmark_file
from harness.run.resources import use_threads
from harness.run.tracking import DATA_OPTION, LoadedModel, client, opened_model
from harness.data.index import LANDMARK_SUFFIXES, VIDEO_SUFFIXES
from harness.extract.video_io import frame_files


def clipset_from_arrays(arrays: list[np.ndarray], vocab, fps: float = 30.0) -> ClipSet:
    meta = pd.DataFrame({"clip_id": [f"input{i}" for i in range(len(arrays))], "gloss": "",
                         "label": -1, "split": "test", "signer": "", "fps": fps,
                         "n_frames": [len(a) for a in arrays], "source": ""})
    return ClipSet(name="input", meta=meta, vocab=tuple(vocab),
                   landmarks=ArrayLandmarks(arrays))


def as_trained(array: np.ndarray, lacks, where: str) -> np.ndarray:
    """A clip as the model's training clips looked: the parts they lacked (signo and WLASL
    hold hands only) blanked.

    A model never saw those parts and reads them wrongly: given the pose and face of a
    Holistic clip (a video, an asl-signs or .pose file), signo's pooled_logreg anchored the
    hands at the shoulders and answered most of signo's own test signs wrongly.
    """
    blanked = [part for part in lacks if part in PARTS]
    if not any(np.isfinite(array[:, PARTS[part]]).any() for part in blanked):
        return array
    array = array.copy()
    for part in blanked:
        array[:, PARTS[part]] = np.nan
    if np.isnan(array).all():
        read = [part.replace("_", " ") for part in PARTS if part not in blanked]
        raise BadLandmarks(f"{where}: no {' or '.join(read)} landmark in any frame, and this "
                           f"model was trained on those alone (its training data had no "
                           f"{', '.join(part.replace('_', ' ') for part in blanked)}); drop "
                           "the clip or use a model trained on what it holds")
    return array


def rank(loaded: LoadedModel, arrays: list[np.ndarray], top: int,
         names: list[str] | None = None) -> list[list[tuple[str, float]]]:
    names = names or [f"clip {i}" for i in range(len(arrays))]
    lacks = loaded.info.get("lacks") or ()
    arrays = [as_trained(array, lacks, name) for array, name in zip(arrays, names)]
    clips = clipset_from_arrays(arrays, loaded.vocab)
    return top_glosses(probabilities(loaded, clips, names), loaded.vocab, top)


def probabilities(loaded: LoadedModel, clips: ClipSet, names: list[str]) -> np.ndarray:
    """The model's probabilities for ``clips``: one finite row per clip, one column per sign
    of its vocabulary. Its run held its test predictions to that, so a saved model that
    fails it was changed since (weights of another vocabulary printed the glosses of the
    wrong classes, or an IndexError) or met a clip its plugin cannot take ("nan%")."""
    proba = np.asarray(loaded.model.predict_proba(clips.unlabelled()), dtype=np.float64)
    expected = (len(clips), len(loaded.vocab))
    if proba.shape != expected:
        raise BadSavedModel(f"the saved {loaded.spec.name} model gave probabilities of shape "
                            f"{proba.shape}, expected {expected} (a row per clip, a column "
                            "per sign of its slrbench.json): its weights and vocabulary do not "
                            "belong together; fetch the run's artifacts again or train the "
                            "model again")
    broken = np.flatnonzero(~np.isfinite(proba).all(axis=1))
    if len(broken):
        raise BadSavedModel(f"{names[broken[0]]}: the saved {loaded.spec.name} model gave NaN "
                            "or inf probabilities for this clip (damaged weights, or a clip "
                            "its plugin cannot take); fetch the run's artifacts again, or "
                            "report it with the clip")
    return proba


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
            # hidden files left out: a folder copied from a Mac holds a "._clip.npy" of
            # metadata beside each clip, and one of them failed the whole call
            inside = sorted(p for p in path.iterdir() if not p.name.startswith(".") and (
                p.suffix.lower() in LANDMARK_SUFFIXES + VIDEO_SUFFIXES
                or (p.is_dir() and is_video(p))))
            if not inside:
                raise BadVideo(f"{path}: no videos, frame folders or landmark files "
                               f"({', '.join(LANDMARK_SUFFIXES + VIDEO_SUFFIXES)}) inside")
            expanded.extend(inside)
        else:
            expanded.append(path)
    return expanded


def read_inputs(paths: Iterable[Path], verbose: bool = False, rule: str = DEFAULT_RULE
                ) -> list[tuple[Path, np.ndarray]]:
    """Landmarks of every input: read from landmark files (the hands of Hands-layout files
    placed by ``rule``), extracted from videos."""
    paths = expand_inputs(paths)
    videos = [p for p in paths if is_video(p)]
    extracted = dict(zip(videos, extract_videos(videos, verbose))) if videos else {}
    return [(p, extracted[p] if p in extracted else read_landmark_file(p, rule)) for p in paths]


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
    return top_glosses(probabilities(loaded, clips, [str(p) for p in paths]), loaded.vocab, top)


def hand_rule(run_id: str, uri: str | None = None) -> str:
    """The rule (:mod:`harness.data.hands`) that placed the hands of the Hands-layout files
    the run trained on: its ``--data-option hand_slots`` (the wlasl dataset's), else the
    default, by which every other dataset reads such files. ``predict`` reads new files by
    it: the model learned each hand in the slot its training files' rule put it in."""
    mlflow_client, _ = client(uri)
    rule = mlflow_client.get_run(run_id).data.params.get(f"{DATA_OPTION}hand_slots")
    return rule if rule in RULES else DEFAULT_RULE


def predict_files(run_id: str, paths: Iterable[Path], tracking_uri: str | None = None,
                  top: int = 5, verbose: bool = False, threads: int | None = None
                  ) -> Iterator[tuple[Path, list[tuple[str, float]]]]:
    if top < 1:
        raise BadConfig(f"--top {top}: show at least 1 gloss")
    use_threads(threads)
    with opened_model(run_id, tracking_uri) as loaded:
        if loaded.info.get("inputs") == "video":
            expanded = expand_inputs(paths)
            ranked = rank_videos(loaded, expanded, top)
        else:
            inputs = read_inputs(paths, verbose, hand_rule(run_id, tracking_uri))
            expanded = [path for path, _ in inputs]
            ranked = rank(loaded, [array for _, array in inputs], top,
                          [str(path) for path in expanded])
    yield from zip(expanded, ranked)
