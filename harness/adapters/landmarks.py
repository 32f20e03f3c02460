"""Bring your own landmarks: a packed store, or a folder of per-clip files + an index CSV.

The index (``index.csv``, else ``labels.csv``; read by :mod:`harness.data.index` as
``data extract`` and the ``videos`` dataset read it) has ``file`` and ``gloss`` columns,
optionally ``signer``, ``session``, ``split``, ``fps`` and ``clip_id``. A ``split`` column
is used as given (validation carved from train with the split seed when it has none);
without one the clips are split signer-disjointly when there are signers, else stratified
by class. Parts that no frame of any clip holds (the pose and face of hands-only files) are
the store's ``lacks``, as the signo and wlasl datasets declare theirs.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.packing import (cache_key, cached_store, file_fingerprint,
                                     files_fingerprint, pack)
from harness.data.clips import ClipSet, relabel
from harness.data.index import clip_meta, find_index, read_index, windows
from harness.data.landmark_files import read_landmark_file
from harness.data.splits import group_disjoint_split, stratified_split
from harness.data.store import LandmarkStore, is_store
from harness.errors import BadAnnotations, DatasetNotFound
from harness.specs import DatasetRequest, DatasetSpec

NAME = "landmarks"
DEFAULT_FPS = 30.0
CACHE_VERSION = 2            # bump when what a packed folder's store holds changes
# Bytes of the folder's name in its cache's: a file name holds 255, and the cache's
# temporary (key, writer's pid and host added) must fit too.
CACHE_NAME_BYTES = 100
NOT_A_DATASET = ("and it is no landmark store either; give --data-dir a store made by "
                 "`slrbench data extract` or a folder of .npy/.parquet/.pose files + index.csv")


def read_clip(path: Path, window: tuple[int, int | None]) -> np.ndarray:
    """One landmark file, cut to the clip's frame window in the index."""
    landmarks = read_landmark_file(path)[slice(*window)]
    if not len(landmarks):
        raise BadAnnotations(f"{path}: no frames in its start_frame..end_frame window; fix "
                             "the window in the index")
    return landmarks


def assign_splits(meta: pd.DataFrame, seed: int, where: str = "the index"
                  ) -> tuple[pd.Series, str]:
    given = meta["split"].astype(str).str.strip().str.lower()
    if given.isin(["train", "val", "test"]).all() and (given == "test").any():
        return given, "split as given in the index (validation carved from train if absent)"
    if (given != "").any():    # a split was given: never replaced by a generated one unsaid
        missing = meta["clip_id"][given == ""].tolist()
        if missing:
            raise BadAnnotations(f"{where}: {len(missing)} clips have no split while the "
                                 f"others do (e.g. {missing[0]!r}); give every clip train, "
                                 "val or test, or none for a generated split")
        raise BadAnnotations(f"{where}: the split column has no test clips; mark the test "
                             "clips, or leave the column empty for a generated split")
    if meta["signer"].nunique() >= 3:
        return (group_disjoint_split(meta, "signer", seed),
                f"signer-disjoint split (split seed {seed})")
    return (stratified_split(meta, ["label"], seed),
            f"stratified by class (split seed {seed}); not signer-independent")


def load(request: DatasetRequest) -> ClipSet:
    if request.data_dir is None:
        raise DatasetNotFound("the landmarks dataset needs --data-dir (a store or a folder "
                              "with index.csv)")
    # absolute, so that `--data-dir .` is the folder's own name: an empty name made
    # another cache, another landmark digest and an MLflow dataset called '-N'
    root = Path(os.path.abspath(request.data_dir))
    if is_store(root):
        store = LandmarkStore.open(root)
        meta = store.meta
        vocab = store.vocab or tuple(sorted(meta["gloss"].astype(str).unique()))
        clips = ClipSet(name=store.manifest.get("dataset", root.name), meta=relabel(meta, vocab),
                        vocab=vocab, landmarks=store, lacks=store.lacks)
    else:
        index_file = find_index(root, DatasetNotFound, NOT_A_DATASET)
        index = read_index(root, index_file)
        meta = clip_meta(index)
        meta["fps"] = meta["fps"].fillna(DEFAULT_FPS)
        vocab = tuple(sorted(meta["gloss"].unique()))
        meta = relabel(meta, vocab)
        cut = dict(zip(meta["clip_id"], windows(index)))
        path_of = dict(zip(meta["clip_id"], index["path"]))   # checked inside the folder
        # keyed by every file it is built from: a replaced landmark file rebuilds the cache;
        # and by the version (stores of version 1 lacked nothing, hands-only files too)
        key = cache_key(NAME, CACHE_VERSION, file_fingerprint(index_file),
                        files_fingerprint(index["path"]))
        # the key tells caches apart; the name is only for people reading the cache folder
        # (a folder name of 250 characters was refused as 'File name too long')
        name = root.name.encode()[:CACHE_NAME_BYTES].decode(errors="ignore")
        # lacking what no file holds (hands-only .npy, Holistic files with no pose): a model
        # trained on them then predicts a clip with those parts as it trained, without them
        store = cached_store(
            request.cache_dir / f"{NAME}-{name}-{key}",
            lambda path: pack(path, meta.to_dict("records"),
                              lambda row: read_clip(path_of[row["clip_id"]],
                                                    cut[row["clip_id"]]),
                              vocab, root.name, lacks_unseen=True))
        clips = store.clipset(root.name)
    if "split" not in clips.meta:
        clips.meta["split"] = ""
    split, protocol = assign_splits(clips.meta, request.split_seed, str(root))
    clips.meta["split"] = split.to_numpy()
    clips.notes["protocol"] = protocol
    return clips


SPEC = DatasetSpec(name=NAME, load=load,
                   summary="your own landmarks: a store from `data extract`, or files + index.csv")
