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
from harness.data.index import read_text_csv
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


INDEX_HELP = (f"a header row {','.join(INDEX_COLUMNS)} and one row per sequence, saved as "
              "UTF-8")
ORDER_FILE = "sign_to_prediction_index_map.json"


def _read_csv(index_file: Path) -> pd.DataFrame:
    """``train.csv`` as text cells (an empty cell is ``""``); else one line naming it."""
    if not index_file.exists():
        raise DatasetNotFound(f"{index_file}: not found; --data-dir must point at a folder with "
                              "the asl-signs train.csv and train_landmark_files/")
    if index_file.is_dir():
        raise DatasetNotFound(f"{index_file}: a folder, not the asl-signs index; --data-dir "
                              "must point at a folder with the asl-signs train.csv and "
                              "train_landmark_files/")
    return read_text_csv(index_file, INDEX_HELP)


def _read_order(order_file: Path, signs: set[str]) -> tuple[str, ...]:
    """The competition's class order from ``order_file`` (``{sign: index}``), checked."""
    try:
        order = json.loads(order_file.read_text(encoding="utf-8"))
    except PermissionError:
        raise BadAnnotations(f"{order_file}: permission denied; make it readable") from None
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as error:
        text = (str(error).strip().splitlines() or [type(error).__name__])[0][:120]
        raise BadAnnotations(f"{order_file}: not valid JSON ({text}); it must map each sign "
                             "to its class index, e.g. {\"TV\": 0, \"after\": 1}, or be "
                             "removed (the signs are then ordered by name)") from None
    fix = ("it must map each sign to its class index 0..N-1, e.g. {\"TV\": 0, \"after\": 1}, "
           "or be removed (the signs are then ordered by name)")
    if not isinstance(order, dict) or not order:
        raise BadAnnotations(f"{order_file}: a JSON {type(order).__name__}, not a non-empty "
                             f"object; {fix}")
    indices = list(order.values())
    if any(type(i) is not int for i in indices) or sorted(indices) != list(range(len(order))):
        raise BadAnnotations(f"{order_file}: the class indices are not the whole numbers "
                             f"0..{len(order) - 1}, each once; {fix}")
    unknown = sorted(signs - set(order))
    if unknown:
        raise BadAnnotations(f"{order_file}: lacks signs of train.csv, e.g. {unknown[:3]}; "
                             f"{fix}")
    return tuple(sorted(order, key=order.get))


def read_index(root: Path) -> tuple[pd.DataFrame, tuple[str, ...]]:
    index_file = root / "train.csv"
    index = _read_csv(index_file)
    missing = [c for c in INDEX_COLUMNS if c not in index.columns]
    if missing:
        raise BadAnnotations(f"{index_file}: missing columns {missing}; it needs {INDEX_HELP}")
    if index.empty:
        raise BadAnnotations(f"{index_file}: lists no sequences (a header and no rows); it "
                             f"needs {INDEX_HELP}")
    for column in INDEX_COLUMNS:
        index[column] = index[column].str.strip()
        empty = (index[column] == "").to_numpy()
        if empty.any():
            raise BadAnnotations(f"{index_file}: row {int(empty.argmax()) + 2} has an empty "
                                 f"{column!r}; every row needs {', '.join(INDEX_COLUMNS)}")
    repeated = index["sequence_id"].duplicated().to_numpy()
    if repeated.any():
        row = int(repeated.argmax())
        raise BadAnnotations(f"{index_file}: row {row + 2} repeats sequence_id "
                             f"{index['sequence_id'].iloc[row]!r}; each row must be another "
                             "sequence")
    # The full release ships the competition's class order; the sample does not.
    order_file = root / ORDER_FILE
    if order_file.exists():
        vocab = _read_order(order_file, set(index["sign"]))
    else:
        vocab = tuple(sorted(index["sign"].unique()))
    meta = pd.DataFrame({
        "clip_id": index["sequence_id"],
        "gloss": index["sign"],
        "split": "",
        "signer": index["participant_id"],
        "fps": FPS,
        "n_frames": 0,
        "source": index["path"],
    })
    return relabel(meta, vocab), vocab


def load(request: DatasetRequest) -> ClipSet:
    root = Path(request.data_dir or default_dir())
    meta, vocab = read_index(root)
    # keyed by every parquet it is built from too: a replaced file rebuilds the cache; and
    # by the class order, which the store's labels follow (an order file added or changed
    # kept the old labels). Without one the key is as it was, the order coming from train.csv.
    order = ("|".join(vocab),) if (root / ORDER_FILE).exists() else ()
    key = cache_key(NAME, file_fingerprint(root / "train.csv"),
                    files_fingerprint(root / source for source in meta["source"]), *order)
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
