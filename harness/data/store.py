"""The packed landmark store: one dataset in four files, memory-mapped on read.

Layout of a store directory::

    manifest.json   format, version, clip and frame counts, vocabulary, parts it lacks
    clips.parquet   one row of metadata per clip, in store order
    offsets.npy     int64 [N + 1]: clip i is frames offsets[i]:offsets[i+1]
    landmarks.f32   raw float32, [total_frames, 543, 3], C order

Opening a store reads the three small files and maps the big one: no per-clip file opens,
whatever the dataset size. A store is written into a temporary directory and renamed into
place, so a crash never leaves half a store behind.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from harness.util.atomic import atomic_path, recover
from harness.data.clips import META_COLUMNS, N_LANDMARKS, ClipSet
from harness.errors import BadLandmarks, BadStore

FORMAT = "slrbench-landmarks"
VERSION = 1
FRAME_SHAPE = (N_LANDMARKS, 3)
FRAME_BYTES = N_LANDMARKS * 3 * 4
FILES = ("manifest.json", "clips.parquet", "offsets.npy", "landmarks.f32")
DIGEST_FILE = "digest.json"        # the store's cached hash (harness.data.digest)
# The widest coordinates a landmark may have, per axis. MediaPipe normalises x and y to the
# image (0 to 1; a little beyond when a part leaves the frame: hands beside it, feet below
# it) and gives z as depth on roughly the scale of x, from its own origin (the hips, the
# wrist), so z is allowed more. Ten image sizes off is no point of the person any more:
# pixel units, another tool's convention or garbage, which would swamp any model.
COORDINATE_LIMITS = np.array([10.0, 10.0, 100.0], dtype=np.float32)


def validate_clip(array: np.ndarray, where: str) -> np.ndarray:
    """Check one clip against the landmark contract; return it as float32 ``[T, 543, 3]``."""
    array = np.asarray(array)
    if array.ndim != 3 or array.shape[1:] != FRAME_SHAPE:
        raise BadLandmarks(f"{where}: landmarks have shape {array.shape}, expected "
                           f"[frames, {N_LANDMARKS}, 3] in MediaPipe Holistic order")
    if not np.issubdtype(array.dtype, np.floating):
        raise BadLandmarks(f"{where}: landmarks have dtype {array.dtype}, expected float32")
    if array.shape[0] == 0:
        raise BadLandmarks(f"{where}: clip has no frames")
    if np.isinf(array).any():
        raise BadLandmarks(f"{where}: landmarks contain inf; missing points must be NaN")
    # checked as stored: a float64 beyond float32's range becomes inf in the cast
    with np.errstate(over="ignore"):
        array = array.astype(np.float32, copy=False)
    if np.isinf(array).any():
        raise BadLandmarks(f"{where}: landmarks beyond float32's range (about ±3.4e38), "
                           "which become inf as float32; these are no coordinates: "
                           "re-extract or convert the clip")
    beyond = np.abs(array) > COORDINATE_LIMITS      # NaN compares False: missing is fine
    if beyond.any():
        frame, point, axis = (int(i) for i in np.argwhere(beyond)[0])
        raise BadLandmarks(f"{where}: {'xyz'[axis]} = {float(array[frame, point, axis]):g} at "
                           f"frame {frame}, landmark {point} is beyond "
                           f"±{COORDINATE_LIMITS[axis]:g}; x and y are normalised to the "
                           "image (0 to 1), z to about its width, so this is no landmark "
                           "(pixels? another unit?): convert or re-extract the clip")
    if np.isnan(array).all():
        raise BadLandmarks(f"{where}: every landmark of every frame is NaN (nothing was "
                           "detected); drop the clip or re-extract it")
    return array


class LandmarkStore:
    """A read-only, memory-mapped packed store."""

    def __init__(self, path: Path, manifest: dict, meta: pd.DataFrame, offsets: np.ndarray,
                 data: np.ndarray):
        self.path = path
        self.manifest = manifest
        self.meta = meta
        self.offsets = offsets
        self.data = data

    @classmethod
    def open(cls, path: Path | str) -> "LandmarkStore":
        path = Path(path)
        if not path.is_dir() and not recover(path):
            raise BadStore(f"{path}: no landmark store here (expected a directory with "
                           f"{', '.join(FILES)}); build one with `slrbench data extract`")
        missing = [f for f in FILES if not (path / f).exists()]
        if missing:
            raise BadStore(f"{path}: store is incomplete, missing {missing}; delete the "
                           "directory and rebuild it")
        try:
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise BadStore(f"{path / 'manifest.json'}: not valid JSON ({error}); delete the "
                           "store and rebuild it") from None
        if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
            raise BadStore(f"{path / 'manifest.json'}: not a {FORMAT} v{VERSION} store")
        try:
            offsets = np.load(path / "offsets.npy", allow_pickle=False)
            meta = pd.read_parquet(path / "clips.parquet")
        except Exception as error:  # noqa: BLE001 - any reader error means a corrupt file
            raise BadStore(f"{path}: cannot read the store's index ({error}); delete the "
                           "store and rebuild it") from None
        n = int(manifest["n_clips"])
        total = int(manifest["n_frames_total"])
        if offsets.dtype != np.int64 or offsets.shape != (n + 1,) or offsets[0] != 0 \
                or offsets[-1] != total or (np.diff(offsets) <= 0).any():
            raise BadStore(f"{path / 'offsets.npy'}: offsets do not match the manifest "
                           f"({n} clips, {total} frames); the store is corrupted, rebuild it")
        if len(meta) != n:
            raise BadStore(f"{path / 'clips.parquet'}: {len(meta)} rows for {n} clips; "
                           "the store is corrupted, rebuild it")
        data_file = path / "landmarks.f32"
        size = data_file.stat().st_size
        if size != total * FRAME_BYTES:
            raise BadStore(f"{data_file}: {size} bytes, expected {total * FRAME_BYTES} "
                           f"({total} frames x {N_LANDMARKS} x 3 float32); the file is "
                           "truncated or corrupted, rebuild the store")
        data = np.memmap(data_file, dtype=np.float32, mode="r", shape=(total, *FRAME_SHAPE))
        return cls(path, manifest, meta, offsets, data)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def clip(self, i: int) -> np.ndarray:
        """Clip ``i`` as a fresh array, read from the file rather than sliced from the map.

        Mapped pages count in the process's RSS once touched: one pass over a large store
        shows all of it resident though the kernel could drop them at will. A read keeps
        them in the page cache only, so RSS is what the process really holds.
        """
        start, stop = int(self.offsets[i]), int(self.offsets[i + 1])
        count = (stop - start) * FRAME_BYTES // 4
        values = np.fromfile(self.data.filename, dtype=np.float32, count=count,
                             offset=start * FRAME_BYTES)
        if len(values) != count:
            raise BadStore(f"{self.data.filename}: clip {i} ends past the end of the file; "
                           "the store was truncated after it was opened, rebuild it")
        return values.reshape(stop - start, *FRAME_SHAPE)

    @property
    def vocab(self) -> tuple[str, ...]:
        return tuple(self.manifest.get("vocab", ()))

    @property
    def lacks(self) -> tuple[str, ...]:
        return tuple(self.manifest.get("lacks", ()))

    def clipset(self, name: str | None = None) -> ClipSet:
        return ClipSet(name=name or self.manifest.get("dataset", self.path.name),
                       meta=self.meta, vocab=self.vocab, landmarks=self, lacks=self.lacks)


class StoreWriter:
    """Streams clips into a new store; ``close()`` publishes it atomically.

    Use as a context manager; an exception inside the block discards everything written.
    """

    def __init__(self, path: Path | str, vocab: Sequence[str], dataset: str,
                 lacks: Sequence[str] = (), extra: dict | None = None):
        self.path = Path(path)
        self.vocab = list(vocab)
        self.dataset = dataset
        self.lacks = list(lacks)
        self.extra = extra or {}
        self._context = None
        self._tmp: Path | None = None
        self._handle = None
        self._rows: list[dict] = []
        self._offsets = [0]

    def __enter__(self) -> "StoreWriter":
        recover(self.path)          # and a killed writer's half-written copy is removed
        check_replaceable(self.path)
        self._context = atomic_path(self.path)
        self._tmp = self._context.__enter__()
        self._tmp.mkdir()
        self._handle = open(self._tmp / "landmarks.f32", "wb")
        return self

    def add(self, row: dict, landmarks: np.ndarray) -> None:
        where = f"clip {row.get('clip_id')!r}"
        array = np.ascontiguousarray(validate_clip(landmarks, where))
        self._handle.write(array.tobytes())
        self._offsets.append(self._offsets[-1] + array.shape[0])
        self._rows.append({**row, "n_frames": int(array.shape[0])})

    def __exit__(self, kind, error, trace) -> bool:
        try:
            self._handle.close()
            if error is None:
                self._finish()
        except BaseException as problem:
            # the temporary store is discarded for this error too (e.g. a full disk while
            # writing clips.parquet), never published half-written over the old one
            self._context.__exit__(type(problem), problem, problem.__traceback__)
            raise
        self._context.__exit__(kind, error, trace)
        return False

    def _finish(self) -> None:
        if not self._rows:
            raise BadStore(f"{self.path}: no clip was written; nothing to store")
        meta = pd.DataFrame(self._rows)
        missing = [c for c in META_COLUMNS if c not in meta.columns]
        if missing:
            raise BadStore(f"{self.path}: clip metadata lacks columns {missing}")
        meta.to_parquet(self._tmp / "clips.parquet", index=False)
        np.save(self._tmp / "offsets.npy", np.asarray(self._offsets, dtype=np.int64))
        manifest = {"format": FORMAT, "version": VERSION, "dataset": self.dataset,
                    "n_clips": len(self._rows), "n_frames_total": int(self._offsets[-1]),
                    "dtype": "float32", "frame_shape": list(FRAME_SHAPE),
                    "vocab": self.vocab, "lacks": self.lacks, **self.extra}
        (self._tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False,
                                                            indent=1), encoding="utf-8")


def write_store(path: Path | str, rows: Iterable[tuple[dict, np.ndarray]],
                vocab: Sequence[str], dataset: str, lacks: Sequence[str] = (),
                extra: dict | None = None) -> LandmarkStore:
    """Write ``(metadata row, landmarks)`` pairs as a store and open it."""
    with StoreWriter(path, vocab, dataset, lacks, extra) as writer:
        for row, landmarks in rows:
            writer.add(row, landmarks)
    return LandmarkStore.open(path)


def is_store(path: Path | str) -> bool:
    """Whether ``path`` holds a store (one that a writer killed while replacing it left moved
    aside is put back first)."""
    path = Path(path)
    return (path / "manifest.json").exists() or (recover(path) and
                                                  (path / "manifest.json").exists())


def check_replaceable(path: Path | str) -> None:
    """A new store may take the place of nothing, an empty folder or a store slrbench wrote
    (its manifest says so); anything else is the user's and is refused, never replaced."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return
    if path.is_dir() and not path.is_symlink():
        if not any(path.iterdir()):
            return
        try:
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
            is_ours = isinstance(manifest, dict) and manifest.get("format") == FORMAT
        except (OSError, ValueError):
            is_ours = False
        if is_ours:
            # a store is replaced as a whole: anything else put in it would go with it
            others = sorted(entry.name for entry in path.iterdir()
                            if entry.name not in (*FILES, DIGEST_FILE)
                            and not entry.name.startswith("."))
            if not others:
                return
            raise BadStore(f"{path}: this store also holds {', '.join(others[:3])}"
                           f"{' and more' if len(others) > 3 else ''}, which replacing it "
                           "would delete; move them out of the store, or choose another --out")
    what = "a folder without a store's manifest.json" if path.is_dir() else "not a folder"
    raise BadStore(f"{path}: exists and is not a landmark store ({what}); a store is only "
                   "written where there is none or over an older store: choose another "
                   "--out, or move that one away yourself")
