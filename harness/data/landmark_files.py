"""Reading single landmark files: Kaggle asl-signs parquet, ``.npy`` (Holistic
``[T, 543, 3]`` or MediaPipe Hands ``[T, 2, 21, 3]``; see :func:`read_npy`) and ``.pose``
(pose-format, MediaPipe Holistic; see :mod:`harness.data.pose_files`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.clips import N_LANDMARKS
from harness.data.hands import DEFAULT_RULE, HANDS_SHAPE, hands_to_holistic
from harness.errors import BadLandmarks
from harness.data.store import validate_clip

# Offsets of each landmark type inside the project's [T, 543, 3] layout (pose first), which
# differs from the asl-signs files' row order (face, left_hand, pose, right_hand).
TYPE_OFFSETS = {"pose": 0, "face": 33, "left_hand": 501, "right_hand": 522}
TYPE_SIZES = {"pose": 33, "face": 468, "left_hand": 21, "right_hand": 21}
PARQUET_COLUMNS = ["frame", "type", "landmark_index", "x", "y", "z"]
NPY_LAYOUTS = (f"[frames, {N_LANDMARKS}, 3] (Holistic) or [frames, 2, 21, 3] (MediaPipe "
               "Hands, -1 = no hand)")


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


def read_landmark_file(path: Path | str, rule: str = DEFAULT_RULE) -> np.ndarray:
    """One clip from ``.parquet`` (asl-signs schema), ``.npy`` (see :func:`read_npy`, whose
    hands of the MediaPipe Hands layout ``rule`` places) or ``.pose``, validated."""
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
        return read_npy(path, rule)[0]
    elif suffix == ".pose":
        from harness.data.pose_files import read_pose_file
        return read_pose_file(path)
    else:
        raise BadLandmarks(f"{path}: unsupported landmark file type {suffix!r}; use .parquet "
                           f"(asl-signs schema), .npy {NPY_LAYOUTS} or .pose (MediaPipe "
                           "Holistic, pose-format)")
    return validate_clip(array, str(path))


def read_npy(path: Path | str, rule: str = DEFAULT_RULE) -> tuple[np.ndarray, bool]:
    """A ``.npy`` clip as Holistic ``[T, 543, 3]``, validated; True when it came in the
    MediaPipe Hands layout and ``rule`` (:mod:`harness.data.hands`) placed its hands.

    The one reader of both layouts, so that a file the ``wlasl`` dataset trains on is read
    the same by ``slrbench predict`` and the ``landmarks`` dataset. Integer coordinates
    are numbers like any other: made float32 here and judged by the range check as floats
    are, so a file of pixels is refused for its unit, not for its dtype.
    """
    path = Path(path)
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as error:  # noqa: BLE001 - numpy raises many types for a bad file
        if "allow_pickle" in str(error):    # not damaged: objects, which are never unpickled
            raise BadLandmarks(f"{path}: holds pickled Python objects, not numbers; save the "
                               f"landmarks as a float or integer array {NPY_LAYOUTS}") from None
        raise BadLandmarks(f"{path}: cannot read this .npy file ({error}); it may be "
                           "truncated — re-extract it") from None
    if not isinstance(array, np.ndarray):   # np.load opens an .npz by its content
        array.close()
        raise BadLandmarks(f"{path}: an .npz archive (named arrays), not one .npy array; "
                           f"save one clip per file as {NPY_LAYOUTS}")
    if np.issubdtype(array.dtype, np.integer):      # bool is no integer dtype to numpy
        array = array.astype(np.float32)
    if not np.issubdtype(array.dtype, np.floating) or array.ndim not in (3, 4) \
            or array.shape[1:] not in (HANDS_SHAPE, (N_LANDMARKS, 3)):
        raise BadLandmarks(f"{path}: landmarks of shape {array.shape} and dtype {array.dtype}; "
                           f"expected float or integer coordinates {NPY_LAYOUTS}")
    # checked here, where the file is known (no frames too): the store's own check names
    # only the clip id
    if array.ndim == 4:
        return validate_clip(hands_to_holistic(array, rule), str(path)), True
    return validate_clip(array, str(path)), False
