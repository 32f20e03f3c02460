"""GSL isolated (Greek Sign Language, Adaloglou et al. 2021): 310 glosses, 7 signers.

The official release is one folder of JPEG frames per clip plus three split files
(``train_greek_iso.csv``, ``dev_greek_iso.csv``, ``test_greek_iso.csv``; UTF-8, no header,
``<clip_folder>|<GLOSS>``) and ``iso_classes.csv`` (the vocabulary, one gloss a line). The
split is signer-independent as published: signer 3 is held out (dev and test), signers
1, 2, 4-7 train. GSL ships no landmarks, so this adapter reads a store extracted from the
frame folders by ``slrbench data extract --dataset gsl --videos GSL_ROOT``.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from harness.data.packing import open_dataset_store
from harness.data.clips import ClipSet, relabel
from harness.data.index import read_text
from harness.errors import BadAnnotations, DatasetNotFound
from harness.util.paths import data_root, shared_datasets
from harness.specs import DatasetRequest, DatasetSpec, ExtractionPlan, ExtractionRequest

NAME = "gsl"
SPLIT_FILES = {"train": "train_greek_iso.csv", "val": "dev_greek_iso.csv",
               "test": "test_greek_iso.csv"}
CLASSES_FILE = "iso_classes.csv"
FRAMES_DIR = "GSL_isol"          # the release's folder of clip folders
HELD_OUT_SIGNER = "3"
SIGNER = re.compile(r"_signer(\d+)_")
PROTOCOL = ("official signer-independent split: train = signers 1, 2, 4-7; "
            "val (dev) and test = signer 3")


def default_store() -> Path:
    return data_root() / "stores" / NAME


def how_to_extract(store: Path) -> str:
    return (f"GSL ships JPEG frames, not landmarks: extract them once with `slrbench data "
            f"extract --dataset gsl --videos GSL_ROOT --out {store}` (GSL_ROOT holds "
            f"{FRAMES_DIR}/ and the split files {', '.join(SPLIT_FILES.values())}; the data "
            "is distributed by its authors, see the paper) and pass --data-dir if elsewhere")


def find_split_dir(root: Path, annotations: Path | None = None) -> Path:
    candidates = ([annotations] if annotations else []) + \
        [root, root / FRAMES_DIR, data_root() / "downloads" / NAME, shared_datasets() / NAME]
    for folder in candidates:
        if all((folder / name).exists() for name in SPLIT_FILES.values()):
            return folder
    raise DatasetNotFound(f"no GSL split files ({', '.join(SPLIT_FILES.values())}) in "
                          f"{', '.join(map(str, candidates))}; pass their folder with "
                          "--annotations DIR")


def read_split_file(path: Path) -> pd.DataFrame:
    """``clip_folder|GLOSS`` lines -> DataFrame(clip_folder, gloss), checked line by line."""
    text = read_text(path, "<clip_folder>|<GLOSS> lines (GSL's split file, UTF-8: Greek "
                           "glosses)", encoding="utf-8-sig")
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.strip().split("|")
        if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
            raise BadAnnotations(f"{path}: line {number} is {line!r}; expected "
                                 "<clip_folder>|<GLOSS>")
        folder = fields[0].strip()
        if folder.startswith("/") or ".." in Path(folder).parts:
            raise BadAnnotations(f"{path}: line {number}: clip folder {folder!r} points "
                                 "outside the dataset root")
        rows.append((folder, fields[1].strip()))
    if not rows:
        raise BadAnnotations(f"{path}: no clips listed")
    return pd.DataFrame(rows, columns=["clip_folder", "gloss"])


def read_classes(path: Path) -> list[str]:
    if not path.exists():
        raise DatasetNotFound(f"{path}: no such file; {CLASSES_FILE} (one gloss a line) is "
                              "part of the GSL release")
    text = read_text(path, f"GSL's class list, {CLASSES_FILE}: one gloss a line, UTF-8 "
                           "(Greek glosses)", encoding="utf-8-sig")
    classes = [line.strip() for line in text.splitlines() if line.strip()]
    if len(set(classes)) != len(classes):
        raise BadAnnotations(f"{path}: duplicate glosses")
    return classes


def signer_of(clip_folder: str) -> str:
    match = SIGNER.search(clip_folder)
    return match.group(1) if match else "unknown"


def plan_extraction(root: Path, request: ExtractionRequest) -> ExtractionPlan:
    """The clips to extract from a GSL tree, in the official vocabulary and split.

    Only clip folders present under ``root`` are indexed, so part of the release can be
    extracted; the plan's note says how many listed clips were not found.
    """
    root = Path(root)
    split_dir = find_split_dir(root, request.annotations)
    vocab = read_classes(split_dir / CLASSES_FILE)
    frames = root / FRAMES_DIR if (root / FRAMES_DIR).is_dir() else root
    parts = []
    for split, name in SPLIT_FILES.items():
        listed = read_split_file(split_dir / name)
        unknown = sorted(set(listed["gloss"]) - set(vocab))
        if unknown:
            raise BadAnnotations(f"{split_dir / name}: glosses {unknown[:5]} are not in "
                                 f"{split_dir / CLASSES_FILE}")
        parts.append(listed.assign(split=split))
    listed = pd.concat(parts, ignore_index=True)
    duplicated = listed["clip_folder"][listed["clip_folder"].duplicated()].tolist()
    if duplicated:
        raise BadAnnotations(f"{split_dir}: clip folder {duplicated[0]!r} is listed twice in "
                             "the split files")
    present = listed[[(frames / f).is_dir() for f in listed["clip_folder"]]]
    if present.empty:
        raise DatasetNotFound(f"{frames}: none of the {len(listed)} clip folders listed in "
                              f"{split_dir} is here; --videos must be the GSL root holding "
                              f"{FRAMES_DIR}/")
    index = pd.DataFrame({
        "clip_id": present["clip_folder"],
        "file": [str(Path(frames.relative_to(root) if frames != root else ".") / f)
                 for f in present["clip_folder"]],
        "gloss": present["gloss"],
        "signer": present["clip_folder"].map(signer_of),
        "split": present["split"],
    })
    absent = len(listed) - len(present)
    note = (f"{absent} clips listed in the GSL split files have no frame folder under "
            f"{root}; extracting the {len(present)} present") if absent else ""
    return ExtractionPlan(index.reset_index(drop=True), vocab, NAME, note)


def load(request: DatasetRequest) -> ClipSet:
    path = Path(request.data_dir) if request.data_dir else default_store()
    store, meta = open_dataset_store(path, NAME, "GSL", SPLIT_FILES, how_to_extract(path))
    clips = ClipSet(name=NAME, meta=relabel(meta, store.vocab), vocab=store.vocab,
                    landmarks=store, lacks=store.lacks)
    clips.notes["protocol"] = PROTOCOL
    # The store keeps whatever split files it was extracted with: the claim is checked
    # against the signers it holds, not taken on the dataset's name.
    signers = meta["signer"].astype(str)
    held_out = meta["split"].astype(str) != "train"
    shared = sorted(set(signers[held_out]) & set(signers[~held_out]))
    if shared:
        clips.notes["protocol"] = (f"GSL split files as given in {path}; NOT signer-"
                                   f"independent: signer(s) {', '.join(shared)} in train and "
                                   "in val/test")
        clips.notes.setdefault("warnings", []).append(
            f"{path}: signer(s) {', '.join(shared)} sign in train and in val/test, so this is "
            "not GSL's signer-independent split; extract with the official split files")
    return clips


SPEC = DatasetSpec(name=NAME, load=load, default_data_dir=default_store,
                   inputs=("landmarks",), vocab_sizes=(310,), plan_extraction=plan_extraction,
                   summary="GSL isolated: 310 Greek glosses, signer 3 held out (extract the "
                           "JPEG frames first)")
