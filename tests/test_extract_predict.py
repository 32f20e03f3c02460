"""`slrbench predict` on videos: video -> MediaPipe landmarks -> a model trained on asl8.

Trains the baseline on signer S1 of the asl8 landmark store (``datasets/stores/asl8``,
built once by ``slrbench data extract --videos ../shared/datasets/asl8-videos``; built here
if absent, which takes minutes) and recognises real clips of the other signers, given as
video files and as a folder of videos.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from harness.extract import pipeline as extract
from harness.cli import main
from harness.run.predict import rank
from harness.run.runner import RunConfig, run_experiment
from harness.data.store import LandmarkStore, is_store
from harness.run.tracking import load_model

# Short test-split clips of signers the model never saw (frames): S2 22, S3 22, S2 23.
UNSEEN = ["clips/Hello/Hello12.mp4", "clips/No/No15.mp4", "clips/Yes/Yes10.mp4"]


@pytest.fixture(scope="module")
def asl8_store(shared) -> Path:
    store = extract.default_store("asl8")
    if not is_store(store):
        plan = extract.plan_extraction(shared / "asl8-videos")
        extract.extract_store(plan.index, store, plan.vocab, plan.dataset)
    return store


@pytest.fixture(scope="module")
def trained(asl8_store, tmp_path_factory) -> tuple[str, str]:
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlruns.db'}"
    result = run_experiment(RunConfig(model="pooled_logreg", dataset="landmarks",
                                      data_dir=asl8_store, tracking_uri=uri))
    return result.run_id, uri


@pytest.mark.slow
def test_predict_recognises_videos_of_unseen_signers(asl8_store, trained, shared, tmp_path):
    run_id, tracking_uri = trained
    store = LandmarkStore.open(asl8_store)
    assert set(store.meta.loc[store.meta["split"] == "train", "signer"]) == {"S1"}
    videos = shared / "asl8-videos"
    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "yes.mp4").symlink_to(videos / UNSEEN[2])
    args = ["predict", "--run", run_id, "--tracking-uri", tracking_uri,
            str(videos / UNSEEN[0]), str(videos / UNSEEN[1]), str(folder)]
    output = CliRunner().invoke(main, args)
    assert output.exit_code == 0, output.output

    blocks = re.findall(r"^(\S.*):\n((?:  .*\n){5})", output.output, flags=re.M)
    assert [Path(p).name for p, _ in blocks] == ["Hello12.mp4", "No15.mp4", "yes.mp4"]
    printed = {}
    for path, lines in blocks:
        ranked = [re.match(r"\s+([\d.]+)%\s+(\S+)", line).groups() for line in lines.splitlines()]
        probabilities = [float(p) for p, _ in ranked]
        assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 100.5
        printed[Path(path).name] = [gloss for _, gloss in ranked]

    # the same glosses as the model gives the store's landmarks of those clips: the video
    # path extracts exactly what `data extract` stored
    loaded = load_model(run_id, tracking_uri)
    by_source = {s: i for i, s in enumerate(store.meta["source"])}
    stored = [np.asarray(store.clip(by_source[f])) for f in UNSEEN]
    expected = rank(loaded, stored, 5)
    for name, ranked in zip(["Hello12.mp4", "No15.mp4", "yes.mp4"], expected):
        assert printed[name] == [gloss for gloss, _ in ranked]
    truth = [store.meta["gloss"][by_source[f]] for f in UNSEEN]
    assert all(t in printed[n] for t, n in zip(truth, ["Hello12.mp4", "No15.mp4", "yes.mp4"]))


def test_predict_reports_an_unreadable_video(tmp_path, trained):
    run_id, tracking_uri = trained
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    output = CliRunner().invoke(main, ["predict", "--run", run_id, "--tracking-uri",
                                       tracking_uri, str(broken)])
    assert output.exit_code == 2
    assert "broken.mp4: cannot open this video" in output.output
