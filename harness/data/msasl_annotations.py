"""MS-ASL annotations: read and check the official JSON files, slice MS-ASL N, count.

Microsoft's release has one JSON list per split (``MSASL_train.json``, ``MSASL_val.json``,
``MSASL_test.json``) plus ``MSASL_classes.json`` (1000 glosses; class id = position, by
frequency). MS-ASL N keeps the records whose ``label`` is below N, in every split. The
train file is often missing from copies of the release; it is then skipped, not an error,
unless it is asked for by name.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pandas as pd

from harness.util.atomic import write_text
from harness.data.index import read_text
from harness.errors import BadAnnotations, DatasetNotFound
from harness.util.paths import data_root, shared_datasets

SPLITS = ("train", "val", "test")
VOCAB_SIZES = (100, 200, 500, 1000)
CLASSES_FILE = "MSASL_classes.json"
# Fields every record must carry for slicing, fetching and the store's metadata.
REQUIRED_FIELDS = {"url": str, "start_time": float, "end_time": float, "label": int,
                   "signer_id": int, "box": list}
SAFE_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")


def split_file(split: str) -> str:
    return f"MSASL_{split}.json"


def default_annotation_dirs() -> list[Path]:
    """Where the annotations are looked for when ``--annotations`` is not given."""
    return [data_root() / "downloads" / "msasl", shared_datasets() / "msasl"]


def find_annotations(annotations: Path | str | None = None) -> Path:
    if annotations is not None:
        folder = Path(annotations)
        if not (folder / CLASSES_FILE).exists():
            raise DatasetNotFound(f"{folder}: no {CLASSES_FILE} here; point --annotations at "
                                  "the folder of Microsoft's MS-ASL release (MSASL_*.json)")
        return folder
    for folder in default_annotation_dirs():
        if (folder / CLASSES_FILE).exists():
            return folder
    raise DatasetNotFound(
        f"no MS-ASL annotations found (looked for {CLASSES_FILE} in "
        f"{', '.join(map(str, default_annotation_dirs()))}); download Microsoft's MS-ASL "
        "release and pass its folder with --annotations DIR")


def _read_json(path: Path):
    text = read_text(path, "JSON from Microsoft's MS-ASL release (re-download it)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BadAnnotations(f"{path}: not valid JSON (line {error.lineno}, column "
                             f"{error.colno}: {error.msg}); re-download the file") from None


def load_classes(folder: Path) -> list[str]:
    path = Path(folder) / CLASSES_FILE
    if not path.exists():
        raise DatasetNotFound(f"{path}: no such file; it is part of Microsoft's MS-ASL release")
    classes = _read_json(path)
    if not isinstance(classes, list) or not classes or \
            not all(isinstance(c, str) and c.strip() for c in classes):
        raise BadAnnotations(f"{path}: expected a JSON list of gloss strings (class id = "
                             "position)")
    if len(set(classes)) != len(classes):
        raise BadAnnotations(f"{path}: duplicate glosses in the class list")
    return classes


def _number(value, kind: type) -> bool:
    if isinstance(value, bool):
        return False
    if kind is int:
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return isinstance(value, (int, float)) and math.isfinite(value)


def check_record(record, path: Path, index: int, num_classes: int) -> None:
    """Raise BadAnnotations naming the file, the record and the field that is wrong."""
    where = f"{path}: record {index}"
    if not isinstance(record, dict):
        raise BadAnnotations(f"{where} is a {type(record).__name__}, expected an object with "
                             f"fields {', '.join(REQUIRED_FIELDS)}")
    for field, kind in REQUIRED_FIELDS.items():
        if field not in record:
            raise BadAnnotations(f"{where} lacks the field {field!r}; every record needs "
                                 f"{', '.join(REQUIRED_FIELDS)}")
        value = record[field]
        ok = isinstance(value, str) and value.strip() if kind is str else \
            (isinstance(value, list) and len(value) == 4 and all(_number(v, float) for v in value)
             if kind is list else _number(value, kind))
        if not ok:
            expected = {"str": "a non-empty string", "float": "a number", "int": "an integer",
                        "list": "a list [y0, x0, y1, x1] of 4 numbers"}[kind.__name__]
            raise BadAnnotations(f"{where}: field {field!r} is {value!r}, expected {expected}")
    if not 0 <= int(record["label"]) < num_classes:
        raise BadAnnotations(f"{where}: field 'label' is {record['label']}, outside the "
                             f"{num_classes} classes of {CLASSES_FILE}")
    if not record["end_time"] > record["start_time"] >= 0:
        raise BadAnnotations(f"{where}: fields 'start_time'/'end_time' are "
                             f"{record['start_time']}/{record['end_time']}; need "
                             "0 <= start_time < end_time")
    y0, x0, y1, x1 = record["box"]
    if not (0 <= y0 < y1 <= 1.0001 and 0 <= x0 < x1 <= 1.0001):
        raise BadAnnotations(f"{where}: field 'box' is {record['box']}; expected "
                             "[y0, x0, y1, x1] normalised to 0-1 with y0 < y1 and x0 < x1")
    # optional (0 or absent: the rate is read from the video), but records_frame takes it
    # as a number
    fps = record.get("fps")
    if fps is not None and not (_number(fps, float) and fps >= 0):
        raise BadAnnotations(f"{where}: field 'fps' is {fps!r}, expected a number of frames "
                             "per second (or no such field)")


def load_split(folder: Path, split: str, num_classes: int) -> list[dict] | None:
    """The records of one split, checked; None when the file is absent."""
    path = Path(folder) / split_file(split)
    if not path.exists():
        return None
    records = _read_json(path)
    if not isinstance(records, list):
        raise BadAnnotations(f"{path}: expected a JSON list of clip records, got a "
                             f"{type(records).__name__}")
    for index, record in enumerate(records):
        check_record(record, path, index, num_classes)
    return records


def normalise_url(url: str) -> str:
    url = url.strip()
    return url if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", url) else "https://" + url


def video_id(url: str) -> str:
    """YouTube's ``v=`` id, else the URL's file name without suffix (direct file links)."""
    parsed = urlparse(normalise_url(url))
    query = parse_qs(parsed.query)
    if "v" in query:
        return query["v"][0]
    if parsed.netloc.endswith("youtu.be"):
        return unquote(parsed.path.lstrip("/"))
    name = unquote(parsed.path).rstrip("/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


def clip_id(record: dict) -> str:
    """``<video id>_<start ms>_<end ms>``: unique in the release and safe as a file name."""
    vid = video_id(record["url"])
    start = round(float(record["start_time"]) * 1000)
    end = round(float(record["end_time"]) * 1000)
    return f"{vid}_{start:07d}_{end:07d}"


def check_clip_id(value: str, where: str) -> str:
    """A clip id becomes a file name: refuse anything that could leave the output folder."""
    if not SAFE_ID.match(value) or value in (".", ".."):
        raise BadAnnotations(f"{where}: clip id {value!r} is not a safe file name (only "
                             "letters, digits, '.', '_' and '-'; no '/' or '..'); fix the "
                             "record's url")
    return value


def records_frame(records: list[dict], split: str, classes: list[str],
                  source: Path) -> pd.DataFrame:
    """One row per clip: the harness metadata plus what fetching needs (url, times, box)."""
    rows = []
    for index, record in enumerate(records):
        cid = check_clip_id(clip_id(record), f"{source}: record {index}")
        label = int(record["label"])
        rows.append({
            "clip_id": cid, "gloss": classes[label], "label": label, "split": split,
            "signer": str(int(record["signer_id"])), "url": normalise_url(record["url"]),
            "start_time": float(record["start_time"]), "end_time": float(record["end_time"]),
            "box": [float(v) for v in record["box"]],
            "fps": float(record.get("fps") or 0.0), "record": index,
            "text": str(record.get("text", classes[label])),
        })
    columns = ["clip_id", "gloss", "label", "split", "signer", "url", "start_time", "end_time",
               "box", "fps", "record", "text"]
    return pd.DataFrame(rows, columns=columns)


@dataclass
class MsaslSlice:
    """MS-ASL N: the first N classes and, per split present, the records with label < N."""

    vocab: int
    classes: list[str]
    records: dict[str, list[dict]]
    missing: list[str]
    folder: Path

    def frame(self) -> pd.DataFrame:
        parts = [records_frame(recs, split, self.classes, self.folder / split_file(split))
                 for split, recs in self.records.items()]
        frame = pd.concat(parts, ignore_index=True) if parts else \
            records_frame([], "", [], self.folder)
        duplicated = frame["clip_id"][frame["clip_id"].duplicated()].tolist()
        if duplicated:
            raise BadAnnotations(f"{self.folder}: several records share the url and times of "
                                 f"clip {duplicated[0]!r}; remove the duplicates")
        return frame

    def counts(self) -> pd.DataFrame:
        rows = []
        for split, recs in self.records.items():
            rows.append({"split": split, "clips": len(recs),
                         "classes": len({int(r["label"]) for r in recs}),
                         "signers": len({int(r["signer_id"]) for r in recs})})
        return pd.DataFrame(rows, columns=["split", "clips", "classes", "signers"])


def load_slice(vocab: int, annotations: Path | str | None = None,
               splits: tuple[str, ...] = SPLITS) -> MsaslSlice:
    folder = find_annotations(annotations)
    classes = load_classes(folder)
    if not 1 <= vocab <= len(classes):
        sizes = [str(size) for size in VOCAB_SIZES if size <= len(classes)]
        named = f"one of {', '.join(sizes)} or any " if sizes else "any "
        raise BadAnnotations(f"--vocab {vocab}: {folder / CLASSES_FILE} lists {len(classes)} "
                             f"classes; use {named}1-{len(classes)}")
    records, missing = {}, []
    for split in splits:
        if split not in SPLITS:
            raise BadAnnotations(f"unknown split {split!r}; MS-ASL has {', '.join(SPLITS)}")
        recs = load_split(folder, split, len(classes))
        if recs is None:
            missing.append(split)
            continue
        records[split] = [r for r in recs if int(r["label"]) < vocab]
    if not records:
        raise DatasetNotFound(f"{folder}: none of {', '.join(split_file(s) for s in splits)} "
                              "is here; they are part of Microsoft's MS-ASL release")
    if not any(records.values()):
        files = ", ".join(split_file(split) for split in records)
        raise BadAnnotations(f"{folder}: no clip with a label below {vocab} in {files}; "
                             "check the files or use a larger --vocab")
    return MsaslSlice(vocab, classes[:vocab], records, missing, folder)


def write_slice(sliced: MsaslSlice, out: Path | str) -> list[Path]:
    """``MSASL<N>_<split>.json`` (the official schema, records with label < N) + classes."""
    out = Path(out)
    written = []
    for split, recs in sliced.records.items():
        path = out / f"MSASL{sliced.vocab}_{split}.json"
        write_text(path, json.dumps(recs, ensure_ascii=False))
        written.append(path)
    path = out / f"MSASL{sliced.vocab}_classes.json"
    write_text(path, json.dumps(sliced.classes, ensure_ascii=False))
    written.append(path)
    return written


def default_slice_dir() -> Path:
    return data_root() / "downloads" / "msasl"
