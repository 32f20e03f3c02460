"""The CC0 'Signo' hand-landmark set: 1260 sequences x 30 frames, 21 signs, hands only.

Zeros in the source mean "not detected" and become NaN. There are no signer ids, and the
three recording sessions do not all cover the same signs, so the default split is
stratified by class and session: it is NOT signer-independent and is reported so.
"""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from harness.data.packing import cache_key, cached_store, file_fingerprint
from harness.data.clips import LEFT_HAND, N_LANDMARKS, RIGHT_HAND, ClipSet
from harness.errors import BadLandmarks, DatasetNotFound
from harness.util.paths import shared_datasets
from harness.specs import DatasetRequest, DatasetSpec
from harness.data.splits import stratified_split
from harness.data.store import StoreWriter, validate_clip

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


# The arrays the release holds (and this adapter reads), as the PROVENANCE describes them.
ARRAYS = {"hands": "[sequences, frames, 126] floats", "y": "[sequences] class indices",
          "classes": "[signs] names", "source_folder": "[sequences] session names"}
HAND_VALUES = 126               # left hand 21 x 3, then right hand 21 x 3
REFETCH = "re-download the signo-hands-cc0 release"
# What numpy and zipfile raise on a damaged archive: a 0-byte file is EOFError (which click
# would take for Ctrl-D and print only "Aborted!"), a truncated one BadZipFile or zlib.error.
READ_FAILURES = (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error)


def _cause(error: BaseException) -> str:
    text = (str(error).strip().splitlines() or [""])[0][:120]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def read_source(source: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """``hands, y, source_folder, classes`` of the release's .npz, checked; else
    :class:`BadLandmarks` naming ``source`` and what is wrong with it."""
    # Each item of an NpzFile decompresses its whole array again: read every array once
    # (indexing data["hands"] per row made building the store a minute of zlib).
    try:
        data = np.load(source, allow_pickle=False)
    except READ_FAILURES as error:
        if isinstance(error, PermissionError):
            raise BadLandmarks(f"{source}: permission denied; make it readable") from None
        what = "an empty file" if source.stat().st_size == 0 else "not a readable .npz archive"
        raise BadLandmarks(f"{source}: {what} ({_cause(error)}); it may be truncated: "
                           f"{REFETCH}") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise BadLandmarks(f"{source}: a single .npy array, not the .npz archive of arrays "
                           f"{', '.join(ARRAYS)}; {REFETCH}")
    with data:
        missing = [name for name in ARRAYS if name not in data.files]
        if missing:
            raise BadLandmarks(f"{source}: lacks the arrays {missing} (it holds "
                               f"{data.files[:8]}); expected {', '.join(ARRAYS)}: {REFETCH}")
        arrays = {}
        for name in ARRAYS:
            try:
                arrays[name] = data[name]
            except READ_FAILURES as error:
                raise BadLandmarks(f"{source}: array {name!r} cannot be read "
                                   f"({_cause(error)}); the file may be truncated: "
                                   f"{REFETCH}") from None
    hands, labels, folders, classes = (arrays[n] for n in ("hands", "y", "source_folder",
                                                           "classes"))

    def refuse(name: str, problem: str):
        raise BadLandmarks(f"{source}: array {name!r} {problem}; expected {name} "
                           f"{ARRAYS[name]}: {REFETCH}")

    if hands.ndim != 3 or hands.shape[2] != HAND_VALUES:
        refuse("hands", f"has shape {list(hands.shape)}")
    if hands.dtype.kind not in "fiu":
        refuse("hands", f"has dtype {hands.dtype}")
    if hands.shape[0] == 0 or hands.shape[1] == 0:
        refuse("hands", f"is empty (shape {list(hands.shape)})")
    if classes.ndim != 1 or classes.dtype.kind not in "US" or len(classes) == 0:
        refuse("classes", f"has shape {list(classes.shape)} and dtype {classes.dtype}")
    names = tuple(str(c) for c in classes)
    if len(set(names)) != len(names):
        refuse("classes", "names a sign twice")
    for name, values in (("y", labels), ("source_folder", folders)):
        if values.shape != hands.shape[:1]:
            refuse(name, f"has shape {list(values.shape)} for {hands.shape[0]} sequences "
                         "of hands")
    if labels.dtype.kind not in "iu":
        refuse("y", f"has dtype {labels.dtype}, not whole class indices")
    if labels.min() < 0 or labels.max() >= len(names):
        refuse("y", f"holds class {int(labels.min() if labels.min() < 0 else labels.max())}, "
                    f"outside 0..{len(names) - 1} of its {len(names)} classes")
    return hands, labels, folders, names


def _build(path: Path, source: Path) -> None:
    hands, labels, folders, classes = read_source(source)
    # as to_holistic reads them: a hand of a frame is there where its 63 values are not all 0
    detected = (np.abs(hands.reshape(*hands.shape[:2], 2, HAND_VALUES // 2)).sum(axis=3)
                > 0).any(axis=(1, 2))
    if not detected.any():
        raise BadLandmarks(f"{source}: every one of its {len(labels)} sequences is all zeros "
                           f"(no hand detected); nothing to learn from: {REFETCH}")
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
                        "source": f"{FILE}#{row}"},
                       validate_clip(clip, f"{source}: sequence {row}"))


def load(request: DatasetRequest) -> ClipSet:
    root = Path(request.data_dir or default_dir())
    source = root / FILE
    if not source.exists():
        raise DatasetNotFound(f"{source}: not found; --data-dir must point at the "
                              "signo-hands-cc0 folder")
    if source.is_dir():
        raise DatasetNotFound(f"{source}: a folder, not the release's .npz file; --data-dir "
                              "must point at the signo-hands-cc0 folder that holds it")
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
