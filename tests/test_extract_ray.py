"""Landmark extraction on a real local Ray instance: the same jobs and outcomes as the pool."""
from __future__ import annotations

import os

import numpy as np
import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.data.store import LandmarkStore
from harness.extract import pipeline, ray_pool
from harness.extract.work import ExtractConfig, ExtractSummary, Job, save_part


@pytest.mark.slow
def test_ray_pool_is_a_drop_in_for_the_process_pool(tmp_path, ray_instance, shared):
    video = shared / "asl8-videos" / "clips" / "No" / "No03.mp4"   # 9 frames
    (tmp_path / "corrupt.mp4").write_bytes(os.urandom(3000))
    jobs = [Job("no03", str(video), str(tmp_path / "no03.npy")),
            Job("bad", str(tmp_path / "corrupt.mp4"), str(tmp_path / "bad.npy"))]
    summary, errors = ExtractSummary(store=None, clips=2), []
    ray_pool.run_pool(jobs, {"no03": 9, "bad": 1}, ExtractConfig(workers=1), save_part,
                      summary, errors)
    assert (summary.extracted, summary.frames, summary.workers) == (1, 9, 1)
    assert [e["clip_id"] for e in errors] == ["bad"] and "corrupt.mp4" in errors[0]["error"]
    assert not (tmp_path / "bad.npy").exists()
    on_ray = np.load(tmp_path / "no03.npy")
    [here] = pipeline.extract_videos([video])
    assert on_ray.shape == here.shape == (9, 543, 3)
    np.testing.assert_allclose(on_ray, here, atol=1e-5)   # NaN where MediaPipe saw nothing


@pytest.mark.slow
def test_data_extract_command_on_ray_builds_a_store(tmp_path, ray_instance, shared):
    videos = tmp_path / "videos"
    videos.mkdir()
    source = shared / "asl8-videos" / "clips" / "No" / "No03.mp4"   # 9 frames
    (videos / "no03.mp4").write_bytes(source.read_bytes())
    (videos / "labels.csv").write_text("file,gloss,signer\nno03.mp4,NO,S1\n")
    result = CliRunner().invoke(main, ["data", "extract", "--videos", str(videos), "--out",
                                       str(tmp_path / "store"), "--backend", "ray",
                                       "--workers", "1"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    store = LandmarkStore.open(tmp_path / "store")
    assert len(store) == 1 and store.clip(0).shape == (9, 543, 3)
    assert store.meta["gloss"].tolist() == ["NO"]
