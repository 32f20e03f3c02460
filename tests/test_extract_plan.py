"""`data extract --dataset X` for any registered dataset that offers ``plan_extraction``.

A third-party-style dataset is registered through the plugin manager, as an installed
plugin would be; it lays out real asl8 clips its own way (one folder per sign, no index
file) and asks for frame windows and its own vocabulary order.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from harness import registry
from harness.api import hookimpl
from harness.cli import main
from harness.data.store import LandmarkStore
from harness.errors import DatasetNotFound
from harness.specs import DatasetSpec, ExtractionPlan, ExtractionRequest

NAME = "sign-folders"
VOCAB = ["YES", "NO"]                         # the dataset's order, not the sorted one
CLIPS = {"YES": "clips/Yes/Yes01.mp4", "NO": "clips/No/No03.mp4"}
WINDOW = {"start_frame": 2, "end_frame": 4}   # 1-based, inclusive


def plan(videos: Path, request: ExtractionRequest) -> ExtractionPlan:
    rows = [{"file": f"{gloss}/{path.name}", "gloss": gloss, "split": "test", **WINDOW}
            for gloss in VOCAB for path in sorted((videos / gloss).glob("*.mp4"))]
    return ExtractionPlan(pd.DataFrame(rows), VOCAB, NAME, note=f"{len(rows)} clips by folder")


def load(request):
    raise DatasetNotFound("this test dataset is only ever extracted")


class SignFolders:
    @hookimpl
    def slrbench_datasets(self):
        return [DatasetSpec(name=NAME, summary="one folder per sign", load=load,
                            plan_extraction=plan)]


@pytest.fixture
def sign_folders():
    registry.plugin_manager().register(SignFolders(), name=NAME)
    yield
    registry.plugin_manager().unregister(name=NAME)


@pytest.mark.slow
def test_a_registered_dataset_plans_its_own_extraction(sign_folders, shared, tmp_path,
                                                       monkeypatch):
    videos = tmp_path / "videos"
    for gloss, clip in CLIPS.items():
        (videos / gloss).mkdir(parents=True)
        # copies, not links: an index may not point outside its folder (issue 14)
        shutil.copy(shared / "asl8-videos" / clip, videos / gloss / Path(clip).name)
    store = tmp_path / "store"
    command = ["data", "extract", "--dataset", NAME, "--videos", str(videos), "--out",
               str(store), "--workers", "1"]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    assert "2 clips by folder" in result.output
    assert "2 clips: 2 extracted now (6 frames" in result.output     # frames 2..4 of each
    assert f"--dataset {NAME} --data-dir {store}" in result.output
    opened = LandmarkStore.open(store)
    assert opened.manifest["dataset"] == NAME and opened.vocab == tuple(VOCAB)
    meta = opened.meta.set_index("clip_id")
    assert meta.loc["YES/Yes01", "label"] == 0 and meta.loc["NO/No03", "label"] == 1
    assert meta["n_frames"].tolist() == [3, 3]
    assert meta["start_frame"].tolist() == [2, 2] and meta["end_frame"].tolist() == [4, 4]

    again = CliRunner().invoke(main, command)
    assert "0 extracted now, 0 resumed, 2 already in the store" in again.output
    # another window is another clip: extracted anew, not reused
    monkeypatch.setitem(WINDOW, "start_frame", 1)
    moved = CliRunner().invoke(main, command)
    assert "2 clips: 2 extracted now (8 frames" in moved.output, moved.output
    assert LandmarkStore.open(store).meta["n_frames"].tolist() == [4, 4]


def test_datasets_without_a_plan_are_refused_naming_those_with_one(sign_folders, tmp_path):
    for dataset, why in (("landmarks", "this dataset does not plan extraction"),
                         ("no-such-set", "no such dataset is registered")):
        result = CliRunner().invoke(main, ["data", "extract", "--dataset", dataset,
                                           "--videos", str(tmp_path)])
        assert result.exit_code == 2, result.output
        assert why in result.output
        offered = result.output.split("datasets that plan their extraction: ")[1]
        assert {"gsl", "msasl", NAME} <= set(offered.split(";")[0].split(", "))
