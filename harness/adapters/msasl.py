"""MS-ASL (Microsoft, Vaezi Joze & Koller 2019): 1000 ASL glosses from YouTube videos.

The vocabulary is ``MSASL_classes.json`` in its own order (class id = position, by
frequency); MS-ASL N is ``--vocab N`` (labels < N); the split is the official one (train /
val / test files, signer-disjoint between val and test). Microsoft distributes only
annotations, so the landmarks come from a store built from fetched clips::

    slrbench data fetch --dataset msasl --vocab 100 --out datasets/downloads/msasl/clips
    slrbench data extract --dataset msasl --videos datasets/downloads/msasl/clips

(the store goes to ``datasets/stores/msasl`` by default).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.data.packing import open_dataset_store
from harness.data import msasl_annotations as msasl
from harness.data.clips import ClipSet, relabel
from harness.data.index import read_index
from harness.errors import BadAnnotations, DatasetNotFound
from harness.specs import DatasetRequest, DatasetSpec, ExtractionPlan, ExtractionRequest
from harness.util.paths import data_root

NAME = "msasl"
PROTOCOL = "official MS-ASL split (train / val / test files); MS-ASL N = labels < N"


def default_store() -> Path:
    return data_root() / "stores" / NAME


def default_clips_dir() -> Path:
    return data_root() / "downloads" / NAME / "clips"


def how_to_obtain(store: Path, vocab: int | None = None) -> str:
    clips = default_clips_dir()
    text = ("MS-ASL ships annotations only; fetch the clips and extract their landmarks "
            f"once: `slrbench data fetch --dataset msasl --vocab {vocab or 100} --out {clips}` "
            f"then `slrbench data extract --dataset msasl --videos {clips} --out {store}` "
            "(or pass --data-dir STORE)")
    # YouTube sources are often gone: point at the real large-vocabulary data that is here.
    from harness.adapters import wlasl
    if wlasl.default_dir().is_dir():
        text += ("; real large-vocabulary landmarks are here already: `slrbench run --dataset "
                 "wlasl --vocab 100` (or --vocab 300; WLASL hand landmarks in "
                 f"{wlasl.default_dir()})")
    return text


def plan_extraction(videos: Path, request: ExtractionRequest) -> ExtractionPlan:
    """The fetched clips (``index.csv`` written by ``data fetch``) and the 1000 classes."""
    videos = Path(videos)
    index_file = request.index_file
    index = read_index(videos, index_file)
    local = videos / msasl.CLASSES_FILE
    classes = msasl.load_classes(videos if local.exists() and request.annotations is None
                                 else msasl.find_annotations(request.annotations))
    if "label" in index:
        labels = pd.to_numeric(index["label"], errors="coerce")
        bad = labels.isna() | (labels < 0) | (labels >= len(classes))
        if not bad.any():
            wrong = index["gloss"] != [classes[int(i)] for i in labels]
            bad = wrong
        if bad.any():
            row = index[bad].iloc[0]
            raise BadAnnotations(f"{index_file or videos}: clip {row['clip_id']!r} has label "
                                 f"{row['label']!r} and gloss {row['gloss']!r}, which do not "
                                 f"match {msasl.CLASSES_FILE}")
    return ExtractionPlan(index, classes, NAME)


def load(request: DatasetRequest) -> ClipSet:
    path = Path(request.data_dir) if request.data_dir else default_store()
    store, meta = open_dataset_store(path, NAME, "MS-ASL", msasl.SPLITS,
                                     how_to_obtain(path, request.vocab))
    absent = [s for s in ("train", "test") if not (meta["split"] == s).any()]
    if absent:
        raise DatasetNotFound(f"{path}: the store has no {' or '.join(absent)} clips (was "
                              f"MSASL_{absent[0]}.json missing when fetching?); get Microsoft's "
                              "full release and fetch again with --annotations DIR")
    clips = ClipSet(name=NAME, meta=relabel(meta, store.vocab), vocab=store.vocab,
                    landmarks=store, lacks=store.lacks)
    clips.notes["protocol"] = PROTOCOL
    if request.vocab is not None and not (clips.labels < request.vocab).any():
        raise DatasetNotFound(f"{path}: no clip of MS-ASL{request.vocab} in this store. "
                              f"{how_to_obtain(path, request.vocab)}")
    return clips


SPEC = DatasetSpec(name=NAME, load=load, default_data_dir=default_store,
                   inputs=("landmarks",), vocab_sizes=msasl.VOCAB_SIZES,
                   plan_extraction=plan_extraction,
                   summary="MS-ASL 100/200/500/1000 (official split; fetch + extract the "
                           "YouTube clips first)")
