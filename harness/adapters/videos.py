"""Bring your own videos: a folder of video files (or JPEG frame folders) + an index CSV.

The index (``index.csv``, else ``labels.csv``: ``file`` and ``gloss``, optionally
``clip_id``, ``signer``, ``session``, ``split``, ``fps``) is read by the same code as
``slrbench data extract`` reads it (:mod:`harness.data.index`), and split by the same
rules as the ``landmarks`` adapter, so a video model on this folder and a landmark model
on the store extracted from it see the same clip ids in the same splits, cut to the same
``start_frame``/``end_frame`` windows. ``file`` is a video file or a folder of frames,
relative to the index's folder (or absolute).

Every clip is decoded once into the video cache (:mod:`harness.extract.video_cache`) when
the dataset is first loaded; later epochs and later runs read memory-mapped frames.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.adapters.landmarks import assign_splits
from harness.data.clips import ClipSet, relabel
from harness.data.index import (INDEX_NAMES, clip_meta, find_index, folder_name, read_index,
                                windows)
from harness.errors import BadAnnotations, DatasetNotFound
from harness.extract.video_cache import CachedVideos, DecodeSettings, VideoCache
from harness.specs import DatasetRequest, DatasetSpec

NAME = "videos"
CACHE_SUBDIR = "videos"


def clip_table(root: Path) -> tuple[pd.DataFrame, list[tuple[int, int | None]]]:
    """The index as clip metadata (``n_frames`` and, if absent, ``fps`` come later) and
    each clip's frame window."""
    if not root.is_dir():
        raise DatasetNotFound(f"{root}: no such folder; give --data-dir a folder of videos "
                              f"with {' or '.join(INDEX_NAMES)}")
    index_file = find_index(root, DatasetNotFound)
    index = read_index(root, index_file)
    missing = [file for file, path in zip(index["file"], index["path"])
               if not Path(path).exists()]
    if missing:
        raise DatasetNotFound(f"{index_file}: {len(missing)} listed videos are missing, e.g. "
                              f"{missing[:3]}; fix the file column or restore the files")
    meta = clip_meta(index)
    meta["video"] = index["path"]
    return meta, windows(index)


def load(request: DatasetRequest) -> ClipSet:
    if request.data_dir is None:
        raise DatasetNotFound("the videos dataset needs --data-dir (a folder of videos with "
                              f"{' or '.join(INDEX_NAMES)})")
    root = Path(request.data_dir).resolve()
    meta, frames = clip_table(root)
    vocab = tuple(sorted(meta["gloss"].unique()))
    meta = relabel(meta, vocab)

    videos = CachedVideos(meta["video"], VideoCache(Path(request.cache_dir) / CACHE_SUBDIR,
                                                    DecodeSettings()), frames)
    videos.prepare(f"decoding {root.name} videos")
    # Counted from the decoded frames: containers' frame counts are often wrong.
    meta["n_frames"] = [videos.n_frames(i) for i in range(len(videos))]
    empty = meta["clip_id"][meta["n_frames"] == 0].tolist()
    if empty:
        raise BadAnnotations(f"{root}: clips {empty[:3]} have no frames in their "
                             "start_frame..end_frame window; fix the window in the index")
    unknown = meta["fps"].isna().to_numpy()
    meta.loc[unknown, "fps"] = [videos.fps(i) for i in range(len(videos)) if unknown[i]]

    clips = ClipSet(name=folder_name(root), meta=meta, vocab=vocab, videos=videos)
    split, protocol = assign_splits(clips.meta, request.split_seed, str(root))
    clips.meta["split"] = split.to_numpy()
    clips.notes["protocol"] = protocol
    return clips


SPEC = DatasetSpec(name=NAME, load=load, inputs=("video",),
                   summary="your own videos (files or frame folders) + index.csv; decoded "
                           "once into a cache")
