"""`slrbench predict` on videos: video -> MediaPipe landmarks -> a model trained on asl8.

Trains the baseline on signer S1 of a landmark store extracted here from part of the real
asl8 videos (8 training clips of S1 per sign, one test clip of another signer per sign and
the clips predicted below: a third of the set, so CI's cold start extracts it in about a
minute) and recognises real clips of the other signers, given as video files and as a
folder of videos.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
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


TRAIN_PER_SIGN = 8


@pytest.fixture(scope="module")
def asl8_store(shared, tmp_path_factory) -> Path:
    index = extract.plan_extraction(shared / "asl8-videos").index
    train = index[index["split"] == "train"].groupby("gloss").head(TRAIN_PER_SIGN)
    test = index[index["split"] == "test"]
    test = test[test["file"].isin(UNSEEN) | ~test["gloss"].duplicated()]
    store = tmp_path_factory.mktemp("asl8") / "store"
    extract.extract_store(pd.concat([train, test]), store, dataset="asl8")
    assert is_store(store)
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
    expected = rank(loaded, stored, len(loaded.vocab))
    for name, ranked in zip(["Hello12.mp4", "No15.mp4", "yes.mp4"], expected):
        assert printed[name] == [gloss for gloss, _ in ranked[:5]]
    # Landmarks that mean something: a baseline trained on one signer ranks these unseen
    # signers' signs first more often than not, and on average far above chance.
    truth = [store.meta["gloss"][by_source[f]] for f in UNSEEN]
    ranks = [[g for g, _ in ranked].index(t) + 1 for t, ranked in zip(truth, expected)]
    assert sorted(ranks)[1] == 1, ranks
    assert np.mean(ranks) < (len(loaded.vocab) + 1) / 2, ranks


@pytest.mark.slow
def test_predict_reports_an_unreadable_video(tmp_path):
    tracking_uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    run_id = run_experiment(RunConfig(model="pooled_logreg", dataset="signo", vocab=3,
                                      tracking_uri=tracking_uri)).run_id
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    output = CliRunner().invoke(main, ["predict", "--run", run_id, "--tracking-uri",
                                       tracking_uri, str(broken)])
    assert output.exit_code == 2
    assert "broken.mp4: cannot open this video" in output.output
