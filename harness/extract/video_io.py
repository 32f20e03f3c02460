"""Reading videos: a video file or a folder of JPEG frames -> uint8 RGB frames + fps."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from harness.errors import BadVideo

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")
DEFAULT_FRAME_FOLDER_FPS = 30.0  # GSL frame folders carry no rate; the dataset was 30 fps


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    fps: float
    n_frames: int
    width: int
    height: int


def _cv2():
    import cv2  # opencv ships with mediapipe ([extract]) and [video]
    return cv2


def _open_upright(path: Path):
    """An opened capture + the rotation that makes its frames upright (or None).

    Phones store portrait clips as landscape frames plus a rotation tag. OpenCV builds
    differ in whether they apply it, so auto-rotation is switched off and the tag is
    applied here: every build then yields the frames a player would show.
    """
    cv2 = _cv2()
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise BadVideo(f"{path}: cannot open this video (unsupported or corrupt file)")
    degrees = int(capture.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
    rotation = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180,
                270: cv2.ROTATE_90_COUNTERCLOCKWISE}.get(degrees)
    return capture, rotation


def frame_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES)


def probe(path: Path | str) -> VideoInfo:
    path = Path(path)
    cv2 = _cv2()
    if path.is_dir():
        files = frame_files(path)
        if not files:
            raise BadVideo(f"{path}: frame folder has no .jpg/.png frames")
        first = cv2.imread(str(files[0]))
        if first is None:
            raise BadVideo(f"{files[0]}: cannot decode this image")
        return VideoInfo(path, DEFAULT_FRAME_FOLDER_FPS, len(files), first.shape[1], first.shape[0])
    if not path.exists():
        raise BadVideo(f"{path}: no such video file")
    try:    # OpenCV says only "cannot open": tell an unreadable file from a damaged one
        with open(path, "rb"):
            pass
    except OSError as error:
        raise BadVideo(f"{path}: cannot read this video ({error.strerror}); make it "
                       "readable") from None
    capture, rotation = _open_upright(path)
    try:
        fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if rotation in (cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE):
            width, height = height, width
        return VideoInfo(path, float(fps) if fps > 0 else 30.0,
                         int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), width, height)
    finally:
        capture.release()


def iter_frames(path: Path | str, first: int = 0, stop: int | None = None
                ) -> Iterator[np.ndarray]:
    """Yield uint8 RGB frames ``[H, W, 3]`` one by one (a file or a frame folder).

    ``first``/``stop``: a 0-based, half-open window of the frames; frames before it are
    skipped undecoded where the format allows. A window that holds no frame is an error.
    """
    path = Path(path)
    cv2 = _cv2()
    window = "" if first == 0 and stop is None else \
        f" in the frame window {first + 1}..{'end' if stop is None else stop}"
    if path.is_dir():
        files = frame_files(path)
        if not files:
            raise BadVideo(f"{path}: frame folder has no .jpg/.png frames")
        if not files[first:stop]:
            raise BadVideo(f"{path}: no frames{window} (the folder has {len(files)})")
        size = None
        for file in files[first:stop]:
            frame = cv2.imread(str(file))
            if frame is None:
                raise BadVideo(f"{file}: cannot decode this image")
            if size is None:
                size = frame.shape
            elif frame.shape != size:
                raise BadVideo(f"{file}: frame size {frame.shape[1]}x{frame.shape[0]} differs "
                               f"from the folder's first frame {size[1]}x{size[0]}; "
                               "a clip's frames must all have one size")
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        return
    if not path.exists():
        raise BadVideo(f"{path}: no such video file")
    capture, rotation = _open_upright(path)
    position = count = 0
    try:
        # Read through rather than seek: seeking lands on key frames in many codecs, so
        # a window would start a few frames off.
        while stop is None or position < stop:
            if position < first:
                ok = capture.grab()
            else:
                ok, frame = capture.read()
            if not ok:
                break
            position += 1
            if position <= first:
                continue
            count += 1
            if rotation is not None:
                frame = cv2.rotate(frame, rotation)
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()
    if count == 0:
        raise BadVideo(f"{path}: the video has no decodable frames{window}"
                       + (f" (it ends after frame {position})" if window else ""))
