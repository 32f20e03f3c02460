"""Dataset adapters on the shipped real data and on user-made folders."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from harness.adapters import landmarks as landmarks_adapter
from harness.run.loading import load_clipset, make_request
from harness.errors import BadAnnotations, BadConfig, DatasetNotFound
from tests.conftest import make_clip


def test_asl_signs_sample_is_complete_and_signer_disjoint():
    clips, manifest = load_clipset("asl-signs", make_request())
    assert len(clips) == 126 and clips.vocab == ("hello", "thankyou")
    signers = {s: set(clips.split(s).meta["signer"]) for s in ("train", "val", "test")}
    assert not signers["train"] & (signers["val"] | signers["test"])
    assert len(signers["train"] | signers["val"] | signers["test"]) == 21
    frames = clips.meta["n_frames"]
    assert frames.min() >= 2 and frames.max() <= 272
    assert manifest.counts()["test"] == len(clips.split("test"))


def test_signo_zeros_become_nan_and_pose_is_declared_missing():
    clips, _ = load_clipset("signo", make_request())
    assert clips.lacks == ("pose", "face") and clips.num_classes == 21
    assert len(clips) == 1260 - 6  # the all-zero sequences are dropped
    clip = clips.clip(0)
    assert clip.shape == (30, 543, 3)
    assert np.isnan(clip[:, :501]).all()
    hands = clip[:, 501:]
    assert not (np.nan_to_num(hands, nan=1.0) == 0).all(axis=(1, 2)).any()


def test_split_seed_changes_the_split_but_not_the_data():
    a, ma = load_clipset("asl-signs", make_request(split_seed=0))
    b, mb = load_clipset("asl-signs", make_request(split_seed=1))
    assert ma.sha256 != mb.sha256
    assert a.meta["clip_id"].tolist() == b.meta["clip_id"].tolist()


def test_vocabulary_slice_keeps_the_first_classes():
    clips, _ = load_clipset("signo", make_request(vocab=5))
    assert clips.vocab == ("can", "deaf", "do", "feel", "finish")
    assert clips.labels.max() == 4
    with pytest.raises(BadConfig, match="larger than signo's vocabulary of 21"):
        load_clipset("signo", make_request(vocab=22))


def write_folder(root, split=True, signers=("a", "b", "c", "d")):
    rows = []
    for i in range(24):
        file = f"clips/clip{i:02d}.npy"
        (root / "clips").mkdir(parents=True, exist_ok=True)
        np.save(root / file, make_clip(frames=5 + i % 4, seed=i))
        row = {"file": file, "gloss": ["yes", "no", "maybe"][i % 3], "signer": signers[i % 4]}
        if split:
            row["split"] = "test" if signers[i % 4] == "d" else "train"
        rows.append(row)
    pd.DataFrame(rows).to_csv(root / "index.csv", index=False)


def test_landmark_folder_with_a_given_split(tmp_path):
    write_folder(tmp_path)
    clips, manifest = load_clipset("landmarks", make_request(data_dir=tmp_path))
    assert clips.vocab == ("maybe", "no", "yes")
    assert set(clips.split("test").meta["signer"]) == {"d"}
    assert len(clips.split("val")) > 0  # carved from train
    assert "as given" in manifest.protocol
    np.testing.assert_array_equal(clips.clip(0), make_clip(frames=5, seed=0))


def test_landmark_folder_without_split_is_split_by_signer(tmp_path):
    write_folder(tmp_path, split=False)
    clips, manifest = load_clipset("landmarks", make_request(data_dir=tmp_path))
    test_signers = set(clips.split("test").meta["signer"])
    assert test_signers and not test_signers & set(clips.split("train").meta["signer"])
    assert "signer-disjoint" in manifest.protocol


def test_landmark_folder_errors_name_the_file(tmp_path):
    with pytest.raises(DatasetNotFound, match="index.csv"):
        load_clipset("landmarks", make_request(data_dir=tmp_path))
    pd.DataFrame({"path": ["x.npy"]}).to_csv(tmp_path / "index.csv", index=False)
    with pytest.raises(BadAnnotations, match=r"index.csv: missing columns \['file', 'gloss'\]"):
        load_clipset("landmarks", make_request(data_dir=tmp_path))


WLASL_CLIPS = {"book": ("07068", "07069", "07070", "07074"),
               "drink": ("17709", "17710", "17711", "17712"),
               "computer": ("12311", "12313", "12314", "12316")}


def copied_folder(root, files: dict) -> None:
    """``{gloss: [real landmark file, ...]}`` copied under ``root`` with an index (each
    sign's last clip for test): copies, as an index may not point outside its folder."""
    rows = []
    for gloss, sources in files.items():
        for i, source in enumerate(sources):
            target = root / gloss / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
            rows.append({"file": f"{gloss}/{source.name}", "gloss": gloss,
                         "split": "test" if i == len(sources) - 1 else "train"})
    pd.DataFrame(rows).to_csv(root / "index.csv", index=False)


def test_a_landmark_folder_lacks_the_parts_none_of_its_files_holds(shared, tmp_path,
                                                                   monkeypatch):
    # packed with lacks=(): a model trained on WLASL's hands-only files, given a Holistic
    # clip, read its pose and face as it never had
    monkeypatch.setenv("SLRBENCH_DATA_ROOT", str(tmp_path / "data"))
    hands = {gloss: [shared / "wlasl-hands" / "landmarks" / f"{vid}.npy" for vid in ids]
             for gloss, ids in WLASL_CLIPS.items()}
    copied_folder(tmp_path / "hands", hands)
    clips, _ = load_clipset("landmarks", make_request(data_dir=tmp_path / "hands"))
    assert clips.lacks == ("pose", "face")
    assert clips.info.lacks == ("pose", "face")          # what a run saves with its model
    [store] = (tmp_path / "data" / "cache").glob("landmarks-hands-*")
    assert json.loads((store / "manifest.json").read_text())["lacks"] == ["pose", "face"]

    # a part held in any frame of any clip is not lacking: one Holistic clip among them
    listed = pd.read_csv(shared / "asl-signs-sample" / "train.csv")
    hands["book"].append(shared / "asl-signs-sample" / listed["path"].iloc[0])
    copied_folder(tmp_path / "mixed", hands)
    mixed, _ = load_clipset("landmarks", make_request(data_dir=tmp_path / "mixed"))
    assert mixed.lacks == ()


def test_a_landmark_folder_of_holistic_files_lacks_nothing(shared, tmp_path, monkeypatch):
    monkeypatch.setenv("SLRBENCH_DATA_ROOT", str(tmp_path / "data"))
    listed = pd.read_csv(shared / "asl-signs-sample" / "train.csv")
    first, second = listed["participant_id"].unique()[:2]

    def folder(name: str, participants) -> tuple:
        rows = listed[listed["participant_id"].isin(participants)]
        copied_folder(tmp_path / name, {
            sign: [shared / "asl-signs-sample" / path for path in group["path"]]
            for sign, group in rows.groupby("sign")})
        # the adapter alone: six clips make too small a split for a run
        return landmarks_adapter.load(make_request(data_dir=tmp_path / name)).lacks

    assert folder("two", [first, second]) == ()       # one signs with each hand
    [store] = (tmp_path / "data" / "cache").glob("landmarks-two-*")
    assert json.loads((store / "manifest.json").read_text())["lacks"] == []
    # the first signer signs with the right hand alone: the left is unused, not lacking
    # (blanked at predict time, a left-handed signer's clip would lose its signing hand)
    assert folder("one", [first]) == ()


def test_synthetic_is_deterministic_and_sized_by_vocab():
    options = {"clips_per_class": "6", "mean_frames": "20", "signers": "8"}
    a, ma = load_clipset("synthetic", make_request(vocab=7, options=options))
    b, mb = load_clipset("synthetic", make_request(vocab=7, options=options))
    assert len(a) == 42 and a.num_classes == 7 and ma.sha256 == mb.sha256
    np.testing.assert_array_equal(a.clip(5), b.clip(5))
    lengths = a.meta["n_frames"]
    assert lengths.min() >= 5 and lengths.mean() == pytest.approx(20, rel=0.35)


def test_asl_signs_class_order_file_added_later_relabels_the_cached_clips(shared, tmp_path,
                                                                          monkeypatch):
    # the cache was keyed by train.csv and the parquets only: the store built before the
    # order file kept its labels (hello 0), against the order the file gives
    monkeypatch.setenv("SLRBENCH_DATA_ROOT", str(tmp_path / "data"))
    source = shared / "asl-signs-sample"
    index = pd.read_csv(source / "train.csv").groupby("sign").head(4)
    folder = tmp_path / "asl"
    for path in index["path"]:
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes((source / path).read_bytes())
    index.to_csv(folder / "train.csv", index=False)
    before, _ = load_clipset("asl-signs", make_request(folder))
    assert before.vocab == ("hello", "thankyou")
    (folder / "sign_to_prediction_index_map.json").write_text('{"thankyou": 0, "hello": 1}')
    after, _ = load_clipset("asl-signs", make_request(folder))
    assert after.vocab == ("thankyou", "hello")
    assert (after.meta["label"] == after.meta["gloss"].map({"thankyou": 0, "hello": 1})).all()
