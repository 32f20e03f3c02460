"""Decoded videos, cached: every clip is decoded once, then memory-mapped on every read.

Decoding H.264 (or a folder of JPEGs) costs far more than a training step of a small
video model, so it must not happen every epoch or every run. The first read of a clip
decodes it with :mod:`harness.extract.video_io`, resizes every frame so its short side is
``short_side`` pixels, and writes ``frames.npy`` (uint8 ``[T, H, W, 3]`` RGB) and
``info.json`` into one directory, renamed into place atomically::

    <cache root>/<content hash[:2]>/<content hash>-<settings key>/{frames.npy, info.json}

The key is the hash of the file's bytes (of every frame file, for a folder), so a moved
or renamed video still hits the cache and an edited one misses it; the decode settings
are part of the key, so changing them never returns stale frames. Hashes are remembered
per path, size and mtime (``content-hashes.json``), so loading a large dataset again
reads no video bytes at all.
"""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from harness.extract import video_io
from harness.util.atomic import atomic_path, write_text
from harness.errors import BadVideo
from harness.util.progress import bar

FORMAT = "slrbench-decoded-video"
VERSION = 1
DEFAULT_SHORT_SIDE = 128   # R(2+1)D-style models crop 112 x 112 from frames of this size
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class DecodeSettings:
    """How clips are decoded into the cache; part of every cache key."""

    short_side: int = DEFAULT_SHORT_SIDE   # 0 keeps the original size

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


def decode(path: Path | str, settings: DecodeSettings) -> tuple[np.ndarray, float]:
    """All frames of a clip (upright: video_io applies rotation tags), resized, as uint8
    ``[T, H, W, 3]`` RGB, and its frame rate."""
    info = video_io.probe(path)
    # Frames are resized as they arrive, so a long full-HD clip never sits in memory whole.
    frames = [resize_short_side(f, settings.short_side) for f in video_io.iter_frames(path)]
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


class HashMemo:
    """Content hashes of files already seen, keyed by path, size and modification time
    (a frame folder's by every frame's name, size and modification time).

    Hashing reads every byte of a video; a large dataset would pay that on every load.
    The memo (a JSON file in the cache root) lets an unchanged file skip it; any change
    to its size or mtime hashes it again. Losing the memo costs time, never correctness.
    """

    FILE = "content-hashes.json"

    def __init__(self, root: Path):
        self.file = Path(root) / self.FILE
        self._entries: dict[str, list] = {}
        self._dirty = False
        try:
            self._entries = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass

    @staticmethod
    def _stamp(path: Path) -> list:
        if path.is_dir():
            # Every frame's name, size and mtime: renaming frames reorders the clip without
            # touching any frame's size or mtime (their totals kept the old hash, and the
            # old frames' order, for good).
            listing = hashlib.sha256()
            files = video_io.frame_files(path)
            for file in files:
                stat = file.stat()
                listing.update(f"{file.name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
            return [len(files), listing.hexdigest()]
        stat = path.stat()
        return [1, stat.st_size, stat.st_mtime_ns]

    def digest(self, path: Path) -> str:
        key = str(path.resolve())
        stamp = self._stamp(path) if path.exists() else None
        known = self._entries.get(key)
        if stamp is not None and known is not None and known[:-1] == stamp:
            return known[-1]
        digest = content_hash(path)
        self._entries[key] = [*stamp, digest]
        self._dirty = True
        return digest

    def save(self) -> None:
        if not self._dirty:
            return
        try:
            merged = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            merged = {}
        merged.update(self._entries)  # another process may have added its own files
        self.file.parent.mkdir(parents=True, exist_ok=True)
        write_text(self.file, json.dumps(merged))
        self._dirty = False


class CachedVideos:
    """The ``videos`` of a ClipSet: ``video(i)`` of the dataset's i-th clip, decoded once.

    After the first read of a clip, no read touches its video file or the decoder: the
    content hash is remembered and the frames come memory-mapped from the cache. Only the
    ``MAX_OPEN`` most recently used clips stay mapped (each map holds a file descriptor).
    ``windows``: a 0-based ``(first, stop)`` slice of each clip's frames (default: all);
    the cache holds whole videos, so clips cut from one video share its entry.
    """

    MAX_OPEN = 256

    def __init__(self, paths: Sequence[Path | str], cache: VideoCache,
                 windows: Sequence[tuple[int, int | None]] | None = None):
        self.paths = [Path(p) for p in paths]
        self.cache = cache
        self.windows = list(windows) if windows is not None else [(0, None)] * len(self.paths)
        self._open: OrderedDict[int, CachedClip] = OrderedDict()
        self._digests: dict[int, str] = {}
        self._shapes: dict[int, tuple[int, float]] = {}   # i -> (frames, fps)
        self._memo: HashMemo | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def _get(self, i: int, memo: HashMemo | None = None) -> CachedClip:
        clip = self._open.get(i)
        if clip is not None:
            self._open.move_to_end(i)
            return clip
        digest = self._digests.get(i)
        if digest is None:
            if memo is None:
                memo = self._memo = self._memo or HashMemo(self.cache.root)
            digest = self._digests[i] = memo.digest(self.paths[i])
        clip = self._open[i] = self.cache.get(self.paths[i], digest)
        self._shapes[i] = (len(clip.frames), clip.fps)
        while len(self._open) > self.MAX_OPEN:
            self._open.popitem(last=False)
        return clip

    def video(self, i: int) -> np.ndarray:
        first, stop = self.windows[i]
        return self._get(i).frames[first:stop]

    def n_frames(self, i: int) -> int:
        total = self._shapes[i][0] if i in self._shapes else len(self._get(i).frames)
        first, stop = self.windows[i]
        return len(range(total)[first:stop])

    def fps(self, i: int) -> float:
        return self._shapes[i][1] if i in self._shapes else self._get(i).fps

    def prepare(self, description: str = "decoding videos") -> None:
        """Decode (or find in the cache) every clip now, with a progress bar."""
        memo = HashMemo(self.cache.root)
        try:
            with bar(len(self), description, unit="clips") as progress:
                for i in range(len(self)):
                    self._get(i, memo)
                    progress.advance()
        finally:
            memo.save()

    def __getstate__(self) -> dict:
        # Data-loader workers re-open the memory maps (pickling one would copy its data)
        # and reuse the content hashes, so they never read a video file.
        return {"paths": self.paths, "cache": self.cache, "windows": self.windows,
                "_open": OrderedDict(),
                "_digests": dict(self._digests), "_shapes": dict(self._shapes), "_memo": None}


def clipset_from_videos(paths: Sequence[Path | str], vocab: Sequence[str],
                        cache_root: Path | str, settings: DecodeSettings = DecodeSettings()):
    """Unlabelled clips read from video files (e.g. for ``predict`` with a video model)."""
    import pandas as pd

    from harness.data.clips import ClipSet
    videos = CachedVideos(paths, VideoCache(cache_root, settings))
    videos.prepare()
    meta = pd.DataFrame({"clip_id": [f"input{i}" for i in range(len(videos))], "gloss": "",
                         "label": -1, "split": "test", "signer": "",
                         "fps": [videos.fps(i) for i in range(len(videos))],
                         "n_frames": [videos.n_frames(i) for i in range(len(videos))],
                         "source": "", "video": [str(p) for p in videos.paths]})
    return ClipSet(name="input", meta=meta, vocab=tuple(vocab), videos=videos)
