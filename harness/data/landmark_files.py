"""Reading single landmark files: Kaggle asl-signs parquet, ``.npy`` ``[T, 543, 3]`` and
``.pose`` (pose-format, MediaPipe Holistic; see :mod:`harness.data.pose_files`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.clips import N_LANDMARKS
from harness.errors import BadLandmarks
from harness.data.store import validate_clip

# Offsets of each landmark type inside the project's [T, 543, 3] layout (pose first), which
# differs from the asl-signs files' row order (face, left_hand, pose, right_hand).
TYPE_OFFSETS = {"pose": 0, "face": 33, "left_hand": 501, "right_hand": 522}
TYPE_SIZES = {"pose": 33, "face": 468, "left_hand": 21, "right_hand": 21}
PARQUET_COLUMNS = ["frame", "type", "landmark_index", "x", "y", "z"]


def parquet_to_array(frame: pd.DataFrame, where: str) -> np.ndarray:
    """asl-signs long format (one row per frame x landmark) -> float32 ``[T, 543, 3]``."""
    missing = [c for c in PARQUET_COLUMNS if c not in frame.columns]
    if missing:
        raise BadLandmarks(f"{where}: missing columns {missing}; expected the asl-signs schema "
                           "frame,row_id,type,landmark_index,x,y,z")
    if frame["type"].isna().any():
        raise BadLandmarks(f"{where}: column 'type' has an empty value in row "
                           f"{int(np.flatnonzero(frame['type'].isna().to_numpy())[0])}")
    types = frame["type"].astype(str).to_numpy()
    unknown = set(np.unique(types)) - set(TYPE_OFFSETS)
    if unknown:
        raise BadLandmarks(f"{where}: unknown landmark types {sorted(unknown)}")
    offsets = pd.Series(TYPE_OFFSETS)[types].to_numpy()
    sizes = pd.Series(TYPE_SIZES)[types].to_numpy()
    index = _numbers(frame, "landmark_index", where, whole=True).astype(np.int64)
    if (index < 0).any() or (index >= sizes).any():
        raise BadLandmarks(f"{where}: landmark_index out of range for its type")
    # numbers, not text: frames "10" and "9" as text would be put in the wrong order
    frames, frame_pos = np.unique(_numbers(frame, "frame", where, whole=True),
                                  return_inverse=True)
    out = np.full((len(frames), N_LANDMARKS, 3), np.nan, dtype=np.float32)
    out[frame_pos, offsets + index] = np.stack(
        [_numbers(frame, axis, where) for axis in "xyz"], axis=1).astype(np.float32)
    return out


def _numbers(frame: pd.DataFrame, column: str, where: str, whole: bool = False) -> np.ndarray:
    """A column as numbers (a coordinate may be empty: not seen); a cell that is no number,
    or for ``whole`` columns an empty or fractional one, names the row."""
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values):
        numbers, bad = values, np.zeros(len(values), dtype=bool)
    else:       # text: only an empty cell (or "nan") may be missing
        numbers = pd.to_numeric(values, errors="coerce")
        empty = values.isna() | values.astype(str).str.strip().str.lower().isin(["", "nan"])
        bad = (numbers.isna() & ~empty).to_numpy()
    if whole:
        bad = bad | (numbers.isna() | (numbers != numbers.round())).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise BadLandmarks(f"{where}: column {column!r} holds {values.iloc[row]!r} in row "
                           f"{row}, not {'a whole number' if whole else 'a number'}")
    return numbers.to_numpy(dtype=np.float64)


def read_landmark_file(path: Path | str) -> np.ndarray:
    """One clip from ``.parquet`` (asl-signs schema), ``.npy`` (``[T, 543, 3]``) or ``.pose``,
    validated."""
    path = Path(path)
    if not path.exists():
        raise BadLandmarks(f"{path}: no such landmark file")
    try:        # a file that cannot be opened is not a damaged one: say which it is
        with open(path, "rb"):
            pass
    except OSError as error:
        raise BadLandmarks(f"{path}: cannot open this landmark file ({error.strerror}); "
                           + ("make it readable" if isinstance(error, PermissionError)
                              else "give a .parquet, .npy or .pose file")) from None
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
            columns = pq.read_schema(path).names
        except Exception as error:  # noqa: BLE001 - pyarrow raises many types for bad files
            raise BadLandmarks(f"{path}: not a readable parquet file ({type(error).__name__}: "
                               f"{str(error).splitlines()[0][:120]}); it may be truncated — "
                               "re-download or re-extract it") from None
        missing = [c for c in PARQUET_COLUMNS if c not in columns]
        if missing:
            raise BadLandmarks(f"{path}: a parquet file of another schema (columns "
                               f"{columns[:8]}; missing {missing}); expected the asl-signs "
                               "schema frame,row_id,type,landmark_index,x,y,z")
        try:
            frame = pd.read_parquet(path, columns=PARQUET_COLUMNS)
        except Exception as error:  # noqa: BLE001 - pyarrow raises many types for bad files
            raise BadLandmarks(f"{path}: cannot read this parquet file ({type(error).__name__}: "
                               f"{str(error).splitlines()[0][:120]}); it may be truncated — "
                               "re-download or re-extract it") from None
        array = parquet_to_array(frame, str(path))
    elif suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except Exception as error:  # noqa: BLE001
            raise BadLandmarks(f"{path}: cannot read this .npy file ({error}); it may be "
                               "truncated — re-extract it") from None
    elif suffix == ".pose":
        from harness.data.pose_files import read_pose_file
        return read_pose_file(path)
    else:
        raise BadLandmarks(f"{path}: unsupported landmark file type {suffix!r}; use .parquet "
                           "(asl-signs schema), .npy [frames, 543, 3] or .pose (MediaPipe "
                           "Holistic, pose-format)")
    return validate_clip(array, str(path))
