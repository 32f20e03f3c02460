"""Google's Isolated Sign Language Recognition data (Kaggle ``asl-signs``).

``train.csv`` (path, participant_id, sequence_id, sign) + one parquet per sequence. The
shipped sample and the full 250-sign, 94k-sequence release share the layout. There is no
official test split: participants are split signer-disjointly with the split seed.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from harness.data.packing import (cache_key, cached_store, file_fingerprint,
                                     files_fingerprint, pack)
from harness.data.clips import ClipSet, relabel
from harness.errors import BadAnnotations, DatasetNotFound
from harness.data.landmark_files import read_landmark_file
from harness.util.paths import inside, shared_datasets
from harness.specs import DatasetRequest, DatasetSpec
from harness.data.splits import group_disjoint_split

NAME = "asl-signs"
INDEX_COLUMNS = ("path", "participant_id", "sequence_id", "sign")
FPS = 30.0  # PopSign recordings; the files carry no rate


def default_dir() -> Path:
    return shared_datasets() / "asl-signs-sample"


def read_index(root: Path) -> tuple[pd.DataFrame, tuple[str, ...]]:
    index_file = root / "train.csv"
    if not index_file.exists():
        raise DatasetNotFound(f"{index_file}: not found; --data-dir must point at a folder with "
                              "the asl-signs train.csv and train_landmark_files/")
    index = pd.read_csv(index_file)
    missing = [c for c in INDEX_COLUMNS if c not in index.columns]
    if missing:
        raise BadAnnotations(f"{index_file}: missing columns {missing}")
    # The full release ships the competition's class order; the sample does not.
    order_file = root / "sign_to_prediction_index_map.json"
    if order_file.exists():
        order = json.loads(order_file.read_text())
        vocab = tuple(sorted(order, key=order.get))
    else:
        vocab = tuple(sorted(index["sign"].astype(str).unique()))
    meta = pd.DataFrame({
        "clip_id": index["sequence_id"].astype(str),
        "gloss": index["sign"].astype(str),
        "split": "",
        "signer": index["participant_id"].astype(str),
        "fps": FPS,
        "n_frames": 0,
        "source": index["path"].astype(str),
    })
    return relabel(meta, vocab), vocab


def load(request: DatasetRequest) -> ClipSet:
    root = Path(request.data_dir or default_dir())
    meta, vocab = read_index(root)
    # keyed by every parquet it is built from too: a replaced file rebuilds the cache
    key = cache_key(NAME, file_fingerprint(root / "train.csv"),
                    files_fingerprint(root / source for source in meta["source"]))
    store = cached_store(
        request.cache_dir / f"{NAME}-{key}",
        lambda path: pack(path, meta.to_dict("records"),
                          lambda row: read_landmark_file(
                              inside(root, row["source"], str(root / "train.csv"))), vocab, NAME,
                          description="converting asl-signs parquet"))
    clips = store.clipset(NAME)
    clips.meta["split"] = group_disjoint_split(clips.meta, "signer", request.split_seed).to_numpy()
    clips.notes["protocol"] = f"signer-disjoint split of participants (split seed {request.split_seed})"
    return clips


SPEC = DatasetSpec(name=NAME, load=load, default_data_dir=default_dir,
                   summary="Google ISLR (Kaggle asl-signs) landmarks; signer-disjoint split")
