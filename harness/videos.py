"""Decoded videos, cached: every clip is decoded once, then memory-mapped on every read.

Decoding H.264 (or a folder of JPEGs) costs far more than a training step of a small
video model, so it must not happen every epoch or every run. The first read of a clip
decodes it with :mod:`harness.video_io`, resizes every frame so its short side is
``short_side`` pixels (after turning it upright if the file carries a rotation tag, as
phone recordings do), and writes ``frames.npy`` (uint8 ``[T, H, W, 3]`` RGB) and
``info.json`` into one directory, renamed into place atomically::

    <cache root>/<content hash[:2]>/<content hash>-<settings key>/{frames.npy, info.json}

The key is the hash of the file's bytes (of every frame file, for a folder), so a moved
or renamed video still hits the cache and an edited one misses it; the decode settings
are part of the key, so changing them never returns stale frames.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from harness import video_io
from harness.atomic import atomic_path
from harness.errors import BadVideo
from harness.progress import bar

FORMAT = "slrbench-decoded-video"
VERSION = 1
DEFAULT_SHORT_SIDE = 128   # R(2+1)D-style models crop 112 x 112 from frames of this size
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class DecodeSettings:
    """How clips are decoded into the cache; part of every cache key."""

    short_side: int = DEFAULT_SHORT_SIDE   # 0 keeps the original size
    orientation: str = "display"           # frames as a player shows them (rotation applied)

    def key(self) -> str:
        text = json.dumps({"format": FORMAT, "version": VERSION, **asdict(self)},
                          sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def content_hash(path: Path | str) -> str:
    """sha256 of a video file's bytes, or of a frame folder's file names and bytes."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_dir():
        files = video_io.frame_files(path)
        if not files:
            raise BadVideo(f"{path}: frame folder has no .jpg/.png frames")
    elif path.is_file():
        files = [path]
    else:
        raise BadVideo(f"{path}: no such video file or frame folder; check the index's "
                       "file column and --data-dir")
    for file in files:
        if path.is_dir():
            digest.update(file.name.encode() + b"\0")
        with open(file, "rb") as handle:
            while chunk := handle.read(HASH_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def resize_short_side(frame: np.ndarray, short_side: int) -> np.ndarray:
    import cv2
    height, width = frame.shape[:2]
    if short_side <= 0 or min(height, width) == short_side:
        return frame
    scale = short_side / min(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # INTER_AREA averages when shrinking (no aliasing); bilinear when enlarging.
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(frame, size, interpolation=interpolation)


def _display_rotation(path: Path) -> tuple[int | None, np.ndarray | None]:
    """The OpenCV rotation a file's metadata asks for, and its first frame as stored."""
    if path.is_dir():
        return None, None
    import cv2
    capture = cv2.VideoCapture(str(path))
    try:
        degrees = int(capture.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
        if degrees == 0:
            return None, None
        capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
        ok, first = capture.read()
    finally:
        capture.release()
    rotation = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180,
                270: cv2.ROTATE_90_COUNTERCLOCKWISE}.get(degrees)
    if not ok or rotation is None:
        return None, None
    return rotation, cv2.cvtColor(first, cv2.COLOR_BGR2RGB)


def _oriented(path: Path, frames):
    """Frames as displayed: phones store portrait clips as landscape + a rotation tag.

    OpenCV builds differ in whether they apply the tag; the frames are rotated here only
    when the reader returned them exactly as stored, so the cache holds upright frames
    either way.
    """
    import cv2
    rotation, stored_first = _display_rotation(path)
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        return
    if rotation is None or first.shape != stored_first.shape \
            or not np.array_equal(first, stored_first):
        yield first
        yield from frames
        return
    yield cv2.rotate(first, rotation)
    for frame in frames:
        yield cv2.rotate(frame, rotation)


def decode(path: Path | str, settings: DecodeSettings) -> tuple[np.ndarray, float]:
    """All frames of a clip, upright and resized, as uint8 ``[T, H, W, 3]`` RGB, + fps."""
    path = Path(path)
    info = video_io.probe(path)
    # Frames are resized as they arrive, so a long full-HD clip never sits in memory whole.
    frames = [resize_short_side(f, settings.short_side)
              for f in _oriented(path, video_io.iter_frames(path))]
    return np.stack(frames), info.fps


@dataclass(frozen=True)
class CachedClip:
    frames: np.ndarray   # read-only memory map, uint8 [T, H, W, 3]
    fps: float


class VideoCache:
    """The on-disk store of decoded clips under one root, for one set of decode settings."""

    def __init__(self, root: Path | str, settings: DecodeSettings = DecodeSettings()):
        self.root = Path(root)
        self.settings = settings

    def entry(self, digest: str) -> Path:
        return self.root / digest[:2] / f"{digest}-{self.settings.key()}"

    def get(self, video: Path | str, digest: str | None = None) -> CachedClip:
        """The decoded clip, from the cache or decoded now (and cached)."""
        digest = digest or content_hash(video)
        entry = self.entry(digest)
        cached = self._open(entry)
        if cached is not None:
            return cached
        frames, fps = decode(video, self.settings)
        with atomic_path(entry) as tmp:
            tmp.mkdir()
            np.save(tmp / "frames.npy", frames, allow_pickle=False)
            info = {"format": FORMAT, "version": VERSION, "source": str(video), "fps": fps,
                    "shape": list(frames.shape), "settings": asdict(self.settings)}
            (tmp / "info.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
        opened = self._open(entry)
        if opened is None:
            raise BadVideo(f"{entry}: the decoded clip of {video} could not be read back "
                           "from the cache; check free disk space and delete the directory")
        return opened

    @staticmethod
    def _open(entry: Path) -> CachedClip | None:
        try:
            info = json.loads((entry / "info.json").read_text(encoding="utf-8"))
            frames = np.load(entry / "frames.npy", mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError):
            return None  # absent or damaged: ours to rebuild, not the user's to fix
        if info.get("format") != FORMAT or list(frames.shape) != info.get("shape") \
                or frames.dtype != np.uint8:
            return None
        return CachedClip(frames=frames, fps=float(info["fps"]))


class CachedVideos:
    """The ``videos`` of a ClipSet: ``video(i)`` of the dataset's i-th clip, decoded once.

    Opened clips are kept as memory maps, so after the first epoch no read touches a
    video file or the decoder, and a later run finds them in the cache.
    """

    def __init__(self, paths: Sequence[Path | str], cache: VideoCache):
        self.paths = [Path(p) for p in paths]
        self.cache = cache
        self._clips: dict[int, CachedClip] = {}
        self._digests: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def _get(self, i: int) -> CachedClip:
        clip = self._clips.get(i)
        if clip is None:
            digest = self._digests.get(i) or content_hash(self.paths[i])
            self._digests[i] = digest
            clip = self._clips[i] = self.cache.get(self.paths[i], digest)
        return clip

    def video(self, i: int) -> np.ndarray:
        return self._get(i).frames

    def fps(self, i: int) -> float:
        return self._get(i).fps

    def prepare(self, description: str = "decoding videos") -> None:
        """Decode (or open) every clip now, with a progress bar, instead of on first read."""
        with bar(len(self), description, unit="clips") as progress:
            for i in range(len(self)):
                self._get(i)
                progress.advance()

    def __getstate__(self) -> dict:
        # Data-loader workers re-open the memory maps (pickling one would copy its data)
        # and reuse the content hashes, so they never read a video file.
        return {"paths": self.paths, "cache": self.cache, "_clips": {},
                "_digests": dict(self._digests)}
