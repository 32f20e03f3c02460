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
    types = frame["type"].astype(str).to_numpy()
    unknown = set(np.unique(types)) - set(TYPE_OFFSETS)
    if unknown:
        raise BadLandmarks(f"{where}: unknown landmark types {sorted(unknown)}")
    offsets = pd.Series(TYPE_OFFSETS)[types].to_numpy()
    sizes = pd.Series(TYPE_SIZES)[types].to_numpy()
    index = frame["landmark_index"].to_numpy().astype(np.int64)
    if (index < 0).any() or (index >= sizes).any():
        raise BadLandmarks(f"{where}: landmark_index out of range for its type")
    frames, frame_pos = np.unique(frame["frame"].to_numpy(), return_inverse=True)
    out = np.full((len(frames), N_LANDMARKS, 3), np.nan, dtype=np.float32)
    out[frame_pos, offsets + index] = frame[["x", "y", "z"]].to_numpy(dtype=np.float32)
    return out


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
