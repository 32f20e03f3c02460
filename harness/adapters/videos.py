"""Bring your own videos: a folder of video files (or JPEG frame folders) + an index CSV.

The index is read exactly as the ``landmarks`` adapter reads its own (``index.csv`` or
``labels.csv``: ``file`` and ``gloss``, optionally ``signer``, ``session``, ``split``,
``clip_id``, ``fps``), and split the same way, so a video model and a landmark model
trained on landmarks extracted from the same folder see the same clips in every split.
``file`` is a video file or a folder of frames, relative to the index's folder.

Every clip is decoded once into the video cache (:mod:`harness.videos`) when the dataset
is first loaded; later epochs and later runs read memory-mapped frames.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.adapters.landmarks import INDEX_NAMES, assign_splits, read_index
from harness.clips import ClipSet, relabel
from harness.errors import DatasetNotFound
from harness.specs import DatasetRequest, DatasetSpec
from harness.videos import CachedVideos, DecodeSettings, VideoCache

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


def load(request: DatasetRequest) -> ClipSet:
    if request.data_dir is None:
        raise DatasetNotFound("the videos dataset needs --data-dir (a folder of videos with "
                              f"{' or '.join(INDEX_NAMES)})")
    root = Path(request.data_dir).resolve()
    index_file = find_index(root)
    meta = read_index(index_file)
    paths = [root / file for file in meta["source"]]
    missing = [str(p.relative_to(root)) for p in paths if not p.exists()]
    if missing:
        raise DatasetNotFound(f"{index_file}: {len(missing)} listed videos are missing, e.g. "
                              f"{missing[:3]}; fix the file column or restore the files")
    vocab = tuple(sorted(meta["gloss"].unique()))
    meta = relabel(meta, vocab)
    meta["video"] = [str(p) for p in paths]

    videos = CachedVideos(paths, VideoCache(Path(request.cache_dir) / CACHE_SUBDIR,
                                            DecodeSettings()))
    videos.prepare(f"decoding {root.name} videos")
    # Counted from the decoded frames: containers' frame counts are often wrong.
    meta["n_frames"] = [len(videos.video(i)) for i in range(len(videos))]
    if "fps" not in pd.read_csv(index_file, nrows=0).columns:
        meta["fps"] = [videos.fps(i) for i in range(len(videos))]

    clips = ClipSet(name=root.name, meta=meta, vocab=vocab, videos=videos)
    split, protocol = assign_splits(clips.meta, request.split_seed)
    clips.meta["split"] = split.to_numpy()
    clips.notes["protocol"] = protocol
    return clips


SPEC = DatasetSpec(name=NAME, load=load, inputs=("video",),
                   summary="your own videos (files or frame folders) + index.csv; decoded "
                           "once into a cache")
