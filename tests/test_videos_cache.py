"""The decoded-video cache and the ``videos`` adapter, on real asl8 clips."""
from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

import harness.extract.video_cache
from harness.extract import video_io
from harness.adapters import videos as videos_adapter
from harness.errors import DatasetNotFound
from harness.specs import DatasetRequest
from harness.extract.video_cache import (CachedVideos, DecodeSettings, VideoCache, clipset_from_videos,
                            content_hash, decode)

ASL8 = "asl8-videos"
# Per sign: S1 clips from both sessions (session 1 is stored landscape with a rotation
# tag, session 2 portrait without one) for training, S2 and S5 clips for testing.
SUBSET_SIGNERS = {"S1_sess1": 2, "S1_sess2": 2, "S2": 1, "S5": 1}


def asl8_subset(shared: Path, folder: Path, signs=("HELLO", "YES")) -> Path:
    """An index of a few real asl8 clips, copied in (an index may not point outside its
    folder)."""
    labels = pd.read_csv(shared / ASL8 / "labels.csv")
    rows = []
    for sign in signs:
        for session, n in SUBSET_SIGNERS.items():
            rows.append(labels[(labels.gloss == sign) & (labels.session == session)].head(n))
    index = pd.concat(rows)[["file", "gloss", "signer", "session", "split"]]
    for file in index["file"]:
        (folder / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shared / ASL8 / file, folder / file)
    folder.mkdir(parents=True, exist_ok=True)
    index.to_csv(folder / "labels.csv", index=False)
    return folder


class DecodeCounter:
    """Counts real decodes (calls into video_io.iter_frames) without replacing them."""

    def __init__(self, monkeypatch):
        self.paths: list[str] = []
        real = video_io.iter_frames

        def counting(path):
            self.paths.append(str(path))
            return real(path)

        monkeypatch.setattr(video_io, "iter_frames", counting)


def test_adapter_decodes_once_and_reuses_the_cache(shared, tmp_path, monkeypatch):
    decodes = DecodeCounter(monkeypatch)
    root = asl8_subset(shared, tmp_path / "videos")
    request = DatasetRequest(data_dir=root, cache_dir=tmp_path / "cache", inputs="video")
    clips = videos_adapter.load(request)
    assert len(clips) == 12 and len(decodes.paths) == 12
    assert clips.has_videos and not clips.has_landmarks
    assert clips.vocab == ("HELLO", "YES")
    assert clips.meta["split"].value_counts().to_dict() == {"train": 8, "test": 4}
    labels = pd.read_csv(root / "labels.csv")
    assert clips.meta["video"].tolist() == [str(root / f) for f in labels["file"]]
    for i in range(len(clips)):
        frames = clips.video(i)
        # upright portrait frames, short side 128, whatever the file's storage
        assert frames.dtype == np.uint8 and frames.shape[1:] == (226, 128, 3)
        assert clips.meta["n_frames"][i] == len(frames)
    # Every later read, in this process or a new one, comes from the memory-mapped cache.
    for _ in range(2):
        for i in range(len(clips)):
            clips.video(i)
    hashed = []
    real_hash = harness.extract.video_cache.content_hash
    monkeypatch.setattr(harness.extract.video_cache, "content_hash",
                        lambda path: hashed.append(path) or real_hash(path))
    # Only a few clips stay mapped at once; reopening them decodes nothing.
    monkeypatch.setattr(CachedVideos, "MAX_OPEN", 3)
    again = videos_adapter.load(request)
    assert np.array_equal(again.video(5), clips.video(5))
    assert len(decodes.paths) == 12 and hashed == []   # hashes remembered too
    for _ in range(2):
        for i in range(len(again)):
            assert again.video(i).shape[0] == again.meta["n_frames"][i]
    assert len(again.videos._open) == 3 and len(decodes.paths) == 12
    cached = sorted((tmp_path / "cache" / "videos").glob("*/*/frames.npy"))
    assert len(cached) == 12


def test_cached_frames_are_upright(shared):
    """Phone clips stored landscape with a rotation tag are cached as a player shows them."""
    tagged = shared / ASL8 / "clips/Hello/Hello01.mp4"        # S1 session 1: 848x480 + 90°
    capture = cv2.VideoCapture(str(tagged))
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
    ok, stored = capture.read()
    capture.release()
    assert ok and stored.shape == (480, 848, 3)               # as the file stores it
    frames, fps = decode(tagged, DecodeSettings(short_side=64))
    assert frames.shape[1:] == (113, 64, 3) and fps == pytest.approx(30, abs=0.5)
    upright = cv2.cvtColor(cv2.rotate(stored, cv2.ROTATE_90_COUNTERCLOCKWISE), cv2.COLOR_BGR2RGB)
    expected = cv2.resize(upright, (64, 113), interpolation=cv2.INTER_AREA)
    assert np.abs(frames[0].astype(int) - expected).mean() < 2


def test_settings_are_part_of_the_key_and_damage_is_rebuilt(shared, tmp_path, monkeypatch):
    decodes = DecodeCounter(monkeypatch)
    video = shared / ASL8 / "clips/Yes/Yes01.mp4"
    small = VideoCache(tmp_path, DecodeSettings(short_side=64)).get(video)
    large = VideoCache(tmp_path, DecodeSettings(short_side=96)).get(video)
    assert small.frames.shape[1:] == (113, 64, 3) and large.frames.shape[1:] == (170, 96, 3)
    assert len(decodes.paths) == 2
    entry = VideoCache(tmp_path, DecodeSettings(short_side=64)).entry(content_hash(video))
    expected = np.array(small.frames)
    data = (entry / "frames.npy").read_bytes()
    # A torn file (a new inode: truncating the mapped one in place would kill the reader).
    (entry / "frames.npy").unlink()
    (entry / "frames.npy").write_bytes(data[:len(data) // 2])
    rebuilt = VideoCache(tmp_path, DecodeSettings(short_side=64)).get(video)
    assert len(decodes.paths) == 3 and np.array_equal(rebuilt.frames, expected)


def test_jpeg_frame_folders_are_clips_too(shared, tmp_path):
    frames = list(video_io.iter_frames(shared / ASL8 / "clips/No/No03.mp4"))   # 9 frames
    folder = tmp_path / "no03"
    folder.mkdir()
    for t, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{t:04d}.jpg"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    videos = CachedVideos([folder], VideoCache(tmp_path / "cache"))
    decoded = videos.video(0)
    assert decoded.shape[0] == 9 and min(decoded.shape[1:3]) == 128
    assert videos.fps(0) == video_io.DEFAULT_FRAME_FOLDER_FPS
    # The folder's hash changes when a frame does.
    before = content_hash(folder)
    cv2.imwrite(str(folder / "0000.jpg"), np.zeros_like(frames[0]))
    assert content_hash(folder) != before


def test_prediction_clipsets_from_files(shared, tmp_path):
    paths = [shared / ASL8 / "clips/Yes/Yes01.mp4", shared / ASL8 / "clips/No/No03.mp4"]
    clips = clipset_from_videos(paths, ("NO", "YES"), tmp_path)
    view = clips.unlabelled()
    assert len(view) == 2 and view.has_videos and view.n_frames[1] == 9
    assert view.video(1).shape[1:] == (226, 128, 3)


def test_bad_folders_name_the_file_and_the_fix(shared, tmp_path):
    with pytest.raises(DatasetNotFound, match="labels.csv.*file,gloss"):
        videos_adapter.load(DatasetRequest(data_dir=tmp_path, cache_dir=tmp_path))
    shutil.copy(shared / ASL8 / "clips/Yes/Yes01.mp4", tmp_path / "Yes01.mp4")
    pd.DataFrame({"file": ["a.mp4", "Yes01.mp4"],
                  "gloss": ["A", "YES"]}).to_csv(tmp_path / "index.csv", index=False)
    with pytest.raises(DatasetNotFound, match=r"index.csv: 1 listed videos are missing.*a.mp4"):
        videos_adapter.load(DatasetRequest(data_dir=tmp_path, cache_dir=tmp_path))
    with pytest.raises(DatasetNotFound, match="needs --data-dir"):
        videos_adapter.load(DatasetRequest(cache_dir=tmp_path))
