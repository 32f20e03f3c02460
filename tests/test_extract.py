"""Video -> landmarks with MediaPipe Holistic, on real clips (a handful: CPU is scarce).

Covers the store it writes, resuming, the error report for unreadable input, a full disk,
quiet logs, and agreement with reference landmarks from another MediaPipe release.
"""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from harness.adapters import landmarks as landmarks_adapter
from harness.data.clips import LEFT_HAND, PARTS, RIGHT_HAND
from harness.data.index import normalise_index
from harness.data.landmark_files import read_landmark_file
from harness.data.store import LandmarkStore
from harness.errors import ExtractionAborted
from harness.extract import pipeline as extract
from harness.extract.video_io import probe
from harness.extract.work import save_part
from harness.specs import DatasetRequest

SLRBENCH = [sys.executable, "-m", "harness.cli"]
# Short real clips (frames): No03 9, goodbye06 16, Hello12 (S2, test) 22.
CLIPS = ["clips/No/No03.mp4", "clips/GoodBye/goodbye06.mp4", "clips/Hello/Hello12.mp4"]


@pytest.fixture(scope="module")
def asl8(shared) -> Path:
    return shared / "asl8-videos"


def _bad_inputs(folder: Path, asl8: Path) -> list[dict]:
    """A corrupt file, a zero-frame video, a frame folder of mixed sizes, a missing file."""
    (folder / "corrupt.mp4").write_bytes(os.urandom(3000))
    # a truncated download: the header announces frames, no frame is left to decode
    whole = folder / "whole.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(asl8 / CLIPS[0]), "-c", "copy",
                    "-movflags", "+faststart", str(whole)], check=True)
    data = whole.read_bytes()
    (folder / "zero-frames.mp4").write_bytes(data[:data.find(b"mdat") + 8])
    whole.unlink()
    mixed = folder / "mixed"
    mixed.mkdir()
    capture = cv2.VideoCapture(str(asl8 / CLIPS[0]))
    for i in range(3):
        ok, frame = capture.read()
        assert ok
        if i == 2:
            frame = cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2))
        cv2.imwrite(str(mixed / f"{i:04d}.jpg"), frame)
    capture.release()
    return [{"file": "corrupt.mp4", "gloss": "NO"}, {"file": "zero-frames.mp4", "gloss": "NO"},
            {"file": "mixed", "gloss": "NO"}, {"file": "missing.mp4", "gloss": "NO"}]


@pytest.mark.slow
def test_extract_command_builds_a_store_reports_bad_videos_and_resumes(asl8, tmp_path):
    labels = pd.read_csv(asl8 / "labels.csv").set_index("file")
    folder = tmp_path / "videos"
    folder.mkdir()
    for f in CLIPS:    # copies: an index lists files inside its folder
        shutil.copy(asl8 / f, folder / Path(f).name)
    rows = [{"file": Path(f).name, "gloss": labels.loc[f, "gloss"],
             "signer": labels.loc[f, "signer"], "split": labels.loc[f, "split"],
             "clip_id": Path(f).stem} for f in CLIPS]
    # a split on every row: one given for some rows only is refused before extracting
    rows += [{**row, "split": "test"} for row in _bad_inputs(folder, asl8)]
    pd.DataFrame(rows).to_csv(folder / "labels.csv", index=False)
    store = tmp_path / "store"
    command = SLRBENCH + ["data", "extract", "--videos", str(folder), "--out", str(store),
                          "--workers", "2"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "7 clips: 3 extracted now (47 frames" in done.stdout
    assert "4 failed" in done.stdout
    # quiet: none of MediaPipe's / TensorFlow's / FFmpeg's native lines reach the user
    for noise in ("W0000", "I0000", "XNNPACK", "absl", "inference_feedback", "tensorflow",
                  "[mov"):
        assert noise not in done.stderr, done.stderr
    errors = pd.read_csv(extract.errors_file(store)).set_index("clip_id")
    assert "cannot open this video" in errors.loc["corrupt", "error"]
    assert "no decodable frames" in errors.loc["zero-frames", "error"]
    assert "differs from the folder's first frame" in errors.loc["mixed", "error"]
    assert "no such video file" in errors.loc["missing", "error"]
    assert not extract.parts_dir(store).exists()           # packed, then cleaned up

    opened = LandmarkStore.open(store)
    meta = opened.meta.set_index("clip_id")
    assert list(meta.index) == ["No03", "goodbye06", "Hello12"]
    assert set(opened.meta.columns) >= {"clip_id", "gloss", "label", "split", "signer", "fps",
                                        "n_frames", "source", "video"}
    assert meta.loc["No03", "n_frames"] == 9 and meta.loc["Hello12", "n_frames"] == 22
    assert meta.loc["Hello12", "signer"] == "S2" and meta.loc["Hello12", "split"] == "test"
    assert meta.loc["goodbye06", "fps"] == pytest.approx(30.0)
    assert opened.vocab == ("GOODBYE", "HELLO", "NO")
    for i in range(len(opened)):
        clip = np.asarray(opened.clip(i))
        assert clip.dtype == np.float32 and clip.shape[1:] == (543, 3)
        pose = clip[:, PARTS["pose"]]
        assert not np.isnan(pose).any()                       # a person faces the camera
        # upright frames: shoulders (11, 12) lie below the nose (0) in image coordinates
        assert (pose[:, 11, 1] > pose[:, 0, 1]).all() and (pose[:, 12, 1] > pose[:, 0, 1]).all()
        # a part is NaN as a whole or not at all, never zero-filled
        for part in (LEFT_HAND, RIGHT_HAND):
            nan = np.isnan(clip[:, part, 0])
            assert (nan.all(axis=1) | (~nan).all(axis=1)).all()
            assert not (clip[:, part] == 0).all(axis=(1, 2)).any()
    clips = landmarks_adapter.load(DatasetRequest(data_dir=store))  # a `landmarks` dataset
    assert len(clips) == 3 and clips.vocab == ("GOODBYE", "HELLO", "NO")

    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "0 extracted now" in again.stdout and "3 already in the store" in again.stdout
    assert len(LandmarkStore.open(store)) == 3


def test_verbose_shows_mediapipe_logs(asl8, tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(asl8 / CLIPS[0], folder / "clip.mp4")   # an index lists files inside its folder
    pd.DataFrame([{"file": "clip.mp4", "gloss": "NO"}]).to_csv(folder / "index.csv", index=False)
    done = subprocess.run(SLRBENCH + ["data", "extract", "--videos", str(folder), "--out",
                                      str(tmp_path / "store"), "--workers", "1", "--verbose"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "XNNPACK" in done.stderr or "W0000" in done.stderr


_SAVES = {"count": 0}


def save_then_disk_full(path: Path, landmarks: np.ndarray) -> None:
    """The first clip is written; after that the disk is full (runs in the worker)."""
    _SAVES["count"] += 1
    if _SAVES["count"] > 1:
        raise OSError(errno.ENOSPC, "No space left on device")
    save_part(path, landmarks)


@pytest.mark.slow
def test_full_disk_stops_keeps_finished_clips_and_resumes(asl8, tmp_path):
    index = normalise_index(pd.DataFrame(
        {"file": [str(asl8 / f) for f in CLIPS], "gloss": ["NO", "GOODBYE", "HELLO"]}),
        asl8, "test index")
    store = tmp_path / "store"
    config = extract.ExtractConfig(workers=1)
    with pytest.raises(ExtractionAborted) as error:
        extract.extract_store(index, store, config=config, save=save_then_disk_full)
    message = str(error.value)
    assert "No space left on device" in message and "run the same command again" in message
    assert "1 finished clips are kept" in message
    assert len(list(extract.parts_dir(store).glob("*.npy"))) == 1
    assert not store.exists()                               # no half-written store

    summary = extract.extract_store(index, store, config=config)
    assert (summary.resumed, summary.extracted, summary.failed) == (1, 2, 0)
    assert len(LandmarkStore.open(store)) == 3


def test_store_write_failure_keeps_parts(asl8, tmp_path, monkeypatch):
    index = normalise_index(pd.DataFrame(
        {"file": [str(asl8 / CLIPS[0])], "gloss": ["NO"]}), asl8, "test index")
    store = tmp_path / "store"
    parts = extract.parts_dir(store)
    parts.mkdir()
    landmarks = np.full((9, 543, 3), 0.5, dtype=np.float32)
    save_part(extract.part_file(parts, index.clip_id[0],
                                stamp=extract.video_stamp(index.path[0])), landmarks)

    def full(self, row, array):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(extract.StoreWriter, "add", full)
    with pytest.raises(ExtractionAborted, match=f"cannot write the store .*kept in {parts}"):
        extract.extract_store(index, store)
    assert len(list(parts.glob("*.npy"))) == 1 and not store.exists()


def test_an_interrupt_before_any_clip_finished_leaves_no_empty_parts_folder(asl8, tmp_path,
                                                                          monkeypatch):
    index = normalise_index(pd.DataFrame(
        {"file": [str(asl8 / CLIPS[0])], "gloss": ["NO"]}), asl8, "test index")
    store = tmp_path / "store"

    def interrupted(*args):
        assert extract.parts_dir(store).is_dir()      # made for the workers to write in
        raise KeyboardInterrupt

    monkeypatch.setitem(extract.POOLS, "local", interrupted)
    with pytest.raises(KeyboardInterrupt, match="no clip had finished; run the same command"):
        extract.extract_store(index, store)
    assert sorted(p.name for p in tmp_path.iterdir()) == []   # no parts, errors or store


# SIGTERM reaches the command while it writes the store: in a process of its own, as a
# regression (SIGTERM left at its default) would end the process it lands in.
TERMINATED_WHILE_PACKING = """
import os, signal, sys
from pathlib import Path
import numpy as np, pandas as pd
from harness.data.index import normalise_index
from harness.extract import pipeline as extract
from harness.extract.work import save_part
from harness.util.signals import Terminated

video, folder = Path(sys.argv[1]), Path(sys.argv[2])
index = normalise_index(pd.DataFrame({"file": [str(video)], "gloss": ["NO"]}), video.parent,
                        "test index")
store = folder / "store"
parts = extract.parts_dir(store)
parts.mkdir()
save_part(extract.part_file(parts, index.clip_id[0], stamp=extract.video_stamp(index.path[0])),
          np.full((9, 543, 3), 0.5, dtype=np.float32))
add = extract.StoreWriter.add

def terminated_while_adding(self, row, array):
    os.kill(os.getpid(), signal.SIGTERM)
    return add(self, row, array)

extract.StoreWriter.add = terminated_while_adding
try:
    extract.extract_store(index, store)
except Terminated:
    print("terminated")
"""


def test_sigterm_while_the_store_is_written_leaves_no_half_written_copy(asl8, tmp_path):
    # killed outright there, a .store.*.tmp folder with a half-written landmarks.f32 stayed
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run([sys.executable, "-c", TERMINATED_WHILE_PACKING,
                           str(asl8 / CLIPS[0]), str(work)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stdout == "terminated\n", (done.returncode,
                                                                    done.stderr)
    parts = extract.parts_dir(work / "store")
    assert sorted(p.name for p in work.iterdir()) == [parts.name]    # no temporary copy
    assert len(list(parts.glob("*.npy"))) == 1


def test_part_names_stay_inside_the_work_folder():
    for clip_id in ("../../etc/passwd", "police1_signer1_rep1_glosses/glosses0000", "ΓΕΙΑ/1"):
        key = extract.part_key(clip_id)
        assert "/" not in key and not key.startswith(".")
    assert extract.part_key("a/b") != extract.part_key("a_b")


# MediaPipe 0.10.21 against reference landmarks made with 0.10.14 on the same MS-ASL clips.
REFERENCE_CLIPS = ["fv1nQoXRlsI", "7G6B6kaMjb4", "fQ58eciJmCY"]   # 50, 51, 69 frames


@pytest.mark.slow
def test_landmarks_agree_with_the_reference_release(shared):
    """Tolerances: x, y are fractions of the image. Both releases run the same Holistic
    graph and models, but the TFLite/XNNPACK runtime changed, and frame-to-frame tracking
    (ROI from the previous frame, smoothing) carries a tiny difference on through the clip;
    measured here: median |dxy| <= 0.0015, 95th percentile <= 0.026 (a hand's width is
    ~0.1). So: median 0.005 (face 0.002) and 95th percentile 0.04 on frames where both
    found the part; a hand found in the same number of frames within 3 (about 5 %)."""
    folder = shared / "msasl-sample-videos"
    reference_dir = folder / "reference-landmarks-mediapipe-0.10.14"
    ours = extract.extract_videos([folder / f"{vid}.mp4" for vid in REFERENCE_CLIPS])
    for vid, mine in zip(REFERENCE_CLIPS, ours):
        reference = read_landmark_file(reference_dir / f"{vid}.parquet")
        assert mine.shape == reference.shape
        for name, part in PARTS.items():
            found_mine = ~np.isnan(mine[:, part, 0]).any(axis=1)
            found_ref = ~np.isnan(reference[:, part, 0]).any(axis=1)
            assert abs(int(found_mine.sum()) - int(found_ref.sum())) <= 3, (vid, name)
            both = found_mine & found_ref
            if not both.any():
                continue
            diff = np.abs(mine[both][:, part, :2] - reference[both][:, part, :2])
            assert np.median(diff) < (0.002 if name == "face" else 0.005), (vid, name)
            assert np.percentile(diff, 95) < 0.04, (vid, name)
        assert probe(folder / f"{vid}.mp4").n_frames == len(mine)
