"""Bring your own videos: a folder of video files (or JPEG frame folders) + an index CSV.

The index (``labels.csv`` or ``index.csv``: ``file`` and ``gloss``, optionally
``clip_id``, ``signer``, ``session``, ``split``) is read by the same code as
``slrbench data extract`` reads it, and split by the same rules as the ``landmarks``
adapter, so a video model on this folder and a landmark model on the store extracted
from it see the same clip ids in the same splits. ``file`` is a video file or a folder
of frames, relative to the index's folder (or absolute).

Every clip is decoded once into the video cache (:mod:`harness.extract.video_cache`) when the dataset
is first loaded; later epochs and later runs read memory-mapped frames.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.adapters.landmarks import assign_splits
from harness.data.clips import ClipSet, relabel
from harness.errors import DatasetNotFound
from harness.extract.pipeline import INDEX_NAMES, read_index, store_name
from harness.specs import DatasetRequest, DatasetSpec
from harness.extract.video_cache import CachedVideos, DecodeSettings, VideoCache

NAME = "videos"
CACHE_SUBDIR = "videos"


def find_index(root: Path) -> Path:
    if not root.is_dir():
        raise DatasetNotFound(f"{root}: no such folder; give --data-dir a folder of videos "
                              f"with {' or '.join(INDEX_NAMES)}")
    for name in INDEX_NAMES:
        if (root / name).exists():
            return root / name
    raise DatasetNotFound(f"{root}: no {' or '.join(INDEX_NAMES)} here; write one with "
                          "columns file,gloss (optional signer, session, split) listing the "
                          "videos relative to this folder")


def clip_table(root: Path, index_file: Path) -> pd.DataFrame:
    """The index as clip metadata (``n_frames`` and, if absent, ``fps`` come later)."""
    index = read_index(root, index_file)
    missing = [file for file, video in zip(index["file"], index["video"])
               if not Path(video).exists()]
    if missing:
        raise DatasetNotFound(f"{index_file}: {len(missing)} listed videos are missing, e.g. "
                              f"{missing[:3]}; fix the file column or restore the files")
    fps = pd.to_numeric(index["fps"], errors="coerce") if "fps" in index else None
    meta = pd.DataFrame({"clip_id": index["clip_id"], "gloss": index["gloss"],
                         "split": index["split"], "signer": index["signer"],
                         "fps": fps if fps is not None else float("nan"), "n_frames": 0,
                         "source": index["file"], "video": index["video"]})
    if "session" in index:
        meta["session"] = index["session"].astype(str)
    return meta


def load(request: DatasetRequest) -> ClipSet:
    if request.data_dir is None:
        raise DatasetNotFound("the videos dataset needs --data-dir (a folder of videos with "
                              f"{' or '.join(INDEX_NAMES)})")
    root = Path(request.data_dir).resolve()
    meta = clip_table(root, find_index(root))
    vocab = tuple(sorted(meta["gloss"].unique()))
    meta = relabel(meta, vocab)

    videos = CachedVideos(meta["video"], VideoCache(Path(request.cache_dir) / CACHE_SUBDIR,
                                                    DecodeSettings()))
    videos.prepare(f"decoding {root.name} videos")
    # Counted from the decoded frames: containers' frame counts are often wrong.
    meta["n_frames"] = [videos.n_frames(i) for i in range(len(videos))]
    unknown = meta["fps"].isna().to_numpy()
    meta.loc[unknown, "fps"] = [videos.fps(i) for i in range(len(videos)) if unknown[i]]

    clips = ClipSet(name=store_name(root), meta=meta, vocab=vocab, videos=videos)
    split, protocol = assign_splits(clips.meta, request.split_seed)
    clips.meta["split"] = split.to_numpy()
    clips.notes["protocol"] = protocol
    return clips


SPEC = DatasetSpec(name=NAME, load=load, inputs=("video",),
                   summary="your own videos (files or frame folders) + index.csv; decoded "
                           "once into a cache")
