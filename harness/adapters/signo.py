"""The CC0 'Signo' hand-landmark set: 1260 sequences x 30 frames, 21 signs, hands only.

Zeros in the source mean "not detected" and become NaN. There are no signer ids, and the
three recording sessions do not all cover the same signs, so the default split is
stratified by class and session: it is NOT signer-independent and is reported so.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.data.packing import cache_key, cached_store, file_fingerprint
from harness.data.clips import LEFT_HAND, N_LANDMARKS, RIGHT_HAND, ClipSet
from harness.errors import DatasetNotFound
from harness.util.paths import shared_datasets
from harness.specs import DatasetRequest, DatasetSpec
from harness.data.splits import stratified_split
from harness.data.store import StoreWriter

NAME = "signo"
FILE = "signo_1260seq_30f.npz"
FPS = 30.0  # webcam capture; the files carry no rate


def default_dir() -> Path:
    return shared_datasets() / "signo-hands-cc0"


def to_holistic(hands: np.ndarray) -> np.ndarray:
    """``[T, 126]`` (left 21x3, right 21x3; zeros = missing) -> ``[T, 543, 3]`` with NaN."""
    frames = hands.shape[0]
    out = np.full((frames, N_LANDMARKS, 3), np.nan, dtype=np.float32)
    for block, part in ((hands[:, :63], LEFT_HAND), (hands[:, 63:], RIGHT_HAND)):
        points = block.reshape(frames, 21, 3)
        present = np.abs(points).sum(axis=(1, 2)) > 0
        out[present, part] = points[present]
    return out


def _build(path: Path, source: Path) -> None:
    # Each item of an NpzFile decompresses its whole array again: read every array once
    # (indexing data["hands"] per row made building the store a minute of zlib).
    with np.load(source, allow_pickle=False) as data:
        hands, labels, folders = data["hands"], data["y"], data["source_folder"]
        classes = tuple(str(c) for c in data["classes"])
    with StoreWriter(path, classes, NAME, lacks=("pose", "face")) as writer:
        for row in range(len(labels)):
            clip = to_holistic(hands[row])
            if np.isnan(clip).all():
                # The source holds one all-zero sequence several times under different
                # labels (see its PROVENANCE): nothing to learn, so it is dropped.
                continue
            label = int(labels[row])
            writer.add({"clip_id": f"signo-{row:04d}", "gloss": classes[label], "label": label,
                        "split": "", "signer": "unknown",
                        "session": str(folders[row]), "fps": FPS,
                        "source": f"{FILE}#{row}"}, clip)


def load(request: DatasetRequest) -> ClipSet:
    root = Path(request.data_dir or default_dir())
    source = root / FILE
    if not source.exists():
        raise DatasetNotFound(f"{source}: not found; --data-dir must point at the "
                              "signo-hands-cc0 folder")
    store = cached_store(request.cache_dir / f"{NAME}-{cache_key(file_fingerprint(source))}",
                         lambda path: _build(path, source))
    clips = store.clipset(NAME)
    clips.meta["split"] = stratified_split(clips.meta, ["label", "session"],
                                           request.split_seed).to_numpy()
    clips.notes["protocol"] = (f"stratified by class and recording session (split seed "
                               f"{request.split_seed}); NOT signer-independent: no signer ids")
    return clips


SPEC = DatasetSpec(name=NAME, load=load, default_data_dir=default_dir,
                   summary="CC0 hand landmarks, 21 signs x 30 frames; class+session split")
