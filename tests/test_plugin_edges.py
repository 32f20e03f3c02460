"""Edge cases of keyframe_mlp, r2plus1d, the landmarks adapter and the video cache, found
by probing them with values and folders at or past their limits."""
from __future__ import annotations

import math
import os
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from harness.adapters import landmarks as landmarks_adapter
from harness.api import BadConfig
from harness.cli import main
from harness.extract import video_io
from harness.extract.video_cache import CachedVideos, VideoCache
from harness.specs import DatasetRequest
from harness.util.config import config_from_dict
from plugins.keyframe_mlp.config import KeyframeMLPConfig
from plugins.r2plus1d.config import R2Plus1DConfig
from plugins.r2plus1d.network import R2Plus1D
from plugins.r2plus1d.skeleton import render
from tests.conftest import make_clip


def _refused(config_cls, name, value):
    with pytest.raises(BadConfig) as caught:
        config_cls(**{name: value})
    message = str(caught.value)
    assert re.search(rf"\b{name}=", message) and "\n" not in message, message


BAD_KEYFRAME = [
    ("lr", math.nan), ("lr", math.inf), ("l2", math.nan), ("l2", math.inf),
    ("default_fps", math.nan), ("default_fps", math.inf), ("lr_factor", math.nan),
]


@pytest.mark.parametrize("name, value", BAD_KEYFRAME,
                         ids=[f"{n}={v!r}" for n, v in BAD_KEYFRAME])
def test_keyframe_mlp_refuses_nan_and_inf(name, value):
    # lr=nan was torch's traceback; lr=inf and l2=nan trained, then read as a divergence
    _refused(KeyframeMLPConfig, name, value)


BAD_R2PLUS1D = [
    ("lr", math.nan), ("lr", -1.0), ("lr", 0.0), ("lr", math.inf),
    ("weight_decay", math.nan), ("weight_decay", -0.01), ("weight_decay", math.inf),
    ("label_smoothing", 2.0), ("label_smoothing", -0.1), ("label_smoothing", math.nan),
    ("patience", -1), ("width", math.inf), ("width", math.nan), ("frames", 0),
    ("line_width", 0), ("line_width", 113), ("line_width", 1_000_000),
]


@pytest.mark.parametrize("name, value", BAD_R2PLUS1D,
                         ids=[f"{n}={v!r}" for n, v in BAD_R2PLUS1D])
def test_r2plus1d_refuses_values_torch_would_trip_on(name, value):
    # lr, weight_decay and label_smoothing reached torch unchecked (tracebacks after the
    # videos were decoded), width=inf an OverflowError building the network, a skeleton
    # line past OpenCV's 32767 pixels its assertion's traceback
    _refused(R2Plus1DConfig, name, value)


def test_r2plus1d_keeps_accepting_its_documented_edges():
    tiny = {"width": "0.125", "frames": "8", "size": "32", "batch_size": "16", "lr": "0.003",
            "dropout": "0.2"}
    for values in ({}, tiny, {"patience": "0", "epochs": "0", "label_smoothing": "0",
                              "weight_decay": "0"}, {"label_smoothing": "1"}):
        config = config_from_dict(R2Plus1DConfig, values, owner="r2plus1d")
        assert config_from_dict(R2Plus1DConfig, dict(vars(config)), owner="r2plus1d") == config
    # the widest line drawn is the frame itself
    frames = render(make_clip(frames=2), 32, line_width=112)
    assert frames.shape == (2, 32, 32, 3) and frames.any()


@pytest.mark.parametrize("model, value", [("keyframe_mlp", "lr=nan"),
                                          ("r2plus1d", "lr=nan")])
def test_a_nan_learning_rate_is_one_line_before_any_data(tmp_path, model, value):
    result = CliRunner().invoke(main, [
        "run", "--model", model, "--dataset", "signo", "--threads", "1", "--set", value,
        "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {model}: lr=nan"), result.output


def test_renamed_frames_of_a_frame_folder_are_decoded_again(shared, tmp_path):
    """Swapping two frames' names reorders the clip but keeps every size and mtime: the
    remembered hash (kept by count, total size and newest mtime) returned the old order."""
    frames = list(video_io.iter_frames(shared / "asl8-videos/clips/No/No03.mp4"))  # 9 frames
    folder = tmp_path / "no03"
    folder.mkdir()
    for t, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{t:04d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    cache = VideoCache(tmp_path / "cache")
    videos = CachedVideos([folder], cache)
    videos.prepare()
    before = np.array(videos.video(0))
    first, last = folder / "0000.png", folder / "0008.png"
    os.rename(first, tmp_path / "swap.png")
    os.rename(last, first)
    os.rename(tmp_path / "swap.png", last)
    again = CachedVideos([folder], cache)
    again.prepare()
    after = np.array(again.video(0))
    np.testing.assert_array_equal(after[0], before[-1])
    np.testing.assert_array_equal(after[-1], before[0])


def _parquet_folder(shared: Path, folder: Path, n: int = 8) -> Path:
    """A landmarks folder of a few real asl-signs clips (copied: an index may not point
    outside its folder), split by participant."""
    source = shared / "asl-signs-sample"
    table = pd.read_csv(source / "train.csv")
    picked = pd.concat([table[table.sign == sign].head(n // 2)
                        for sign in ("hello", "thankyou")])
    folder.mkdir(parents=True)
    rows = []
    for i, row in enumerate(picked.itertuples()):
        shutil.copy(source / row.path, folder / f"{row.sequence_id}.parquet")
        rows.append({"file": f"{row.sequence_id}.parquet", "gloss": row.sign,
                     "split": "test" if i % 4 == 3 else "train"})
    pd.DataFrame(rows).to_csv(folder / "index.csv", index=False)
    return folder


def test_a_landmarks_folder_given_as_dot_is_the_same_clip_set(shared, tmp_path, monkeypatch):
    # `--data-dir .` named the clip set '' (MLflow dataset '-2'), packed a second cache
    # and gave the same clips another landmark digest
    folder = _parquet_folder(shared, tmp_path / "mine")
    request = dict(cache_dir=tmp_path / "cache", split_seed=0)
    absolute = landmarks_adapter.load(DatasetRequest(data_dir=folder, **request))
    monkeypatch.chdir(folder)
    dot = landmarks_adapter.load(DatasetRequest(data_dir=Path("."), **request))
    assert absolute.name == dot.name == "mine"
    assert dot.landmarks.path == absolute.landmarks.path
    assert len(list((tmp_path / "cache").iterdir())) == 1


def test_a_landmarks_folder_with_a_long_name_loads(shared, tmp_path):
    # a 250-character folder name made the cache's name too long for the file system
    folder = _parquet_folder(shared, tmp_path / ("L" * 250))
    clips = landmarks_adapter.load(DatasetRequest(data_dir=folder, cache_dir=tmp_path / "c"))
    assert len(clips) == 8 and clips.name == "L" * 250
    assert all(len(p.name.encode()) <= 255 for p in (tmp_path / "c").iterdir())


@pytest.mark.parametrize("model", ["keyframe_mlp", "lstm", "spoter", "conv_transformer"])
def test_more_threads_than_cpus_is_one_line(tmp_path, model):
    # keyframe_mlp: torch's OpenMP failed to start them (a traceback); lstm: TensorFlow
    # aborted the whole process, leaving its run marked running
    result = CliRunner().invoke(main, [
        "run", "--model", model, "--dataset", "signo", "--vocab", "2", "--epochs", "1",
        "--set", "threads=100000", "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"])
    assert result.exit_code == 2, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"error: {model}: threads=100000; this process may use"), last
    assert "Traceback" not in result.output


def test_r2plus1d_refuses_batches_batch_norm_cannot_train_on():
    # batch_size=1, size=16, frames<=8: one value per channel in the last stage, torch's
    # "Expected more than 1 value per channel when training" traceback mid-epoch
    with pytest.raises(BadConfig, match=r"^r2plus1d: batch_size=1 with frames=8 and size=16"):
        config_from_dict(R2Plus1DConfig, {"batch_size": "1", "frames": "8", "size": "16"},
                         owner="r2plus1d")
    network = R2Plus1D(2, width=0.125).train()
    for frames, size in ((9, 16), (1, 17)):           # the nearest accepted ones train
        config = R2Plus1DConfig(batch_size=1, frames=frames, size=size)
        network(torch.zeros(1, 3, config.frames, config.size, config.size)).sum().backward()
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        network(torch.zeros(1, 3, 8, 16, 16))


def test_a_torch_plugins_threads_are_at_most_the_cpus_when_it_predicts():
    # a model saved with more threads than this machine has predicts with what there is
    import torch

    from harness.api import torch_compute
    from harness.run.resources import usable_cpus
    before = torch.get_num_threads()
    with torch_compute(100000):
        assert torch.get_num_threads() == usable_cpus()
    assert torch.get_num_threads() == before
