"""Bring your own landmarks: a packed store, or a folder of per-clip files + an index CSV.

The index (``index.csv`` or ``labels.csv``) has ``file`` and ``gloss`` columns, optionally
``signer``, ``session``, ``split`` and ``clip_id``. A ``split`` column is used as given
(validation carved from train with the split seed when it has none); without one the clips
are split signer-disjointly when there are signers, else stratified by class.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.adapters.common import cache_key, cached_store, file_fingerprint, pack
from harness.data.clips import ClipSet, relabel
from harness.errors import BadAnnotations, DatasetNotFound
from harness.data.landmark_files import read_landmark_file
from harness.specs import DatasetRequest, DatasetSpec
from harness.data.splits import group_disjoint_split, stratified_split
from harness.data.store import LandmarkStore, is_store

NAME = "landmarks"
INDEX_NAMES = ("index.csv", "labels.csv")
DEFAULT_FPS = 30.0


def find_index(root: Path) -> Path:
    for name in INDEX_NAMES:
        if (root / name).exists():
            return root / name
    raise DatasetNotFound(f"{root}: neither a landmark store nor a folder with "
                          f"{' or '.join(INDEX_NAMES)}; give --data-dir a store made by "
                          "`slrbench data extract` or a folder of .npy/.parquet files + index.csv")


def read_index(index_file: Path) -> pd.DataFrame:
    index = pd.read_csv(index_file)
    missing = [c for c in ("file", "gloss") if c not in index.columns]
    if missing:
        raise BadAnnotations(f"{index_file}: missing columns {missing} (need file, gloss; "
                             "optional signer, session, split, clip_id)")
    meta = pd.DataFrame({
        "clip_id": index["clip_id"].astype(str) if "clip_id" in index
        else index["file"].astype(str).map(lambda f: str(Path(f).with_suffix(""))),
        "gloss": index["gloss"].astype(str),
        "split": index["split"].astype(str) if "split" in index else "",
        "signer": index["signer"].astype(str) if "signer" in index else "unknown",
        "fps": index["fps"].astype(float) if "fps" in index else DEFAULT_FPS,
        "n_frames": 0,
        "source": index["file"].astype(str),
    })
    if "session" in index:
        meta["session"] = index["session"].astype(str)
    duplicated = meta["clip_id"][meta["clip_id"].duplicated()].tolist()
    if duplicated:
        raise BadAnnotations(f"{index_file}: duplicate clip ids {duplicated[:5]}; add a "
                             "clip_id column with unique values")
    return meta


def assign_splits(meta: pd.DataFrame, seed: int) -> tuple[pd.Series, str]:
    given = meta["split"].astype(str).str.strip().str.lower()
    if given.isin(["train", "val", "test"]).all() and (given == "test").any():
        return given, "split as given in the index (validation carved from train if absent)"
    if meta["signer"].nunique() >= 3:
        return (group_disjoint_split(meta, "signer", seed),
                f"signer-disjoint split (split seed {seed})")
    return (stratified_split(meta, ["label"], seed),
            f"stratified by class (split seed {seed}); not signer-independent")


def load(request: DatasetRequest) -> ClipSet:
    if request.data_dir is None:
        raise DatasetNotFound("the landmarks dataset needs --data-dir (a store or a folder "
                              "with index.csv)")
    root = Path(request.data_dir)
    if is_store(root):
        store = LandmarkStore.open(root)
        meta = store.meta
        vocab = store.vocab or tuple(sorted(meta["gloss"].astype(str).unique()))
        clips = ClipSet(name=store.manifest.get("dataset", root.name), meta=relabel(meta, vocab),
                        vocab=vocab, landmarks=store, lacks=store.lacks)
    else:
        index_file = find_index(root)
        meta = read_index(index_file)
        vocab = tuple(sorted(meta["gloss"].unique()))
        meta = relabel(meta, vocab)
        key = cache_key(NAME, file_fingerprint(index_file))
        store = cached_store(
            request.cache_dir / f"{NAME}-{root.name}-{key}",
            lambda path: pack(path, meta.to_dict("records"),
                              lambda row: read_landmark_file(root / row["source"]), vocab,
                              root.name))
        clips = store.clipset(root.name)
    if "split" not in clips.meta:
        clips.meta["split"] = ""
    split, protocol = assign_splits(clips.meta, request.split_seed)
    clips.meta["split"] = split.to_numpy()
    clips.notes["protocol"] = protocol
    return clips


SPEC = DatasetSpec(name=NAME, load=load,
                   summary="your own landmarks: a store from `data extract`, or files + index.csv")
