"""The one reader of a folder's clip index: ``index.csv``, else ``labels.csv``.

An index is a CSV with a header row, one clip a row. ``file`` (a video, a folder of JPEG
frames or a landmark file, relative to the index's folder or absolute) and ``gloss`` are
required; optional columns: ``clip_id``, ``signer``, ``session``, ``split``, ``label``,
``fps``, ``url``, ``start_time``/``end_time`` (seconds) and ``start_frame``/``end_frame``
(a 1-based, inclusive window of the frames to use; ``end_frame`` -1 or empty: to the last
frame). ``slrbench data extract``, the ``landmarks`` and the ``videos`` datasets all read
it here, so one folder means the same clips to each of them.

When a folder holds both names, ``index.csv`` wins (it is the name slrbench writes itself,
e.g. ``data fetch``); ``labels.csv`` is read only where there is no ``index.csv``.
"""
from __future__ import annotations

import csv
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import BadAnnotations, SlrbenchError
from harness.util.paths import inside

INDEX_NAMES = ("index.csv", "labels.csv")       # in this order: the first found is read
REQUIRED = ("file", "gloss")
TIME_COLUMNS = ("start_time", "end_time")
NUMERIC_COLUMNS = ("fps", *TIME_COLUMNS)
WINDOW_COLUMNS = ("start_frame", "end_frame")
TO_THE_END = -1                                 # end_frame of a window that runs to the end
UNKNOWN_SIGNER = "unknown"
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
LANDMARK_SUFFIXES = (".npy", ".parquet", ".pose")
COLUMNS_HELP = ("columns file,gloss (optional clip_id, signer, session, split, fps, "
                "start_frame, end_frame)")


def find_index(folder: Path, error: type[SlrbenchError] = BadAnnotations,
               fix: str = f"write one with {COLUMNS_HELP}, file relative to this folder") -> Path:
    """``folder``'s index file; else ``error`` naming the folder, the names looked for and ``fix``."""
    folder = Path(folder)
    if not folder.exists():         # said plainly, not as a folder without an index
        raise error(f"{folder}: no such folder")
    for name in INDEX_NAMES:
        if (folder / name).is_file():
            return folder / name
    raise error(f"{folder}: no {' or '.join(INDEX_NAMES)} here; {fix}")


def read_index(folder: Path, index_file: Path | None = None) -> pd.DataFrame:
    """The clips of ``folder`` (its own index file unless ``index_file`` is given).

    Columns: ``clip_id, file, path`` (absolute), ``gloss, signer, split`` (lower case,
    ``dev`` read as ``val``, empty where not given) and any optional columns, as text but
    for the numeric ones; see :func:`normalise_index`.
    """
    folder = Path(folder)
    index_file = Path(index_file) if index_file else find_index(folder)
    if not index_file.is_file():
        raise BadAnnotations(f"{index_file}: no such index file; give --index a CSV with "
                             f"{COLUMNS_HELP}")
    index = read_text_csv(index_file, f"a header row with {COLUMNS_HELP}, saved as UTF-8")
    return normalise_index(index, folder, str(index_file))


def read_text(path: Path, holds: str, encoding: str = "utf-8") -> str:
    """A dataset's text file, whole; one that cannot be read as text (not UTF-8, a folder,
    unreadable) is a :class:`BadAnnotations` line naming ``path`` and what it ``holds``."""
    try:
        return Path(path).read_text(encoding=encoding)
    except UnicodeDecodeError:
        raise BadAnnotations(f"{path}: not UTF-8 text; it should hold {holds}") from None
    except IsADirectoryError:
        raise BadAnnotations(f"{path}: a folder, not a file of {holds}") from None
    except PermissionError:
        raise BadAnnotations(f"{path}: permission denied; make it readable") from None


def read_text_csv(path: Path, needs: str) -> pd.DataFrame:
    """Every cell of a CSV as text (an empty cell is ``""``, never NaN); a file that cannot
    be read as one is a :class:`BadAnnotations` line naming ``path`` and what it ``needs``."""
    try:
        with warnings.catch_warnings():
            # a row longer than the header: pandas would take its first cells as the row's
            # index, shifting every cell (the gloss read as the file); made an error
            warnings.simplefilter("error", pd.errors.ParserWarning)
            try:
                return pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False)
            except pd.errors.ParserWarning:
                _refuse_long_rows(path)
                warnings.simplefilter("ignore", pd.errors.ParserWarning)
                return pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False)
    except PermissionError:
        raise BadAnnotations(f"{path}: permission denied; make it readable") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            OSError) as error:
        if isinstance(error, pd.errors.ParserError):
            _refuse_long_rows(path)
        text = (str(error).strip().splitlines() or [type(error).__name__])[0][:120]
        kind = "not UTF-8 text: " if isinstance(error, UnicodeDecodeError) else \
            "an empty file: " if isinstance(error, pd.errors.EmptyDataError) else ""
        raise BadAnnotations(f"{path}: not a readable CSV ({kind}{text}); it needs "
                             f"{needs}") from None


def _refuse_long_rows(path: Path) -> None:
    """A row with more cells than the header is refused, unless its extra cells are all
    empty (a spreadsheet's trailing commas), which are dropped."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as file:
        rows = csv.reader(file)
        header = len(next(rows, []))
        for number, row in enumerate(rows, start=2):
            if any(cell.strip() for cell in row[header:]):
                raise BadAnnotations(f"{path}: row {number} has {len(row)} cells but the "
                                     f"header only {header}; name every column in the "
                                     "header row")


def normalise_index(index: pd.DataFrame, folder: Path, where: str) -> pd.DataFrame:
    """Check an index table and complete it; ``where`` names it in errors.

    Idempotent: a table this returned comes back the same, so a dataset may hand over
    either its raw rows or rows it read with :func:`read_index`.
    """
    missing = [c for c in REQUIRED if c not in index.columns]
    if missing:
        raise BadAnnotations(f"{where}: missing columns {missing}; the index needs "
                             f"{COLUMNS_HELP}")
    if index.empty:
        raise BadAnnotations(f"{where}: lists no clips (a header and no rows); add one row "
                             f"per clip with {COLUMNS_HELP}")
    index = index.copy()
    for column in REQUIRED:
        index[column] = _text(index[column])
        _refuse_empty(index[column].str.strip() == "", where, f"an empty {column!r}")
    # absolute, so that a store made from `--videos ../x` is recognised from anywhere; and
    # inside the folder, so that an index cannot make slrbench read anything else
    folder = Path(os.path.abspath(folder))
    index["path"] = [str(inside(folder, file, f"{where}: row {row}"))
                     for row, file in enumerate(index["file"], start=2)]
    given = _text(index["clip_id"]).str.strip() if "clip_id" in index else \
        pd.Series("", index=index.index)
    index["clip_id"] = [cid or default_clip_id(f, folder) for cid, f in zip(given, index["file"])]
    duplicated = index["clip_id"][index["clip_id"].duplicated()].tolist()
    if duplicated:
        raise BadAnnotations(f"{where}: duplicate clip ids {duplicated[:3]}; each row must "
                             "name a different clip (add a clip_id column with unique values)")
    index["signer"] = (_text(index["signer"]).str.strip().replace("", UNKNOWN_SIGNER)
                       if "signer" in index else UNKNOWN_SIGNER)
    index["split"] = (_checked_splits(index["split"], where) if "split" in index else "")
    if (index["split"] != "").any():    # caught here, before an extraction is paid for
        _refuse_empty(index["split"] == "", where, "no split while other rows have one; give "
                      "every clip train, val or test, or none for a generated split")
    for column in NUMERIC_COLUMNS:
        if column in index:
            index[column] = _numbers(index[column], where, column)
    if "fps" in index:
        _refuse_bad_rates(index["fps"], where)
    _refuse_bad_times(index, where)
    if any(c in index for c in WINDOW_COLUMNS):
        _frame_window(index, where)
    _refuse_repeated_clips(index, where)
    return index.reset_index(drop=True)


def _refuse_repeated_clips(index: pd.DataFrame, where: str) -> None:
    """One file (and window) listed on two rows under two clip ids would be one recording
    seen twice: it could land in train and in test, and the test would grade memory."""
    same = [c for c in ("path", *WINDOW_COLUMNS, "start_time", "end_time") if c in index]
    # an empty time stays NaN through astype(str) (pandas 3), and join refused it
    keys = index[same].astype(str).fillna("").agg("\x1f".join, axis=1)
    repeated = keys[keys.duplicated()]
    if len(repeated):
        first, again = np.flatnonzero((keys == repeated.iloc[0]).to_numpy())[:2]
        raise BadAnnotations(f"{where}: rows {first + 2} and {again + 2} list the same clip "
                             f"({index['file'].iloc[first]}); list each recording once")


def default_clip_id(file: str, folder: Path) -> str:
    """The file's path under ``folder`` without its video or landmark suffix (else its stem)."""
    suffixes = VIDEO_SUFFIXES + LANDMARK_SUFFIXES
    path = Path(file)
    if path.is_absolute():
        try:
            path = path.relative_to(folder)
        except ValueError:
            return path.stem if path.suffix.lower() in suffixes else path.name
    return (path.with_suffix("") if path.suffix.lower() in suffixes else path).as_posix()


SPLIT_NAMES = {"train": "train", "val": "val", "dev": "val", "validation": "val",
               "test": "test"}


def _checked_splits(values: pd.Series, where: str) -> pd.Series:
    """``split`` as train/val/test (``dev``, ``validation``: val), empty where not given.

    A value outside these is an error, never a reason to drop the column: a typo must
    not turn the user's split into a generated one without a word.
    """
    text = _text(values).str.strip().str.lower()
    bad = ~text.isin([*SPLIT_NAMES, ""])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise BadAnnotations(f"{where}: row {row + 2} has split {values.iloc[row]!r}; allowed "
                             "values are train, val (or dev) and test (or an empty column "
                             "for a generated split)")
    return text.map(lambda value: SPLIT_NAMES.get(value, ""))


def _refuse_empty(bad: pd.Series, where: str, what: str) -> None:
    if bad.any():
        raise BadAnnotations(f"{where}: row {int(np.flatnonzero(bad.to_numpy())[0]) + 2} has "
                             f"{what}")


def _text(values: pd.Series) -> pd.Series:
    """As text, a missing value (NaN, None) as an empty cell, as the CSV reader gives it."""
    return values.where(values.notna(), "").astype(str)


def _numbers(values: pd.Series, where: str, column: str) -> pd.Series:
    text = _text(values).str.strip()
    numbers = pd.to_numeric(text.mask(text == ""), errors="coerce")
    bad = numbers.isna() & (text != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise BadAnnotations(f"{where}: row {row + 2} has {column} {text.iloc[row]!r}, "
                             "not a number")
    return numbers.astype(float)


def _refuse_bad_rates(fps: pd.Series, where: str) -> None:
    """An fps of 0, below 0 or infinite is no frame rate (a typo, or a tool's "unknown"):
    a model that reads the rate (keyframe_mlp's velocities are per second) put its own
    default in its place without a word. Empty stays allowed: the video's own rate, else
    the dataset's default, is used."""
    _refuse_outside(fps, fps > 0, where, "fps", "not a frame rate; give the clip's frames "
                    "per second (above 0), or leave the cell empty")


def _refuse_bad_times(index: pd.DataFrame, where: str) -> None:
    """A ``start_time`` or ``end_time`` below 0 or infinite is no moment of a video (a typo,
    or a tool's "unknown"), yet `data extract` kept it in the store's clip table as the
    clip's trim. 0 is a time like any other (many MS-ASL clips start there); empty stays
    allowed: not given."""
    for column in TIME_COLUMNS:
        if column in index:
            _refuse_outside(index[column], index[column] >= 0, where, column,
                            "not a time in the video; give seconds from the video's start "
                            "(0 or more), or leave the cell empty")


def _refuse_outside(values: pd.Series, allowed: pd.Series, where: str, column: str,
                    why: str) -> None:
    """The first row whose value is given but not finite and ``allowed``, in one line."""
    bad = values.notna() & ~(np.isfinite(values) & allowed)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise BadAnnotations(f"{where}: row {row + 2} has {column} {values.iloc[row]:g}, {why}")


def _frame_window(index: pd.DataFrame, where: str) -> None:
    """``start_frame``/``end_frame`` as integers: 1-based, inclusive, -1 = to the end."""
    start = (_numbers(index["start_frame"], where, "start_frame") if "start_frame" in index
             else pd.Series(np.nan, index=index.index)).fillna(1)
    end = (_numbers(index["end_frame"], where, "end_frame") if "end_frame" in index
           else pd.Series(np.nan, index=index.index)).fillna(TO_THE_END)
    _refuse_empty((start != start.round()) | (end != end.round()), where,
                  "a start_frame or end_frame that is not a whole frame number")
    _refuse_empty(start < 1, where, "start_frame below 1 (frames are counted from 1)")
    _refuse_empty((end != TO_THE_END) & (end < start), where,
                  f"end_frame before start_frame (end_frame {TO_THE_END} or empty: to the "
                  "last frame)")
    index["start_frame"] = start.astype(np.int64)
    index["end_frame"] = end.astype(np.int64)


def windows(index: pd.DataFrame) -> list[tuple[int, int | None]]:
    """Each clip's frames as a 0-based ``(first, stop)`` slice: its window, else all of them."""
    if "start_frame" not in index:
        return [(0, None)] * len(index)
    return [(int(start) - 1, None if int(end) == TO_THE_END else int(end))
            for start, end in zip(index["start_frame"], index["end_frame"])]


def folder_name(folder: Path) -> str:
    """What a folder's clips are called: its name without a ``-videos`` suffix."""
    return Path(folder).resolve().name.removesuffix("-videos")


def clip_meta(index: pd.DataFrame) -> pd.DataFrame:
    """An index read here as clip metadata (``fps`` NaN where not given, ``n_frames`` 0:
    the adapter counts them); ``label`` is added by :func:`harness.data.clips.relabel`."""
    meta = pd.DataFrame({
        "clip_id": index["clip_id"], "gloss": index["gloss"], "split": index["split"],
        "signer": index["signer"], "fps": index["fps"] if "fps" in index else np.nan,
        "n_frames": 0, "source": index["file"]})
    for column in ("session", *WINDOW_COLUMNS):
        if column in index:
            meta[column] = index[column]
    return meta
