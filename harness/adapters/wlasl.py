"""WLASL (Li et al., WACV 2020): word-level ASL, official vocabularies of 100/300/1000/2000.

Splits are WLASL's own files, read in either schema:

- ``nslt_<N>.json`` (what WLASL's training code reads): ``{video_id: {"subset":
  "train"|"val"|"test", "action": [class_index, start_frame, end_frame]}}``, glosses from
  ``wlasl_class_list.txt`` (``index<TAB>gloss``);
- ``WLASL_v0.3.json`` (the full release): a list of ``{"gloss", "instances": [{"video_id",
  "split", "signer_id", "frame_start", "frame_end", "fps", ...}]}``; the class index is the
  gloss's position in the list, and signer ids go into the clip metadata.

``--vocab N`` is WLASL-N: class index < N (100/300/1000/2000 are the official subsets; any
other N keeps the first N classes). The file read is ``--data-option split_file=NAME``,
else ``WLASL_v0.3.json`` if present, else the smallest ``nslt_<M>.json`` with M >= N (the
official files are nested). The split is used as given (train / val / test), never
re-drawn; it is not guaranteed signer-independent.

Landmarks, per video id: ``<data-dir>/landmarks/<id>.npy`` in MediaPipe Hands layout
``[T, 2, 21, 3]`` (``-1`` = no detection; the shipped files), or ``.npy`` ``[T, 543, 3]``
Holistic, an asl-signs-schema ``.parquet`` or a MediaPipe Holistic ``.pose``; or ``--data-dir`` is a store made by
``slrbench data extract --dataset wlasl`` from WLASL's videos (its split file is then
found beside the videos it was extracted from, or named with ``split_file=PATH``). Each clip
is cut to its annotated window: frames are 1-based and inclusive, ``end = -1`` runs to the
end, and a file shorter than its window keeps the frames it has.

Hand slots. MediaPipe Hands reports hands in detection order, not as left and right. The
rule ``side`` (default) places two hands by image x (image-right = the signer's left: WLASL's
camera is not mirrored) and a lone hand by the image half it is in; ``--data-option
hand_slots=track`` sends a lone hand to the slot whose wrist was last seen nearest. Both
rules are :mod:`harness.data.hands`, shared with every other reader of the Hands layout.
Measured on WLASL100 and WLASL300 (README), tracking was no better for the baseline or the
key-frame MLP, so the stateless rule is the default. The rule is logged with the run
(``wlasl.hand_slots``). A missing hand is NaN, never ``-1``.

Coverage (clips with landmarks / clips in the official split, per split and overall) is
printed and logged as ``coverage.*``. Classes of WLASL-N with no training clip present stop
the load with their names, unless ``--data-option drop_missing_classes=true`` drops them
from the vocabulary (logged as ``wlasl.dropped_classes``).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from harness.data.packing import (PartsSeen, cache_key, cached_store, file_fingerprint,
                                  open_dataset_store)
from harness.data.clips import PARTS, SPLITS, ClipSet
# hand_seen and place_hands are wlasl's rule by name, in its tests too: re-exported
from harness.data.hands import MISSING, RULES, hand_seen, place_hands  # noqa: F401
from harness.data.index import (LANDMARK_SUFFIXES, TO_THE_END, VIDEO_SUFFIXES, read_text,
                                windows)
from harness.data.landmark_files import read_landmark_file, read_npy
from harness.data.store import LandmarkStore, StoreWriter, is_store, validate_clip
from harness.errors import BadAnnotations, BadConfig, BadStore, DatasetNotFound
from harness.specs import DatasetRequest, DatasetSpec, ExtractionPlan, ExtractionRequest
from harness.util.config import config_from_dict
from harness.util.paths import shared_datasets
from harness.util.progress import bar

NAME = "wlasl"
FULL_RELEASE = "WLASL_v0.3.json"
CLASS_LIST = "wlasl_class_list.txt"
NSLT = re.compile(r"^nslt_(\d+)\.json$")
LANDMARKS_DIR = "landmarks"
VOCAB_SIZES = (100, 300, 1000, 2000)
DEFAULT_FPS = 25.0           # the rate WLASL_v0.3.json states for its instances
CACHE_VERSION = 2            # bump when the conversion changes
PROTOCOL = ("official WLASL split (train / val / test as given; not guaranteed "
            "signer-independent); WLASL-N = class index < N")
HOLISTIC_SOURCE = "as in the source (Holistic layout)"


@dataclass(frozen=True)
class WlaslOptions:
    """``--data-option key=value`` of the wlasl dataset."""

    split_file: str = ""             # a split file (name in --data-dir, or a path)
    hand_slots: Literal["side", "track"] = "side"
    drop_missing_classes: bool = False


def default_dir() -> Path:
    return shared_datasets() / "wlasl-hands"


def how_to_obtain(root: Path) -> str:
    return (f"--data-dir must be a folder with WLASL's split file ({FULL_RELEASE} or "
            f"nslt_<N>.json + {CLASS_LIST}) and {LANDMARKS_DIR}/<video_id>.npy|.parquet|.pose, or "
            "a store from `slrbench data extract --dataset wlasl --videos WLASL/videos`; "
            f"the shipped WLASL300 hand landmarks are in {default_dir()}")


# --- split files ------------------------------------------------------------------------
def check_video_id(video_id, where: str) -> str:
    """A video id names a file inside the dataset: a plain file name, nothing else."""
    text = str(video_id)
    if (not isinstance(video_id, (str, int)) or not text.strip() or text in (".", "..")
            or any(c in text for c in ("/", "\\", "\0")) or os.path.isabs(text)):
        raise BadAnnotations(f"{where}: video id {text!r} is not a plain file name (no '/', "
                             "'\\', '..' or absolute path); WLASL ids look like '00414'")
    return text


def _int(value, what: str, where: str) -> int:
    # JSON's Infinity and NaN are floats that int() cannot take
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or int(value) != value:
        raise BadAnnotations(f"{where}: {what} is {value!r}, expected an integer")
    return int(value)


def _split_name(value, where: str) -> str:
    if value not in SPLITS:
        raise BadAnnotations(f"{where}: split {value!r} is not one of {', '.join(SPLITS)}")
    return value


def _window(start: int, end: int, where: str) -> tuple[int, int]:
    if start < 1 or not (end == TO_THE_END or end >= start):
        raise BadAnnotations(f"{where}: frame window [{start}, {end}] is not 1-based with "
                             "start <= end (or end = -1 for the end of the video)")
    return start, end


def read_class_list(path: Path) -> list[str]:
    if not path.exists():
        raise DatasetNotFound(f"{path}: not found; nslt_<N>.json files name classes by index "
                              f"and need WLASL's {CLASS_LIST} (index<TAB>gloss) beside them")
    text = read_text(path, f"WLASL's {CLASS_LIST}: index<TAB>gloss lines")
    classes: dict[int, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.rstrip("\n").split("\t")
        if len(fields) != 2 or not fields[0].strip().isdigit() or not fields[1].strip():
            raise BadAnnotations(f"{path}: line {number} is {line!r}; expected "
                                 "class_index<TAB>gloss")
        classes[int(fields[0])] = fields[1].strip()
    if sorted(classes) != list(range(len(classes))):
        raise BadAnnotations(f"{path}: class indices are not 0..{len(classes) - 1} without gaps")
    glosses = [classes[i] for i in range(len(classes))]
    if len(set(glosses)) != len(glosses):
        raise BadAnnotations(f"{path}: a gloss is listed twice")
    return glosses


def _load_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadAnnotations(f"{path}: not valid JSON ({error}); re-download WLASL's split "
                             "file") from None


def _nslt_rows(data: dict, path: Path) -> list[dict]:
    rows = []
    for video_id, entry in data.items():
        where = f"{path}: video {video_id!r}"
        check_video_id(video_id, str(path))
        if not isinstance(entry, dict) or "subset" not in entry or "action" not in entry:
            raise BadAnnotations(f"{where}: expected {{\"subset\": ..., \"action\": [class, "
                                 "start, end]}}")
        action = entry["action"]
        if not isinstance(action, list) or len(action) != 3:
            raise BadAnnotations(f"{where}: action is {action!r}, expected [class, start, end]")
        label = _int(action[0], "the class index", where)
        start, end = _window(_int(action[1], "start", where), _int(action[2], "end", where),
                             where)
        rows.append({"clip_id": video_id, "label": label, "split": _split_name(
            entry["subset"], where), "signer": "unknown", "fps": DEFAULT_FPS,
            "start_frame": start, "end_frame": end})
    return rows


def _release_rows(data: list, path: Path) -> tuple[list[dict], list[str]]:
    rows, glosses = [], []
    for label, entry in enumerate(data):
        if not isinstance(entry, dict) or not isinstance(entry.get("gloss"), str) \
                or not entry["gloss"].strip() or not isinstance(entry.get("instances"), list):
            raise BadAnnotations(f"{path}: entry {label} is not {{\"gloss\": str, "
                                 "\"instances\": [...]}")
        glosses.append(entry["gloss"])
        for number, instance in enumerate(entry["instances"]):
            where = f"{path}: {entry['gloss']!r} instance {number}"
            if not isinstance(instance, dict) or "video_id" not in instance:
                raise BadAnnotations(f"{where}: no video_id")
            video_id = check_video_id(instance["video_id"], str(path))
            missing = [k for k in ("split", "frame_start", "frame_end") if k not in instance]
            if missing:
                raise BadAnnotations(f"{where}: lacks {missing}")
            start, end = _window(_int(instance["frame_start"], "frame_start", where),
                                 _int(instance["frame_end"], "frame_end", where), where)
            signer = instance.get("signer_id")
            fps = instance.get("fps")
            rows.append({"clip_id": video_id, "label": label,
                         "split": _split_name(instance["split"], where),
                         "signer": "unknown" if signer is None else str(signer),
                         "fps": float(fps) if isinstance(fps, (int, float))
                         and 0 < fps < math.inf else DEFAULT_FPS,
                         "start_frame": start, "end_frame": end})
    if len(set(glosses)) != len(glosses):
        raise BadAnnotations(f"{path}: a gloss is listed twice")
    return rows, glosses


def read_split_file(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Both schemas -> (one row per clip: clip_id, gloss, label, split, signer, fps,
    start_frame, end_frame; the vocabulary in class-index order)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFound(f"{path}: no such split file")
    data = _load_json(path)
    if isinstance(data, dict):
        rows = _nslt_rows(data, path)
        glosses = read_class_list(path.parent / CLASS_LIST)
    elif isinstance(data, list):
        rows, glosses = _release_rows(data, path)
    else:
        raise BadAnnotations(f"{path}: neither WLASL schema (an nslt object of video ids or "
                             f"the {FULL_RELEASE} list of glosses)")
    if not rows:
        raise BadAnnotations(f"{path}: lists no clip")
    meta = pd.DataFrame(rows)
    duplicated = meta["clip_id"][meta["clip_id"].duplicated()].tolist()
    if duplicated:
        raise BadAnnotations(f"{path}: video {duplicated[0]!r} is listed twice")
    bad = meta["label"][(meta["label"] < 0) | (meta["label"] >= len(glosses))]
    if len(bad):
        raise BadAnnotations(f"{path}: class index {int(bad.iloc[0])} is outside the "
                             f"{len(glosses)} classes")
    meta["gloss"] = [glosses[i] for i in meta["label"]]
    return meta, glosses


def choose_split_file(folders: list[Path], vocab: int | None, named: str = "") -> Path:
    """The split file for WLASL-``vocab`` in the first folder that has one."""
    if named:
        # the dataset's folders first: a file of that name in the working directory is
        # another copy (an absolute path is the same path either way)
        for candidate in [folder / named for folder in folders] + [Path(named)]:
            if candidate.is_file():
                return candidate
        raise DatasetNotFound(f"split_file={named}: not found (looked in "
                              f"{', '.join(map(str, folders))})")
    for folder in folders:
        if (folder / FULL_RELEASE).is_file():
            return folder / FULL_RELEASE
        sizes = sorted(int(m.group(1)) for p in (folder.iterdir() if folder.is_dir() else ())
                       if (m := NSLT.match(p.name)))
        if sizes:
            fitting = [m for m in sizes if vocab is not None and m >= vocab] or sizes[-1:]
            return folder / f"nslt_{fitting[0]}.json"
    raise DatasetNotFound(f"no WLASL split file ({FULL_RELEASE} or nslt_<N>.json) in "
                          f"{', '.join(map(str, folders))}; pass --data-option "
                          "split_file=PATH")


# --- reading one clip -------------------------------------------------------------------
def read_clip(path: Path, rule: str) -> tuple[np.ndarray, bool]:
    """One landmark file as Holistic ``[T, 543, 3]`` (NaN = missing); True when its hands
    came in detection order (and the slot rule placed them)."""
    if path.suffix.lower() != ".npy":
        return read_landmark_file(path), False
    array, placed = read_npy(path, rule)
    if placed:
        return array, True
    for part in PARTS.values():  # a part written as all -1 is a missing part, like NaN
        block = array[:, part]
        block[(block == MISSING).all(axis=(1, 2))] = np.nan
    # again: a file of nothing but -1 parts has nothing seen, and is refused as such
    return validate_clip(array, str(path)), False


# --- where the landmarks are --------------------------------------------------------------
@dataclass
class Source:
    """The landmarks behind the split file's video ids: per-video files or a store."""

    where: Path
    files: dict[str, Path]               # video id -> file (per-file sources)
    store: LandmarkStore | None = None
    store_rows: dict[str, int] | None = None
    trimmed: bool = False                # the store holds the annotated windows already
    cut: dict[str, tuple] | None = None  # and each clip's window it was cut to

    @property
    def ids(self) -> set[str]:
        return set(self.store_rows) if self.store is not None else set(self.files)

    def fingerprint(self, ids: list[str]) -> str:
        if self.store is not None:
            return "|".join(file_fingerprint(self.store.path / f)
                            for f in ("clips.parquet", "landmarks.f32"))
        digest = hashlib.sha256()
        for video_id in ids:
            digest.update(file_fingerprint(self.files[video_id]).encode())
        return digest.hexdigest()

    def read(self, video_id: str, rule: str) -> tuple[np.ndarray, bool, str]:
        """(Holistic clip, placed by the hand-slot rule, where it came from)."""
        if self.store is not None:
            return (np.array(self.store.clip(self.store_rows[video_id])), False,
                    f"{self.store.path}#{video_id}")
        return (*read_clip(self.files[video_id], rule), str(self.files[video_id]))


def landmark_files(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    if folder.is_dir():
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            stem, suffix = os.path.splitext(entry.name)
            if suffix.lower() in LANDMARK_SUFFIXES and stem not in files and entry.is_file():
                files[stem] = Path(entry.path)
    return files


def open_source(root: Path) -> tuple[Source, list[Path]]:
    """The landmark source at ``root`` and the folders to look for the split file in."""
    if is_store(root):
        store, meta = open_dataset_store(root, NAME, "WLASL", SPLITS, how_to_obtain(root))
        rows = {cid: i for i, cid in enumerate(meta["clip_id"].astype(str))}
        folders = [root]
        if "video" in meta and len(meta):
            # `data extract` read the split file beside the videos (or one folder up)
            videos = Path(os.path.commonpath(list(meta["video"].astype(str))))
            videos = videos if videos.is_dir() else videos.parent
            folders += [videos, videos.parent]
        trimmed = "start_frame" in meta
        cut = dict(zip(meta["clip_id"].astype(str), windows(meta))) if trimmed else None
        return Source(root, {}, store, rows, trimmed=trimmed, cut=cut), folders
    if not root.is_dir():
        raise DatasetNotFound(f"{root}: no such folder. {how_to_obtain(root)}")
    return Source(root / LANDMARKS_DIR, landmark_files(root / LANDMARKS_DIR)), [root]


# --- packing ----------------------------------------------------------------------------
def _pack(path: Path, rows: pd.DataFrame, vocab: list[str], source: Source, rule: str) -> None:
    """Cut, convert and write every present clip; clips with nothing left are noted.

    A file shorter than its window keeps the frames it has; one with no frame or no hand
    left in its window is left out and counted (manifest ``left_out``).
    """
    seen = PartsSeen()
    left_out: list[str] = []
    placed = 0
    cuts = [(0, None)] * len(rows) if source.trimmed else windows(rows)
    with StoreWriter(path, vocab, NAME, extra={}) as writer, \
            bar(len(rows), "packing WLASL landmarks") as progress:
        for row, cut in zip(rows.to_dict("records"), cuts):
            clip, by_rule, where = source.read(row["clip_id"], rule)
            window = clip[slice(*cut)]
            if len(window) == 0 or np.isnan(window).all():
                left_out.append(row["clip_id"])
            else:
                seen.add(window)
                writer.add({**row, "source": where}, window)
                placed += by_rule
            progress.advance()
        writer.lacks = seen.lacking()
        writer.extra.update({"left_out": left_out, "placed_by_rule": placed})


def _frames(cut: tuple) -> str:
    start, stop = cut
    return f"[{start + 1}, {TO_THE_END if stop is None else stop}]"


def _check_store_windows(source: Source, rows: pd.DataFrame, split_file: Path) -> None:
    """A store cut at extraction holds only its windows' frames: one the split file now
    windows otherwise cannot be cut again, and would be read as it was."""
    for video_id, cut in zip(rows["clip_id"], windows(rows)):
        if source.cut[video_id] != cut:
            raise BadStore(f"{source.where}: clip {video_id!r} was extracted as frames "
                           f"{_frames(source.cut[video_id])}, but {split_file} gives "
                           f"{_frames(cut)}; extract the videos again with this split file "
                           "(`slrbench data extract --dataset wlasl`)")


def _rows_hash(rows: pd.DataFrame, vocab: list[str]) -> str:
    digest = hashlib.sha256(rows.to_csv(index=False).encode("utf-8"))
    digest.update("\n".join(vocab).encode("utf-8"))
    return digest.hexdigest()


def _coverage(official: pd.DataFrame, present: pd.DataFrame) -> dict[str, str]:
    counts = {f"coverage.{split}": f"{(present['split'] == split).sum()}/"
                                   f"{(official['split'] == split).sum()}" for split in SPLITS}
    counts["coverage.all"] = f"{len(present)}/{len(official)}"
    return counts


def _class_names(labels, vocab: list[str], limit: int = 8) -> str:
    names = [f"{vocab[i]} ({i})" for i in labels]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def load(request: DatasetRequest) -> ClipSet:
    options = config_from_dict(WlaslOptions, dict(request.options),
                               option="--data-option")
    root = Path(request.data_dir or default_dir())
    source, folders = open_source(root)
    split_file = choose_split_file(folders, request.vocab, options.split_file)
    meta, glosses = read_split_file(split_file)
    size = min(request.vocab, len(glosses)) if request.vocab else len(glosses)
    if request.vocab and request.vocab > len(glosses):
        raise BadConfig(f"--vocab {request.vocab} is larger than WLASL's {len(glosses)} "
                        f"classes in {split_file}")
    vocab = glosses[:size]
    official = meta[meta["label"] < size]
    if source.store is None and not source.files:
        raise DatasetNotFound(f"{source.where}: no landmark file (<video_id>.npy, .parquet or .pose) "
                              f"for any of the {len(meta)} clips in {split_file}. "
                              f"{how_to_obtain(root)}")
    present_rows = (meta[meta["clip_id"].isin(source.ids)].sort_values("clip_id")
                    .reset_index(drop=True))
    if present_rows.empty:
        raise DatasetNotFound(f"{source.where}: none of the {len(meta)} clips listed in "
                              f"{split_file} has landmarks here (file names must be the video "
                              f"ids, e.g. {meta['clip_id'].iloc[0]}.npy)")
    if source.cut is not None:
        _check_store_windows(source, present_rows, split_file)
    # Keyed by what the store is made of: the rows (ids, windows, labels, splits, signers)
    # of the clips present and the landmark files behind them. The nested official files
    # (nslt_300/1000/2000 here) list the same present clips and so share one store.
    key = cache_key(NAME, CACHE_VERSION, RULES[options.hand_slots],
                    _rows_hash(present_rows, glosses),
                    source.fingerprint(present_rows["clip_id"].tolist()))
    store = cached_store(request.cache_dir / f"{NAME}-{key}",
                         lambda path: _pack(path, present_rows, glosses, source,
                                            options.hand_slots))
    clips = store.clipset(NAME)
    clips = clips.subset((clips.labels < size))
    clips.vocab = tuple(vocab)
    left_out = store.manifest.get("left_out", [])
    params = {**_coverage(official, clips.meta), "wlasl.split_file": split_file.name,
              "wlasl.hand_slots": RULES[options.hand_slots]
              if store.manifest.get("placed_by_rule") else HOLISTIC_SOURCE}
    if left_out:
        params["wlasl.left_out"] = str(len(set(left_out) & set(official["clip_id"])))
    clips = _check_classes(clips, vocab, split_file, options.drop_missing_classes, params)
    # the shipped landmarks hold hands only: a reader comparing with body-and-hand models
    # must see it wherever the figure stands
    clips.notes["protocol"] = PROTOCOL + ("; hands only (no pose or face)"
                                          if "pose" in clips.lacks else "")
    clips.notes["params"] = params
    clips.notes["summary"] = (
        f"WLASL{size} ({split_file.name}): landmarks for {params['coverage.all']} official "
        f"clips (" + ", ".join(f"{s} {params[f'coverage.{s}']}" for s in SPLITS) + ")"
        + (f"; {params['wlasl.left_out']} without a hand in their window left out"
           if left_out and params.get("wlasl.left_out") != "0" else "")
        + (f"; {params['wlasl.dropped_classes']} classes without training clips dropped"
           if "wlasl.dropped_classes" in params else "")
        + f"; hand slots: {params['wlasl.hand_slots'].split(':')[0]}")
    clips.notes["vocab_applied"] = True
    return clips


def _check_classes(clips: ClipSet, vocab: list[str], split_file: Path, drop: bool,
                   params: dict) -> ClipSet:
    trained = set(clips.meta.loc[clips.meta["split"] == "train", "label"].astype(int))
    missing = [i for i in range(len(vocab)) if i not in trained]
    if not missing:
        return clips
    if not drop:
        covered = missing[0]
        # a one-sign vocabulary is refused: no --vocab 1 to suggest
        hint = f"--vocab {covered} has them all, or " if covered >= 2 else ""
        raise DatasetNotFound(
            f"{split_file}: {len(missing)} of the {len(vocab)} classes of WLASL{len(vocab)} "
            f"have no training clip with landmarks here: {_class_names(missing, vocab)}; "
            f"{hint}pass --data-option drop_missing_classes=true to leave them out")
    kept = [i for i in range(len(vocab)) if i in trained]
    clips = clips.subset(clips.meta["label"].isin(kept).to_numpy())
    new_label = {old: new for new, old in enumerate(kept)}
    clips.meta["label"] = clips.meta["label"].map(new_label).astype(np.int64)
    clips.vocab = tuple(vocab[i] for i in kept)
    params["wlasl.dropped_classes"] = str(len(missing))
    return clips


# --- extraction from WLASL videos -------------------------------------------------------------
def plan_extraction(videos_dir: Path, request: ExtractionRequest) -> ExtractionPlan:
    """The WLASL videos in ``videos_dir`` to extract, each cut to its annotated window.

    Video ids, splits, signers and windows come from the split file in
    ``request.annotations``, else in the videos folder or its parent (WLASL's layout); only
    the ``<video_id>.<video suffix>`` files present are indexed, and the note says how many
    listed videos are not there.
    """
    videos_dir = Path(videos_dir)
    folders = ([Path(request.annotations)] if request.annotations else []) + \
        [videos_dir, videos_dir.parent]
    split_file = choose_split_file(folders, None)
    meta, glosses = read_split_file(split_file)
    found: dict[str, str] = {}
    if videos_dir.is_dir():
        for entry in sorted(os.scandir(videos_dir), key=lambda e: e.name):
            stem, suffix = os.path.splitext(entry.name)
            if suffix.lower() in VIDEO_SUFFIXES and stem not in found:
                found[stem] = entry.name
    present = meta[meta["clip_id"].isin(found)]
    if present.empty:
        raise DatasetNotFound(f"{videos_dir}: none of the {len(meta)} videos listed in "
                              f"{split_file} is here (expected <video_id>.mp4, e.g. "
                              f"{meta['clip_id'].iloc[0]}.mp4)")
    index = pd.DataFrame({
        "clip_id": present["clip_id"], "file": present["clip_id"].map(found),
        "gloss": present["gloss"], "split": present["split"], "signer": present["signer"],
        "fps": present["fps"], "start_frame": present["start_frame"],
        "end_frame": present["end_frame"]}).reset_index(drop=True)
    absent = len(meta) - len(present)
    note = (f"{absent} of the {len(meta)} videos listed in {split_file.name} are not in "
            f"{videos_dir}; extracting the {len(present)} present") if absent else ""
    return ExtractionPlan(index, glosses, NAME, note)


SPEC = DatasetSpec(name=NAME, load=load, options=WlaslOptions, default_data_dir=default_dir,
                   inputs=("landmarks",), vocab_sizes=VOCAB_SIZES,
                   plan_extraction=plan_extraction,
                   summary="WLASL 100/300/1000/2000 (official split; shipped: WLASL300 hand "
                           "landmarks, about half the clips)")
