"""WLASL: both split schemas, every landmark source, the hand-slot rule, windows, coverage,
bad input, and end-to-end runs on the shipped WLASL300 hand landmarks.

Small datasets in WLASL's own layout are built per test (hands whose wrist x, y are known
and whose frame number is written into a coordinate, so every cut and every slot can be
checked); the shipped files are read from ../shared/datasets/wlasl-hands, never copied.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from harness.adapters import wlasl
from harness.cli import main
from harness.data.clips import FACE, LEFT_HAND, POSE, RIGHT_HAND
from harness.run.loading import load_clipset, make_request
from harness.data.store import StoreWriter
from harness.errors import (BadAnnotations, BadConfig, BadLandmarks, BadStore,
                            DatasetNotFound)
from harness.specs import ExtractionRequest

CLASSES = ("book", "drink", "computer")
FRAME_TAG = 2            # landmark whose z holds the frame number (1-based) in crafted hands


def hand(x: float, y: float = 0.5, frame: int = 0) -> np.ndarray:
    """21 points around a wrist at (x, y); point FRAME_TAG's z is the frame number."""
    offsets = np.linspace(0.0, 0.05, 21)
    points = np.stack([x + offsets, y - offsets, np.zeros(21)], axis=1)
    points[FRAME_TAG, 2] = frame
    return points


def hands_clip(frames: list[tuple]) -> np.ndarray:
    """``[(x of slot 0 or None, x of slot 1 or None), ...]`` -> ``[T, 2, 21, 3]``, -1 gaps."""
    out = np.full((len(frames), 2, 21, 3), -1.0)
    for t, slots in enumerate(frames):
        for s, x in enumerate(slots):
            if x is not None:
                out[t, s] = hand(x, frame=t + 1)
    return out


def two_hands(n: int, swap_at: int | None = None) -> np.ndarray:
    """Both hands in every frame; the detection order flips from frame ``swap_at`` on."""
    return hands_clip([(0.3, 0.7) if swap_at is None or t < swap_at else (0.7, 0.3)
                       for t in range(n)])


def write_dataset(root: Path, clips: dict, schema: str = "nslt", vocab: int = 100,
                  signers: dict | None = None) -> Path:
    """A WLASL folder: the split file, the class list and landmarks/<id>.<suffix>.

    ``clips``: video id -> (split, class index, start, end, array or None); None lists the
    clip without a landmark file (absent from this extraction, as half of WLASL is).
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / wlasl.LANDMARKS_DIR).mkdir(exist_ok=True)
    for video_id, (_, _, _, _, array) in clips.items():
        if array is not None:
            np.save(root / wlasl.LANDMARKS_DIR / f"{video_id}.npy", array)
    if schema == "nslt":
        entries = {vid: {"subset": split, "action": [label, start, end]}
                   for vid, (split, label, start, end, _) in clips.items()}
        (root / f"nslt_{vocab}.json").write_text(json.dumps(entries))
        (root / wlasl.CLASS_LIST).write_text(
            "".join(f"{i}\t{g}\n" for i, g in enumerate(CLASSES)))
    else:
        release = [{"gloss": gloss, "instances": [
            {"video_id": vid, "split": split, "frame_start": start, "frame_end": end,
             "fps": 25, "signer_id": (signers or {}).get(vid, 7), "bbox": [0, 0, 10, 10],
             "instance_id": 0, "source": "test", "url": "", "variation_id": 0}
            for vid, (split, label, start, end, _) in clips.items() if label == i]}
            for i, gloss in enumerate(CLASSES)]
        (root / wlasl.FULL_RELEASE).write_text(json.dumps(release))
    return root


def basic_clips(n: int = 6) -> dict:
    """Every class with a train, a val and a test clip, all present."""
    clips = {}
    for label in range(len(CLASSES)):
        for split in ("train", "val", "test"):
            clips[f"{label}{split[:2]}"] = (split, label, 1, -1, two_hands(n))
    return clips


@pytest.fixture
def data_root(tmp_path, monkeypatch) -> Path:
    """Caches of crafted datasets go to a temporary data root, not the checkout's."""
    monkeypatch.setenv("SLRBENCH_DATA_ROOT", str(tmp_path / "data"))
    return tmp_path / "data"


def load(root: Path, vocab: int | None = 3, **options):
    return load_clipset("wlasl", make_request(root, vocab, options={k: str(v) for k, v in
                                                                     options.items()}))


def clip_by_id(clips, video_id: str) -> np.ndarray:
    return clips.clip(clips.clip_ids.index(video_id))


# --- the hand-slot rule on crafted clips ---------------------------------------------------
@pytest.mark.parametrize("rule", list(wlasl.RULES))
def test_detection_order_swapped_mid_clip_keeps_each_hand_in_its_slot(rule):
    placed = wlasl.place_hands(two_hands(8, swap_at=4), rule)
    # image-right (x 0.7) is the signer's left hand: Holistic's left_hand slot
    assert np.allclose(placed[:, 0, 0, 0], 0.7) and np.allclose(placed[:, 1, 0, 0], 0.3)
    assert np.array_equal(placed[:, 0, FRAME_TAG, 2], np.arange(1, 9))


def test_a_lone_hand_crossing_the_midline_keeps_its_slot_when_tracked():
    # the right hand alone, moving from the image's left third across the centre
    clip = hands_clip([(0.3, 0.7)] + [(x, None) for x in np.linspace(0.32, 0.6, 8)])
    tracked = wlasl.place_hands(clip, "track")
    assert np.isfinite(tracked[1:, 1]).all() and np.isnan(tracked[1:, 0]).all()
    by_side = wlasl.place_hands(clip, "side")
    crossed = by_side[1:, 0, 0, 0] >= 0.5
    assert crossed.any() and np.isfinite(by_side[1:][crossed, 0]).all()


def test_a_lone_hand_is_tracked_to_the_slot_last_seen_nearest():
    # both hands, then only the left one (it stays near x 0.7, detected in slot 1),
    # then only the right one (near 0.3, slot 0)
    clip = hands_clip([(0.3, 0.7), (None, 0.68), (None, 0.66), (0.33, None), (0.35, None)])
    placed = wlasl.place_hands(clip, "track")
    assert np.isfinite(placed[1:3, 0]).all() and np.isnan(placed[1:3, 1]).all()
    assert np.isfinite(placed[3:, 1]).all() and np.isnan(placed[3:, 0]).all()


@pytest.mark.parametrize("rule", list(wlasl.RULES))
def test_a_lone_hand_before_any_two_hand_frame_goes_by_its_side(rule):
    placed = wlasl.place_hands(hands_clip([(0.2, None), (None, 0.25)]), rule)
    assert np.isfinite(placed[:, 1]).all() and np.isnan(placed[:, 0]).all()
    placed = wlasl.place_hands(hands_clip([(None, 0.8), (0.78, None)]), rule)
    assert np.isfinite(placed[:, 0]).all() and np.isnan(placed[:, 1]).all()


def test_frames_without_hands_stay_nan():
    placed = wlasl.place_hands(hands_clip([(None, None), (0.3, 0.7), (None, None)]))
    assert np.isnan(placed[[0, 2]]).all() and np.isfinite(placed[1]).all()


# --- landmark sources, windows ---------------------------------------------------------------
def test_hands_files_are_read_into_holistic_slots_with_nan_never_minus_one(tmp_path, data_root):
    clips = basic_clips()
    gappy = hands_clip([(0.3, 0.7), (None, None), (0.72, None), (0.7, 0.3), (None, 0.28)])
    clips["gappy"] = ("train", 0, 1, -1, gappy)
    loaded, _ = load(write_dataset(tmp_path / "w", clips))
    clip = clip_by_id(loaded, "gappy")
    assert clip.shape == (5, 543, 3) and clip.dtype == np.float32
    assert not (clip == -1).any()
    assert np.isnan(clip[:, POSE]).all() and np.isnan(clip[:, FACE]).all()
    left, right = clip[:, LEFT_HAND], clip[:, RIGHT_HAND]
    assert np.isnan(left[1]).all() and np.isnan(right[1]).all()       # no hand in frame 2
    assert np.allclose(left[[0, 2, 3], 0, 0], [0.7, 0.72, 0.7])
    assert np.allclose(right[[0, 3, 4], 0, 0], [0.3, 0.3, 0.28])
    assert np.isnan(right[2]).all() and np.isnan(left[4]).all()
    assert set(loaded.lacks) == {"pose", "face"}
    assert loaded.notes["params"]["wlasl.hand_slots"] == wlasl.RULES["side"]


def test_frames_are_cut_to_the_annotated_window(tmp_path, data_root):
    clips = basic_clips()
    clips["window"] = ("train", 1, 3, 6, two_hands(10))          # frames 3..6 of 10
    clips["to_end"] = ("train", 1, 4, -1, two_hands(10))         # frames 4..10
    clips["short"] = ("train", 2, 2, 40, two_hands(12))          # the file ends at 12
    loaded, _ = load(write_dataset(tmp_path / "w", clips))
    frames = {vid: clip_by_id(loaded, vid)[:, LEFT_HAND][:, FRAME_TAG, 2]
              for vid in ("window", "to_end", "short")}
    assert frames["window"].tolist() == [3, 4, 5, 6]
    assert frames["to_end"].tolist() == list(range(4, 11))
    assert frames["short"].tolist() == list(range(2, 13))
    n_frames = dict(zip(loaded.clip_ids, loaded.meta["n_frames"]))
    assert (n_frames["window"], n_frames["to_end"], n_frames["short"]) == (4, 7, 11)


def test_holistic_npy_and_parquet_files_are_read_too(tmp_path, data_root):
    clips = basic_clips()
    root = write_dataset(tmp_path / "w", clips)
    holistic = np.full((6, 543, 3), np.nan, dtype=np.float32)
    holistic[:, POSE] = 0.5
    holistic[:, RIGHT_HAND] = hand(0.3)
    holistic[:, LEFT_HAND] = -1.0          # a part written as -1 is missing, like NaN
    np.save(root / wlasl.LANDMARKS_DIR / "0tr.npy", holistic)
    rows = [{"frame": t, "row_id": f"{t}-right_hand-{i}", "type": "right_hand",
             "landmark_index": i, "x": 0.25, "y": 0.5, "z": float(t)}
            for t in range(1, 8) for i in range(21)]
    (root / wlasl.LANDMARKS_DIR / "1tr.npy").unlink()
    pd.DataFrame(rows).to_parquet(root / wlasl.LANDMARKS_DIR / "1tr.parquet")
    loaded, _ = load(root)
    from_npy, from_parquet = clip_by_id(loaded, "0tr"), clip_by_id(loaded, "1tr")
    assert np.allclose(from_npy[:, RIGHT_HAND], hand(0.3)) and np.isnan(from_npy[:, LEFT_HAND]).all()
    assert np.allclose(from_npy[:, POSE], 0.5)
    assert from_parquet.shape == (7, 543, 3) and np.allclose(from_parquet[:, RIGHT_HAND, 0], 0.25)
    assert loaded.lacks == ("face",)


def test_pose_files_are_read_and_cut_to_their_window(tmp_path, data_root):
    from harness.data.pose_files import write_pose
    clips = basic_clips(n=8)
    clips["0te"] = ("test", 0, 3, 6, clips["0te"][4])       # frames 3..6 of the file
    root = write_dataset(tmp_path / "w", clips)
    holistic = np.full((8, 543, 3), np.nan, dtype=np.float32)
    holistic[:, RIGHT_HAND] = hand(0.25)
    holistic[:, RIGHT_HAND][:, FRAME_TAG, 2] = np.arange(1, 9)   # the frame number, 1-based
    (root / wlasl.LANDMARKS_DIR / "0te.npy").unlink()
    write_pose(root / wlasl.LANDMARKS_DIR / "0te.pose", holistic, fps=25.0, width=640,
               height=480)
    from_pose = clip_by_id(load(root)[0], "0te")
    assert from_pose.shape == (4, 543, 3)
    right = from_pose[:, RIGHT_HAND]
    assert np.allclose(right[:, FRAME_TAG, 2], [3, 4, 5, 6], atol=1e-4)
    assert np.allclose(right[:, 0, :2], [0.25, 0.5], atol=1e-4)
    assert np.isnan(from_pose[:, LEFT_HAND]).all() and np.isnan(from_pose[:, POSE]).all()


@pytest.mark.parametrize("trimmed", [False, True])
def test_a_store_extracted_from_wlasl_videos(tmp_path, data_root, trimmed):
    """`data extract --dataset wlasl` writes Holistic clips with the videos' paths; the split
    file is found beside the videos. A store whose meta has the window was cut at
    extraction and is not cut again."""
    wlasl_root = tmp_path / "WLASL"
    clips = basic_clips()
    clips["absent"] = ("test", 0, 1, -1, None)
    write_dataset(wlasl_root, {k: (*v[:4], None) for k, v in clips.items()})
    clips["0tr"] = ("train", 0, 3, 5, None)
    (wlasl_root / "nslt_100.json").write_text(json.dumps(
        {vid: {"subset": s, "action": [label, start, end]}
         for vid, (s, label, start, end, _) in clips.items()}))
    store = tmp_path / "stores" / "wlasl"
    with StoreWriter(store, CLASSES, "wlasl") as writer:
        for vid, (split, label, start, end, _) in clips.items():
            if vid == "absent":
                continue
            frames = 3 if trimmed and vid == "0tr" else 8
            holistic = np.full((frames, 543, 3), np.nan, dtype=np.float32)
            holistic[:, RIGHT_HAND] = hand(0.3)
            holistic[:, RIGHT_HAND.start + FRAME_TAG, 2] = np.arange(1, frames + 1)
            row = {"clip_id": vid, "gloss": CLASSES[label], "label": label, "split": split,
                   "signer": "unknown", "fps": 25.0, "source": f"{vid}.mp4",
                   "video": str(wlasl_root / "videos" / f"{vid}.mp4")}
            if trimmed:
                row.update(start_frame=start, end_frame=end)
            writer.add(row, holistic)
    loaded, _ = load(store)
    assert len(loaded) == len(clips) - 1
    assert loaded.notes["params"]["coverage.test"] == "3/4"
    assert loaded.notes["params"]["wlasl.hand_slots"] == wlasl.HOLISTIC_SOURCE
    kept = clip_by_id(loaded, "0tr")[:, RIGHT_HAND.start + FRAME_TAG, 2]
    assert kept.tolist() == ([1, 2, 3] if trimmed else [3, 4, 5])


def test_a_store_cut_to_other_windows_than_the_split_file_now_gives_is_refused(tmp_path,
                                                                             data_root):
    # its clips were read as cut at extraction: a corrected window changed nothing
    wlasl_root = tmp_path / "WLASL"
    clips = {vid: (*c[:4], None) for vid, c in basic_clips().items()}
    clips["0tr"] = ("train", 0, 3, 5, None)
    write_dataset(wlasl_root, clips)
    store = tmp_path / "stores" / "wlasl"
    with StoreWriter(store, CLASSES, "wlasl") as writer:
        for vid, (split, label, start, end, _) in clips.items():
            holistic = np.full((3, 543, 3), np.nan, dtype=np.float32)
            holistic[:, RIGHT_HAND] = hand(0.3)
            writer.add({"clip_id": vid, "gloss": CLASSES[label], "label": label,
                        "split": split, "signer": "unknown", "fps": 25.0,
                        "source": f"{vid}.mp4", "start_frame": start, "end_frame": end,
                        "video": str(wlasl_root / "videos" / f"{vid}.mp4")}, holistic)
    assert len(load(store)[0]) == len(clips)                  # the windows it was cut to
    clips["0tr"] = ("train", 0, 2, 9, None)
    write_dataset(wlasl_root, clips)
    with pytest.raises(BadStore) as error:
        load(store)
    assert str(error.value).startswith(f"{store}: clip '0tr' was extracted as frames [3, 5], "
                                       f"but {wlasl_root / 'nslt_100.json'} gives [2, 9]")

def test_the_full_release_schema_records_signer_ids(tmp_path, data_root):
    clips = basic_clips()
    signers = {vid: 100 + i for i, vid in enumerate(clips)}
    loaded, manifest = load(write_dataset(tmp_path / "w", clips, "release", signers=signers))
    assert dict(zip(loaded.clip_ids, loaded.meta["signer"])) == \
        {vid: str(s) for vid, s in signers.items()}
    assert loaded.vocab == CLASSES
    assert (loaded.meta["fps"] == 25.0).all()
    assert loaded.notes["params"]["wlasl.split_file"] == wlasl.FULL_RELEASE
    assert {s: len(ids) for s, ids in manifest.clip_ids.items()} == \
        {"train": 3, "val": 3, "test": 3}


def test_the_official_split_is_used_as_given_and_val_is_not_re_carved(tmp_path, data_root):
    clips = basic_clips()
    for i in range(5):                                      # more train clips than a carve
        clips[f"extra{i}"] = ("train", i % 3, 1, -1, two_hands(4))
    loaded, manifest = load(write_dataset(tmp_path / "w", clips))
    for split in ("train", "val", "test"):
        assert set(manifest.clip_ids[split]) == {v for v, c in clips.items() if c[0] == split}


def test_vocab_keeps_classes_below_n_and_picks_the_smallest_official_file(tmp_path, data_root):
    root = write_dataset(tmp_path / "w", basic_clips(), vocab=300)
    entries = json.loads((root / "nslt_300.json").read_text())
    (root / "nslt_2.json").write_text(json.dumps(
        {k: v for k, v in entries.items() if v["action"][0] < 2}))
    two, _ = load(root, vocab=2)
    assert two.vocab == CLASSES[:2] and set(two.labels) == {0, 1}
    assert two.notes["params"]["wlasl.split_file"] == "nslt_2.json"
    assert two.notes["params"]["coverage.all"] == "6/6"
    three, _ = load(root, vocab=3)
    assert three.notes["params"]["wlasl.split_file"] == "nslt_300.json"
    named, _ = load(root, vocab=2, split_file="nslt_300.json")
    assert named.notes["params"]["wlasl.split_file"] == "nslt_300.json"
    assert named.clip_ids == two.clip_ids



def test_a_named_split_file_is_the_data_folders_before_the_working_directorys(
        tmp_path, data_root, monkeypatch):
    # a copy of the name where the command ran was read instead, and logged by name alone
    root = write_dataset(tmp_path / "w", basic_clips())
    swapped = {"val": "test", "test": "val", "train": "train"}
    elsewhere = write_dataset(tmp_path / "elsewhere", {
        vid: (swapped[split], label, start, end, None)
        for vid, (split, label, start, end, _) in basic_clips().items()})
    monkeypatch.chdir(elsewhere)
    named, _ = load(root, split_file="nslt_100.json")
    assert named.meta.set_index("clip_id").loc["0va", "split"] == "val"
    given, _ = load(root, split_file=str(elsewhere / "nslt_100.json"))    # a path is a path
    assert given.meta.set_index("clip_id").loc["0va", "split"] == "test"


# --- coverage and missing classes -----------------------------------------------------------
def test_coverage_counts_present_against_official_clips(tmp_path, data_root):
    clips = basic_clips()
    clips.update({"gone1": ("train", 0, 1, -1, None), "gone2": ("test", 1, 1, -1, None),
                  "gone3": ("test", 2, 1, -1, None)})
    loaded, _ = load(write_dataset(tmp_path / "w", clips))
    params = loaded.notes["params"]
    assert (params["coverage.train"], params["coverage.val"], params["coverage.test"],
            params["coverage.all"]) == ("3/4", "3/3", "3/5", "9/12")
    assert "9/12" in loaded.notes["summary"] and "hand slots: side" in loaded.notes["summary"]


def test_classes_without_a_training_clip_are_named_or_dropped_on_request(tmp_path, data_root):
    clips = basic_clips()
    clips["1tr"] = ("train", 1, 1, -1, None)                # 'drink' loses its only train clip
    root = write_dataset(tmp_path / "w", clips)
    with pytest.raises(DatasetNotFound, match=r"1 of the 3 classes .* drink \(1\).*"
                                              r"drop_missing_classes=true"):
        load(root)
    dropped, _ = load(root, drop_missing_classes="true")
    assert dropped.vocab == ("book", "computer")
    assert sorted(set(dropped.meta["gloss"])) == ["book", "computer"]
    assert set(dropped.labels) == {0, 1}
    assert dropped.notes["params"]["wlasl.dropped_classes"] == "1"


def test_classes_missing_from_class_1_on_suggest_no_vocab_of_one_sign(tmp_path, data_root):
    clips = basic_clips()
    clips["1tr"] = ("train", 1, 1, -1, None)
    with pytest.raises(DatasetNotFound) as error:
        load(write_dataset(tmp_path / "w", clips))
    assert "--vocab 1" not in str(error.value)          # which is refused in its turn
    clips = basic_clips()
    clips["2tr"] = ("train", 2, 1, -1, None)
    with pytest.raises(DatasetNotFound, match="--vocab 2 has them all"):
        load(write_dataset(tmp_path / "v", clips))


def test_a_split_file_with_every_clip_missing_names_the_folder(tmp_path, data_root):
    clips = {vid: (*c[:4], None) for vid, c in basic_clips().items()}
    root = write_dataset(tmp_path / "w", clips)
    np.save(root / wlasl.LANDMARKS_DIR / "99999.npy", two_hands(4))   # not in the split
    with pytest.raises(DatasetNotFound, match=str(root / wlasl.LANDMARKS_DIR)):
        load(root)


# --- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize("video_id", ["../secret", "/etc/passwd", "a/b", "a\\b", ".."])
def test_video_ids_that_are_not_plain_names_are_refused(tmp_path, data_root, video_id):
    clips = basic_clips()
    clips[video_id] = ("train", 0, 1, -1, None)
    with pytest.raises(BadAnnotations, match="is not a plain file name"):
        load(write_dataset(tmp_path / "w", clips))


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ('{"00001": {"subset": "train"}}', "expected {\"subset\""),
    ('{"00001": {"subset": "dev", "action": [0, 1, 5]}}', "split 'dev' is not one of"),
    ('{"00001": {"subset": "train", "action": [0, 5, 2]}}', "frame window [5, 2]"),
    ('{"00001": {"subset": "train", "action": [7, 1, 5]}}', "class index 7 is outside"),
    ('"a string"', "neither WLASL schema"),
])
def test_malformed_split_files_are_one_clear_error(tmp_path, data_root, text, message):
    root = write_dataset(tmp_path / "w", basic_clips())
    (root / "nslt_100.json").write_text(text)
    with pytest.raises(BadAnnotations) as error:
        load(root)
    assert message in str(error.value) and str(root / "nslt_100.json") in str(error.value)


@pytest.mark.parametrize("text, message", [
    ('{"00001": {"subset": "train", "action": [0, 1, Infinity]}}', "end is inf, expected"),
    ('{"00001": {"subset": "train", "action": [0, NaN, 5]}}', "start is nan, expected"),
])
def test_json_infinity_or_nan_as_a_frame_is_one_clear_error(tmp_path, data_root, text,
                                                            message):
    # Python's json reads them as floats; int() of one was an OverflowError / ValueError
    root = write_dataset(tmp_path / "w", basic_clips())
    (root / "nslt_100.json").write_text(text)
    with pytest.raises(BadAnnotations, match=message):
        load(root)


@pytest.mark.parametrize("damage, message", [
    (lambda path: path.write_bytes(b"0\tbook\n1\t\xff\n"), "not UTF-8 text"),
    (lambda path: (path.unlink(), path.mkdir()), "a folder, not a file of WLASL's"),
])
def test_a_class_list_that_cannot_be_read_is_named(tmp_path, data_root, damage, message):
    root = write_dataset(tmp_path / "w", basic_clips())
    damage(root / wlasl.CLASS_LIST)
    with pytest.raises((BadAnnotations, DatasetNotFound)) as error:
        load(root)
    assert message in str(error.value) and str(root / wlasl.CLASS_LIST) in str(error.value)


def test_release_entry_error_shows_the_schema_braces_once(tmp_path, data_root):
    root = write_dataset(tmp_path / "w", basic_clips(), schema="release")
    (root / wlasl.FULL_RELEASE).write_text('[{"gloss": "", "instances": []}]')
    with pytest.raises(BadAnnotations) as error:
        load(root)
    assert str(error.value).endswith('is not {"gloss": str, "instances": [...]}')


@pytest.mark.parametrize("value, where", [(50.0, "x = 50"), (np.inf, "contain inf")])
def test_a_landmark_value_out_of_range_names_its_file(tmp_path, data_root, value, where):
    clips = basic_clips()
    array = two_hands(6)
    array[2, 0, 5, 0] = value
    clips["1te"] = ("test", 1, 1, -1, array)
    root = write_dataset(tmp_path / "w", clips)
    with pytest.raises(BadLandmarks) as error:
        load(root)
    assert str(root / wlasl.LANDMARKS_DIR / "1te.npy") in str(error.value)
    assert where in str(error.value)


@pytest.mark.parametrize("vocab", [0, 1, -1])
def test_a_vocab_below_two_is_refused_not_read_as_the_whole_list(tmp_path, data_root, vocab):
    # --vocab 0 was the whole class list and a negative N a slice from its end
    root = write_dataset(tmp_path / "w", basic_clips())
    with pytest.raises(BadConfig, match=f"--vocab {vocab}: a classifier needs at least 2"):
        load(root, vocab, drop_missing_classes=True)


def invoke_run(root: Path, tracking_uri: str, *extra: str):
    return CliRunner().invoke(main, ["run", "--model", "pooled_logreg", "--dataset", "wlasl",
                                     "--vocab", "3", "--data-dir", str(root),
                                     "--tracking-uri", tracking_uri, *extra])


@pytest.mark.parametrize("case", ["malformed", "traversal", "layout"])
def test_bad_input_through_the_cli_is_one_line_exit_2_and_writes_nothing(
        tmp_path, data_root, tracking_uri, case):
    clips = basic_clips()
    if case == "traversal":
        clips["../../etc/x"] = ("train", 0, 1, -1, None)
    root = write_dataset(tmp_path / "w", clips)
    if case == "malformed":
        (root / "nslt_100.json").write_text('{"00001": {"subset": "train", "action": [0, 1]}}')
    if case == "layout":
        np.save(root / wlasl.LANDMARKS_DIR / "1va.npy", np.zeros((6, 21, 3)))
    result = invoke_run(root, tracking_uri)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output
    expected = {"malformed": "expected [class, start, end]",
                "traversal": "is not a plain file name",
                "layout": "1va.npy: landmarks of shape (6, 21, 3)"}[case]
    assert expected in lines[0]
    cache = data_root / "cache"
    assert not cache.exists() or not any(cache.iterdir())      # no half-built store
    assert not Path(tracking_uri.removeprefix("sqlite:///")).exists()   # no run was started


def test_a_cached_store_is_rebuilt_when_a_landmark_file_changes(tmp_path, data_root):
    clips = basic_clips()
    root = write_dataset(tmp_path / "w", clips)
    first, _ = load(root)
    assert clip_by_id(first, "0te").shape[0] == 6
    np.save(root / wlasl.LANDMARKS_DIR / "0te.npy", two_hands(9))
    second, _ = load(root)
    assert clip_by_id(second, "0te").shape[0] == 9


# --- extraction from videos --------------------------------------------------------------------
def test_plan_extraction_indexes_the_videos_present_with_their_windows(tmp_path):
    root = tmp_path / "WLASL"
    clips = {vid: (*c[:4], None) for vid, c in basic_clips().items()}
    clips["0tr"] = ("train", 0, 5, 40, None)
    write_dataset(root, clips, "release", signers={"0tr": 42})
    videos = root / "videos"
    videos.mkdir()
    for vid in ("0tr", "1va", "2te"):
        (videos / f"{vid}.mp4").write_bytes(b"")           # only listed, never decoded here
    (videos / "notes.txt").write_text("not a video")
    plan = wlasl.plan_extraction(videos, ExtractionRequest())
    index = plan.index.set_index("clip_id")
    assert sorted(index.index) == ["0tr", "1va", "2te"] and plan.dataset == "wlasl"
    assert plan.vocab == list(CLASSES)
    assert index.loc["0tr", ["file", "gloss", "split", "signer", "start_frame", "end_frame"]
                     ].tolist() == ["0tr.mp4", "book", "train", "42", 5, 40]
    assert index.loc["2te", "end_frame"] == -1
    assert "6 of the 9 videos" in plan.note
    elsewhere = tmp_path / "annotations"
    elsewhere.mkdir()
    os.replace(root / wlasl.FULL_RELEASE, elsewhere / wlasl.FULL_RELEASE)
    with pytest.raises(DatasetNotFound, match="no WLASL split file"):
        wlasl.plan_extraction(videos, ExtractionRequest())
    planned = wlasl.plan_extraction(videos, ExtractionRequest(annotations=elsewhere))
    assert len(planned.index) == 3


@pytest.mark.slow
def test_extract_wlasl_videos_then_run_on_the_store(shared, tmp_path, data_root):
    """Real MediaPipe on real clips (asl8 videos, linked under WLASL video ids): extraction
    cuts each annotated window once, and the adapter does not cut it again."""
    root = tmp_path / "WLASL"
    videos = root / "videos"
    videos.mkdir(parents=True)
    sources = {"00001": "No/No01.mp4", "00002": "GoodBye/goodbye06.mp4",
               "00003": "ILoveYou/ILoveYou02.mp4", "00004": "No/No02.mp4",
               "00005": "No/No09.mp4"}
    for vid, source in sources.items():
        # copies, not links: an index may not point outside its folder (issue 14)
        shutil.copy(shared / "asl8-videos" / "clips" / source, videos / f"{vid}.mp4")
    clips = {"00001": ("train", 0, 3, 8, None), "00002": ("train", 1, 1, -1, None),
             "00003": ("train", 2, 5, 40, None), "00004": ("val", 0, 1, 4, None),
             "00005": ("test", 1, 2, 7, None), "00006": ("test", 2, 1, -1, None)}
    write_dataset(root, clips)
    store = tmp_path / "stores" / "wlasl"
    result = CliRunner().invoke(main, ["data", "extract", "--dataset", "wlasl", "--videos",
                                       str(videos), "--out", str(store), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "1 of the 6 videos listed in nslt_100.json are not in" in result.output
    # windows: 3..8 of 34 frames, all 16, 5..18 (the file ends at 18), 1..4, 2..7
    expected = {"00001": 6, "00002": 16, "00003": 14, "00004": 4, "00005": 6}
    loaded, manifest = load(store)
    assert dict(zip(loaded.clip_ids, loaded.meta["n_frames"])) == expected
    assert [len(loaded.clip(i)) for i in range(len(loaded))] == \
        [expected[v] for v in loaded.clip_ids]
    assert loaded.notes["params"]["coverage.all"] == "5/6"
    assert loaded.notes["params"]["wlasl.hand_slots"] == wlasl.HOLISTIC_SOURCE
    assert manifest.clip_ids["val"] == ("00004",)
    assert all(np.isfinite(loaded.clip(i)[:, POSE]).any() for i in range(len(loaded)))


# --- the shipped WLASL300 hand landmarks ------------------------------------------------------
def shipped_counts(shared: Path, vocab: int) -> dict[str, str]:
    """Present / official clips per split, straight from the shipped files."""
    entries = json.loads((shared / "wlasl-hands" / f"nslt_{vocab}.json").read_text())
    files = {p.stem for p in (shared / "wlasl-hands" / "landmarks").glob("*.npy")}
    counts = {}
    for split in ("train", "val", "test", "all"):
        ids = [v for v, e in entries.items() if split in ("all", e["subset"])]
        counts[f"coverage.{split}"] = f"{sum(v in files for v in ids)}/{len(ids)}"
    return counts


@pytest.mark.parametrize("vocab", [100, 300])
def test_coverage_of_the_shipped_files(shared, vocab):
    clips, manifest = load_clipset("wlasl", make_request(vocab=vocab))
    expected = shipped_counts(shared, vocab)
    assert {k: v for k, v in clips.notes["params"].items() if k.startswith("coverage.")} \
        == expected
    assert sum(manifest.counts().values()) == int(expected["coverage.all"].split("/")[0])
    assert clips.num_classes == vocab


@pytest.mark.slow
def test_every_shipped_clip_is_read_with_no_loss_against_its_file(shared):
    clips, _ = load_clipset("wlasl", make_request(vocab=300))
    entries = json.loads((shared / "wlasl-hands" / "nslt_300.json").read_text())
    files = sorted((shared / "wlasl-hands" / "landmarks").glob("*.npy"))
    assert len(clips) == len(files)
    position = {vid: i for i, vid in enumerate(clips.clip_ids)}
    for path in files:
        _, start, end = entries[path.stem]["action"]
        raw = np.load(path)[start - 1:None if end == -1 else end]
        clip = clips.clip(position[path.stem])
        assert len(clip) == len(raw)
        seen = wlasl.hand_seen(raw)
        both = np.stack([clip[:, LEFT_HAND], clip[:, RIGHT_HAND]], axis=1)
        assert np.array_equal(np.isfinite(both).all(axis=(2, 3)).sum(1), seen.sum(1))
        # the same hands, whichever slot the rule chose: sums over the seen hands agree
        expected = np.where(seen[..., None, None], raw, 0.0).sum(axis=1)
        assert np.allclose(np.nan_to_num(both).sum(axis=1), expected, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("vocab, floor", [(100, 0.2), (300, 0.15)])
def test_runs_on_the_shipped_data_beat_chance_by_far(shared, tracking_uri, vocab, floor):
    result = CliRunner().invoke(main, ["run", "--model", "pooled_logreg", "--dataset", "wlasl",
                                       "--vocab", str(vocab), "--tracking-uri", tracking_uri])
    assert result.exit_code == 0, result.output
    expected = shipped_counts(shared, vocab)
    assert f"landmarks for {expected['coverage.all']} official clips" in result.output
    top1 = float(result.output.split("test top-1 ")[1].split()[0])
    assert top1 >= floor > 10 / vocab          # chance is 1 / vocab
    import mlflow
    mlflow.set_tracking_uri(tracking_uri)
    run = mlflow.search_runs(experiment_names=[f"wlasl-{vocab}"], output_format="list")[0]
    params = run.data.params
    assert {k: params[k] for k in expected} == expected
    assert params["wlasl.hand_slots"] == wlasl.RULES["side"]
    # the shipped landmarks are hands only, and the protocol says so wherever it is shown
    assert params["split_protocol"] == wlasl.PROTOCOL + "; hands only (no pose or face)"
    assert "not guaranteed signer-independent" in params["split_protocol"]


def test_run_with_vocab_1000_and_no_dataset_means_ms_asl(tmp_path, monkeypatch, tracking_uri):
    monkeypatch.setenv("SLRBENCH_DATA_ROOT", str(tmp_path / "empty"))   # no MS-ASL store
    result = CliRunner().invoke(main, ["run", "--model", "keyframe_mlp", "--vocab", "1000",
                                       "--tracking-uri", tracking_uri])
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and "MS-ASL" in line and "asl-signs" not in line
    assert "slrbench data fetch --dataset msasl --vocab 1000" in line
    assert "slrbench data extract --dataset msasl" in line
    assert "--dataset wlasl --vocab 100" in line


def test_a_split_file_without_val_clips_says_its_val_was_carved_from_train(tmp_path, data_root):
    # the protocol read "official WLASL split (train / val / test as given)" all the same
    clips = {f"{label}tr{i}": ("train", label, 1, -1, two_hands(6))
             for label in range(len(CLASSES)) for i in range(4)}
    clips.update({f"{label}te": ("test", label, 1, -1, two_hands(6))
                  for label in range(len(CLASSES))})
    loaded, manifest = load(write_dataset(tmp_path / "w", clips))
    assert (loaded.meta["split"] == "val").any()
    assert manifest.protocol.endswith("; val carved from train (split seed 0)"), manifest.protocol


def test_predict_places_a_hands_files_hands_by_the_rule_its_run_trained_with(shared, tmp_path,
                                                                            tracking_uri):
    # predict placed them by `side` whatever the run's rule: under `track` the lone hand of
    # 17713 (a WLASL100 test clip of "drink") sits in the other slot in 37 of its 91 frames
    from harness.run.predict import predict_files
    hands_file = shared / "wlasl-hands" / "landmarks" / "17713.npy"
    read_by = {rule: tmp_path / f"{rule}.npy" for rule in wlasl.RULES}
    for rule, path in read_by.items():           # Holistic [T, 543, 3]: read as it is
        np.save(path, wlasl.read_clip(hands_file, rule)[0])
    # a run that records no rule (no --data-option) read its files by the default, `side`
    for rule, options in (("track", ["--data-option", "hand_slots=track"]), ("side", [])):
        result = CliRunner().invoke(main, ["run", "--model", "pooled_logreg", "--dataset",
                                           "wlasl", "--vocab", "3", *options,
                                           "--tracking-uri", tracking_uri])
        assert result.exit_code == 0, result.output
        run_id = re.search(r"^run ([0-9a-f]{32}) ", result.output, re.MULTILINE).group(1)
        ranked = dict(predict_files(run_id, [hands_file, *read_by.values()], tracking_uri))
        other = next(r for r in wlasl.RULES if r != rule)
        assert ranked[hands_file] == ranked[read_by[rule]] != ranked[read_by[other]], rule
