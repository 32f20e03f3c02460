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
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise BadVideo(f"{path}: cannot open this video (unsupported or corrupt file)")
        fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
        return VideoInfo(path, float(fps) if fps > 0 else 30.0,
                         int(capture.get(cv2.CAP_PROP_FRAME_COUNT)),
                         int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                         int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    finally:
        capture.release()


def iter_frames(path: Path | str) -> Iterator[np.ndarray]:
    """Yield uint8 RGB frames ``[H, W, 3]`` one by one (a file or a frame folder)."""
    path = Path(path)
    cv2 = _cv2()
    if path.is_dir():
        files = frame_files(path)
        if not files:
            raise BadVideo(f"{path}: frame folder has no .jpg/.png frames")
        size = None
        for file in files:
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
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise BadVideo(f"{path}: cannot open this video (unsupported or corrupt file)")
    count = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            count += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()
    if count == 0:
        raise BadVideo(f"{path}: the video has no decodable frames")


def read_video(path: Path | str) -> tuple[np.ndarray, float]:
    """All frames ``[T, H, W, 3]`` uint8 RGB and the frame rate."""
    info = probe(path)
    frames = np.stack(list(iter_frames(path)))
    return frames, info.fps
