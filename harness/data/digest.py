"""A digest of the landmark data behind a clip set: a changed extraction, a different digest.

For a packed store it is the sha256 of its manifest, its offsets and the streamed bytes of
``landmarks.f32``, cached beside them in ``digest.json`` with the files' sizes and
modification times, so it is computed once per store and read back after. A store in a
read-only place is hashed each time (the cache is a convenience, not a requirement).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from harness.data.clips import ClipSet
from harness.data.store import DIGEST_FILE, LandmarkStore
from harness.util.atomic import write_text

HASHED = ("manifest.json", "offsets.npy", "landmarks.f32")
CHUNK = 8 << 20


def _stamp(folder: Path) -> dict[str, list[int]]:
    stamp = {}
    for name in HASHED:
        stat = (folder / name).stat()
        stamp[name] = [stat.st_size, stat.st_mtime_ns]
    return stamp


def store_digest(store: LandmarkStore | Path | str) -> str:
    """sha256 (hex) of a store's manifest, offsets and landmarks, cached in ``digest.json``."""
    folder = Path(store.path if isinstance(store, LandmarkStore) else store)
    stamp = _stamp(folder)
    cache = folder / DIGEST_FILE
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("stamp") == stamp and isinstance(cached.get("sha256"), str):
            return cached["sha256"]
    except (OSError, ValueError, AttributeError):
        pass
    digest = hashlib.sha256()
    for name in HASHED:
        digest.update(f"{name}:{stamp[name][0]}\n".encode())
        with open(folder / name, "rb") as handle:
            while block := handle.read(CHUNK):
                digest.update(block)
    value = digest.hexdigest()
    try:
        write_text(cache, json.dumps({"sha256": value, "stamp": stamp}, indent=1))
    except OSError:
        pass  # read-only store: hashed again next time
    return value


def clipset_digest(clips: ClipSet) -> str:
    """The digest of the data a clip set reads: its store's, else a hash of what it holds."""
    if isinstance(clips.landmarks, LandmarkStore):
        return store_digest(clips.landmarks)
    digest = hashlib.sha256()
    if clips.landmarks is not None:
        for i in range(len(clips)):
            digest.update(np.ascontiguousarray(clips.clip(i), dtype=np.float32).tobytes())
    elif "video" in clips.meta:
        # video files are identified by name and size: hashing gigabytes of video per run
        # would cost more than the run
        for video in clips.meta["video"].astype(str):
            path = Path(video)
            size = path.stat().st_size if path.exists() else -1
            digest.update(f"{path.name}:{size}\n".encode())
    return digest.hexdigest()


def extraction_version(clips: ClipSet) -> str:
    """The MediaPipe version that extracted a store's landmarks, when the store records it."""
    if isinstance(clips.landmarks, LandmarkStore):
        return str(clips.landmarks.manifest.get("mediapipe_version", ""))
    return ""
