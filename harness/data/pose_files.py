"""``.pose`` files (the ``pose-format`` library) in and out of the ``[T, 543, 3]`` contract.

The sign-language community exchanges poses as ``.pose`` files (ASL Citizen, AUTSL,
PopSign, ...). A MediaPipe Holistic ``.pose`` holds the components ``POSE_LANDMARKS`` (33),
``FACE_LANDMARKS`` (468, or 478 with the refined irises), ``LEFT_HAND_LANDMARKS`` and
``RIGHT_HAND_LANDMARKS`` (21 each), usually also ``POSE_WORLD_LANDMARKS``, with x and y in
pixels of the header's width and height, z as MediaPipe gives it, and a confidence per point
that is 0 where nothing was detected.

Reading maps points by component and point name (so a file holding a subset of the points,
e.g. only the face contours, still lands in the right slots), divides x and y by the
header's size, turns zero confidence into NaN, drops the iris points and the world
landmarks, and takes the first person of a multi-person file. Writing is the inverse, with
confidence 1 for every point that is present: the store keeps no per-point confidence.
"""
from __future__ import annotations

import hashlib
import importlib.util
import io
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from harness.data.clips import N_LANDMARKS
from harness.data.store import LandmarkStore, validate_clip
from harness.errors import BadLandmarks
from harness.util.atomic import atomic_path, write_text

INSTALL = "install the pose extra: pip install 'slrbench[pose]'"
POSE, FACE = "POSE_LANDMARKS", "FACE_LANDMARKS"
LEFT_HAND, RIGHT_HAND = "LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"
WORLD = "POSE_WORLD_LANDMARKS"

# Point names as pose-format's holistic header writes them (MediaPipe's PoseLandmark and
# HandLandmark enum names; the face mesh points are their indices as strings).
BODY_POINTS = (
    "NOSE", "LEFT_EYE_INNER", "LEFT_EYE", "LEFT_EYE_OUTER", "RIGHT_EYE_INNER", "RIGHT_EYE",
    "RIGHT_EYE_OUTER", "LEFT_EAR", "RIGHT_EAR", "MOUTH_LEFT", "MOUTH_RIGHT", "LEFT_SHOULDER",
    "RIGHT_SHOULDER", "LEFT_ELBOW", "RIGHT_ELBOW", "LEFT_WRIST", "RIGHT_WRIST", "LEFT_PINKY",
    "RIGHT_PINKY", "LEFT_INDEX", "RIGHT_INDEX", "LEFT_THUMB", "RIGHT_THUMB", "LEFT_HIP",
    "RIGHT_HIP", "LEFT_KNEE", "RIGHT_KNEE", "LEFT_ANKLE", "RIGHT_ANKLE", "LEFT_HEEL",
    "RIGHT_HEEL", "LEFT_FOOT_INDEX", "RIGHT_FOOT_INDEX")
HAND_POINTS = (
    "WRIST", "THUMB_CMC", "THUMB_MCP", "THUMB_IP", "THUMB_TIP", "INDEX_FINGER_MCP",
    "INDEX_FINGER_PIP", "INDEX_FINGER_DIP", "INDEX_FINGER_TIP", "MIDDLE_FINGER_MCP",
    "MIDDLE_FINGER_PIP", "MIDDLE_FINGER_DIP", "MIDDLE_FINGER_TIP", "RING_FINGER_MCP",
    "RING_FINGER_PIP", "RING_FINGER_DIP", "RING_FINGER_TIP", "PINKY_MCP", "PINKY_PIP",
    "PINKY_DIP", "PINKY_TIP")
FACE_POINTS = tuple(str(i) for i in range(468))   # 468-477 (refined irises) are dropped

# component -> (offset in the [543] layout, its point names in layout order)
COMPONENTS = {POSE: (0, BODY_POINTS), FACE: (33, FACE_POINTS), LEFT_HAND: (501, HAND_POINTS),
              RIGHT_HAND: (522, HAND_POINTS)}
SLOTS = {name: {point: offset + i for i, point in enumerate(points)}
         for name, (offset, points) in COMPONENTS.items()}


def _pose_format():
    try:
        from pose_format import Pose
        from pose_format.numpy import NumPyPoseBody
        from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions
    except ImportError:
        raise BadLandmarks(f".pose files need the pose-format library; {INSTALL}") from None
    return Pose, NumPyPoseBody, PoseHeader, PoseHeaderComponent, PoseHeaderDimensions


# --- reading -------------------------------------------------------------------------------
def _what_it_holds(header) -> str:
    names = [c.name for c in header.components]
    try:
        from pose_format.utils.generic import detect_known_pose_format
        kind = f"{detect_known_pose_format(header)} "
    except Exception:  # noqa: BLE001 - an unknown schema is reported by its names alone
        kind = ""
    return f"{kind}components {', '.join(names) or '(none)'}"


def read_pose(path: Path | str) -> tuple[np.ndarray, float]:
    """One clip from a MediaPipe Holistic ``.pose`` file: float32 ``[T, 543, 3]`` and fps."""
    path = Path(path)
    Pose = _pose_format()[0]
    try:
        pose = Pose.read(path.read_bytes())
    except OSError as error:
        raise BadLandmarks(f"{path}: cannot read ({error.strerror or error})") from None
    except Exception as error:  # noqa: BLE001 - a damaged file fails in struct/numpy
        raise BadLandmarks(f"{path}: not a readable .pose file ({type(error).__name__}: "
                           f"{str(error).splitlines()[0][:120] if str(error) else ''}); it "
                           "may be truncated: write or download it again") from None
    header, body = pose.header, pose.body
    present = [c.name for c in header.components if c.name in COMPONENTS]
    if not present:
        raise BadLandmarks(f"{path}: holds {_what_it_holds(header)}, not MediaPipe Holistic "
                           f"({', '.join(COMPONENTS)}); convert it to Holistic landmarks or "
                           "extract them again with `slrbench data extract`")
    if LEFT_HAND not in present and RIGHT_HAND not in present:
        raise BadLandmarks(f"{path}: holds no hands ({_what_it_holds(header)}); sign "
                           f"recognition needs {LEFT_HAND} or {RIGHT_HAND}")
    width, height = header.dimensions.width, header.dimensions.height
    if width <= 0 or height <= 0:
        raise BadLandmarks(f"{path}: header gives a frame size of {width}x{height}; pixel "
                           "coordinates cannot be normalised without a positive width and height")
    data = np.asarray(body.data.data if np.ma.isMaskedArray(body.data) else body.data,
                      dtype=np.float32)
    confidence = np.asarray(body.confidence, dtype=np.float32)
    if data.ndim != 4 or data.shape[1] == 0 or data.shape[0] == 0:
        raise BadLandmarks(f"{path}: holds {data.shape[0] if data.ndim else 0} frames of "
                           f"{data.shape[1] if data.ndim > 1 else 0} people; nothing to read")
    data, confidence = data[:, 0], confidence[:, 0]     # the first person
    out = np.full((data.shape[0], N_LANDMARKS, 3), np.nan, dtype=np.float32)
    start = 0
    for component in header.components:
        count = len(component.points)
        if component.name in COMPONENTS:
            _place(out, data, confidence, component, start, width, height, path)
        start += count
    hands = out[:, 501:543]
    if np.isnan(hands).all():
        raise BadLandmarks(f"{path}: no hand was detected in any of its {len(out)} frames "
                           "(every hand point has zero confidence); drop the clip")
    return validate_clip(out, str(path)), float(body.fps)


def _place(out, data, confidence, component, start, width, height, path) -> None:
    slots = SLOTS[component.name]
    source, target = [], []
    for i, point in enumerate(component.points):
        slot = slots.get(str(point))
        if slot is not None:
            source.append(start + i)
            target.append(slot)
    if not source:
        raise BadLandmarks(f"{path}: component {component.name} has none of MediaPipe's point "
                           f"names (it has {', '.join(map(str, component.points[:4]))}, ...)")
    dims = component.format.replace("C", "")
    if "X" not in dims or "Y" not in dims:
        raise BadLandmarks(f"{path}: component {component.name} has point format "
                           f"{component.format!r}; X and Y are needed")
    values = data[:, source]
    block = np.full((len(values), len(target), 3), np.nan, dtype=np.float32)
    scale = {"X": width, "Y": height, "Z": 1.0}
    for axis, letter in enumerate("XYZ"):
        if letter in dims:   # a 2-D file (XYC) keeps z NaN: unknown, not zero
            block[..., axis] = values[..., dims.index(letter)] / scale[letter]
    block[confidence[:, source] == 0] = np.nan
    out[:, target] = block


def read_pose_file(path: Path | str) -> np.ndarray:
    return read_pose(path)[0]


# --- writing -------------------------------------------------------------------------------
def _mediapipe_connections() -> dict[str, list[tuple[int, int]]]:
    """Limbs from MediaPipe's connection tables, loaded from their files alone: importing
    the mediapipe package costs seconds (it pulls TensorFlow), these files are constants."""
    limbs = {POSE: [], FACE: [], LEFT_HAND: [], RIGHT_HAND: []}
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        return limbs  # points are still drawn; only the lines between them are missing
    folder = Path(list(spec.submodule_search_locations)[0]) / "python" / "solutions"

    def table(module: str, name: str) -> list[tuple[int, int]]:
        file = folder / f"{module}.py"
        if not file.exists():
            return []
        loaded = importlib.util.module_from_spec(
            importlib.util.spec_from_file_location(f"_slrbench_{module}", file))
        loaded.__loader__.exec_module(loaded)
        return sorted((int(a), int(b)) for a, b in getattr(loaded, name, ()))

    limbs[POSE] = table("pose_connections", "POSE_CONNECTIONS")
    limbs[FACE] = table("face_mesh_connections", "FACEMESH_TESSELATION")
    limbs[LEFT_HAND] = limbs[RIGHT_HAND] = table("hands_connections", "HAND_CONNECTIONS")
    return limbs


_COLORS = {POSE: [(255, 0, 0)], FACE: [(128, 0, 0)], LEFT_HAND: [(0, 160, 255)],
           RIGHT_HAND: [(0, 200, 0)]}


def holistic_header(width: int, height: int):
    """A pose-format header for the four Holistic components, point format XYZC."""
    _, _, PoseHeader, PoseHeaderComponent, PoseHeaderDimensions = _pose_format()
    limbs = _mediapipe_connections()
    components = [PoseHeaderComponent(name=name, points=list(points), limbs=limbs[name],
                                      colors=_COLORS[name], point_format="XYZC")
                  for name, (_, points) in COMPONENTS.items()]
    return PoseHeader(version=0.2, dimensions=PoseHeaderDimensions(int(width), int(height), 0),
                      components=components)


def pose_bytes(landmarks: np.ndarray, fps: float, width: int, height: int, header=None) -> bytes:
    """One ``[T, 543, 3]`` clip as the bytes of a ``.pose`` file (NaN -> confidence 0)."""
    Pose, NumPyPoseBody = _pose_format()[:2]
    landmarks = validate_clip(landmarks, "landmarks to write")
    if width <= 0 or height <= 0:
        raise BadLandmarks(f"frame size {width}x{height}: a .pose file needs the video's "
                           "positive width and height")
    present = ~np.isnan(landmarks).any(axis=-1)
    pixels = landmarks * np.asarray([width, height, 1.0], dtype=np.float32)
    pixels = np.where(present[..., None], pixels, 0.0).astype(np.float32)
    body = NumPyPoseBody(fps=float(fps), data=pixels[:, None],
                         confidence=present[:, None].astype(np.float32))
    buffer = io.BytesIO()
    Pose(header or holistic_header(width, height), body).write(buffer)
    return buffer.getvalue()


def write_pose(path: Path | str, landmarks: np.ndarray, fps: float, width: int,
               height: int) -> Path:
    """Write one clip as a ``.pose`` file, atomically."""
    path = Path(path)
    data = pose_bytes(landmarks, fps, width, height)
    with atomic_path(path, suffix=".pose") as tmp:
        tmp.write_bytes(data)
    return path


def pose_name(clip_id: str) -> str:
    """``<clip_id>.pose``, in sub-folders where the id has them; an id that would leave the
    folder (absolute, ``..``) is flattened."""
    parts = Path(clip_id).parts
    if not parts or Path(clip_id).is_absolute() or ".." in parts:
        return clip_id.replace("/", "_").replace("\\", "_").replace("..", "_") + ".pose"
    return clip_id + ".pose"


def write_store_poses(store: LandmarkStore, folder: Path | str,
                      frame_size: Callable[[dict], tuple[int, int]]) -> Path:
    """Every clip of ``store`` as ``folder/<clip_id>.pose``, plus ``index.csv`` (file, gloss,
    signer, split, clip_id, fps), so the folder is itself a ``landmarks`` dataset.

    ``frame_size(row)`` gives a clip's video width and height in pixels.
    """
    folder = Path(folder)
    rows = []
    used: set[str] = set()
    for i, row in enumerate(store.meta.to_dict("records")):
        width, height = frame_size(row)
        name = pose_name(str(row["clip_id"]))
        if name in used:    # two flattened ids met ("../x" and "__x"): one overwrote the other
            digest = hashlib.sha1(str(row["clip_id"]).encode("utf-8")).hexdigest()[:8]
            name = f"{name.removesuffix('.pose')}-{digest}.pose"
        used.add(name)
        write_pose(folder / name, store.clip(i), float(row["fps"]), width, height)
        rows.append({"file": name, "gloss": row["gloss"], "signer": row.get("signer", ""),
                     "split": row.get("split", ""), "clip_id": row["clip_id"],
                     "fps": row["fps"]})
    write_text(folder / "index.csv", pd.DataFrame(rows).to_csv(index=False))
    for stale in folder.rglob("*.pose"):     # of clips the store no longer holds
        if stale.relative_to(folder).as_posix() not in used:
            stale.unlink()
    return folder


def pose_folder(store: Path | str) -> Path:
    """Where ``data extract --format pose`` puts the ``.pose`` files of a store."""
    store = Path(store)
    return store.with_name(store.name + ".pose")
