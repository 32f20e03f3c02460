"""The one index reader (harness.data.index): what `data extract`, `landmarks` and `videos` read.

Real asl-signs landmark files and asl8 clips stand in a temporary folder beside index
files written here.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.adapters import landmarks as landmarks_adapter
from harness.adapters import videos as videos_adapter
from harness.data.index import find_index, normalise_index, read_index, windows
from harness.errors import BadAnnotations, DatasetNotFound
from harness.extract.pipeline import plan_extraction
from harness.extract.video_io import frame_files, iter_frames
from harness.specs import DatasetRequest, ExtractionRequest

ASL_SIGNS = "asl-signs-sample"


@pytest.fixture
def landmark_folder(shared, tmp_path) -> Path:
    """Six real asl-signs clips of two signs, as files under one folder."""
    listed = pd.read_csv(shared / ASL_SIGNS / "train.csv")
    folder = tmp_path / "mine"
    rows = []
    for sign, group in listed.groupby("sign"):
        for _, row in group.head(3).iterrows():
            target = folder / sign / Path(row["path"]).name
            target.parent.mkdir(parents=True, exist_ok=True)
            # copies, not links: an index may not point outside its folder (issue 14)
            shutil.copy(shared / ASL_SIGNS / row["path"], target)
            rows.append({"file": f"{sign}/{target.name}", "gloss": sign.upper(),
                         "signer": str(row["participant_id"])})
    pd.DataFrame(rows).to_csv(folder / "index.csv", index=False)
    return folder


def test_index_csv_wins_over_labels_csv_for_extract_landmarks_and_videos(landmark_folder,
                                                                          tmp_path):
    index = pd.read_csv(landmark_folder / "index.csv")
    other = index.head(2).assign(gloss="OTHER", clip_id=["x", "y"])
    other.to_csv(landmark_folder / "labels.csv", index=False)
    assert find_index(landmark_folder).name == "index.csv"

    planned = plan_extraction(landmark_folder).index                 # `data extract`
    clips = landmarks_adapter.load(DatasetRequest(data_dir=landmark_folder,
                                                  cache_dir=tmp_path / "cache"))
    videos_meta, _ = videos_adapter.clip_table(landmark_folder)      # `videos` dataset
    expected = [f.removesuffix(".parquet") for f in index["file"]]
    assert planned["clip_id"].tolist() == expected
    assert sorted(clips.meta["clip_id"]) == sorted(expected)
    assert videos_meta["clip_id"].tolist() == expected
    assert set(clips.vocab) == set(planned["gloss"]) == {"HELLO", "THANKYOU"}

    (landmark_folder / "index.csv").unlink()                          # labels.csv alone
    assert plan_extraction(landmark_folder).index["clip_id"].tolist() == ["x", "y"]


def test_index_problems_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(BadAnnotations, match="no index.csv or labels.csv here; write one"):
        read_index(tmp_path)
    with pytest.raises(DatasetNotFound, match="no index.csv or labels.csv here; and it is no "
                                              "landmark store either; give --data-dir"):
        landmarks_adapter.load(DatasetRequest(data_dir=tmp_path))
    with pytest.raises(DatasetNotFound, match="no index.csv or labels.csv here; write one"):
        videos_adapter.clip_table(tmp_path)
    with pytest.raises(BadAnnotations, match="elsewhere.csv: no such index file; give --index"):
        read_index(tmp_path, tmp_path / "elsewhere.csv")
    index = tmp_path / "index.csv"
    cases = [
        ("path,sign\na.mp4,HELLO\n", r"index.csv: missing columns \['file', 'gloss'\]"),
        ("file,gloss\na.mp4,HELLO\nb.mp4,\n", "index.csv: row 3 has an empty 'gloss'"),
        ("file,gloss,clip_id\na.mp4,HELLO,x\nb.mp4,NO,x\n", "duplicate clip ids"),
        ("file,gloss,fps\na.mp4,HELLO,fast\n", "row 2 has fps 'fast', not a number"),
        ("file,gloss,start_frame,end_frame\na.mp4,HELLO,5,3\n", "end_frame before start_frame"),
        ("file,gloss,start_frame\na.mp4,HELLO,0\n", "start_frame below 1"),
        ("file,gloss,end_frame\na.mp4,HELLO,2.5\n", "not a whole frame number"),
        ("\xff\xfe", "not a readable CSV"),
        # pandas took the first cell of rows longer than the header as their index: every
        # cell shifted, so the gloss was read as the file
        ("file,gloss\na.mp4,HELLO,S1\n", "row 2 has 3 cells but the header only 2"),
        ("file,gloss\na.mp4,HELLO\nb.mp4,NO,x,y\n", "row 3 has 4 cells but the header only 2"),
        # one recording under two clip ids: it could be trained on and tested on
        ("file,gloss,clip_id\na.mp4,HELLO,x\nb.mp4,NO,y\na.mp4,NO,z\n",
         r"rows 2 and 4 list the same clip \(a.mp4\); list each recording once"),
        # refused here, before an extraction is paid for, not by the run after it
        ("file,gloss,split\na.mp4,HELLO,train\nb.mp4,NO,\n",
         "row 3 has no split while other rows have one"),
    ]
    for text, message in cases:
        index.write_bytes(text.encode("latin-1"))
        with pytest.raises(BadAnnotations, match=message):
            read_index(tmp_path)


@pytest.mark.parametrize("fps, shown", [("0", "0"), ("-25", "-25"), ("inf", "inf"),
                                        ("-inf", "-inf"), ("1e400", "inf")])
def test_an_fps_that_is_no_frame_rate_is_refused_naming_the_row_and_value(tmp_path, fps,
                                                                           shown):
    # accepted without a word: keyframe_mlp then put its default rate in the clip's place
    index = tmp_path / "index.csv"
    index.write_text(f"file,gloss,fps\na.npy,HELLO,30\nb.npy,NO,{fps}\nc.npy,NO,\n")
    message = re.escape(f"{index}: row 3 has fps {shown}, not a frame rate")
    with pytest.raises(BadAnnotations, match=message):
        read_index(tmp_path)
    with pytest.raises(BadAnnotations, match=message):       # before any file is read
        landmarks_adapter.load(DatasetRequest(data_dir=tmp_path, cache_dir=tmp_path / "c"))
    index.write_text("file,gloss,fps\na.npy,HELLO,30\nb.npy,NO,29.97\nc.npy,NO,\n")
    assert read_index(tmp_path)["fps"].tolist()[:2] == [30.0, 29.97]  # empty: not given


def with_msasl_times(folder: Path, shared: Path) -> pd.DataFrame:
    """``folder``'s index given real MS-ASL trims (seconds, as `data fetch` writes them; a
    0.0 start among them), written back and returned."""
    index = pd.read_csv(folder / "index.csv", dtype=str)
    records = json.loads((shared / "msasl" / "MSASL_val.json").read_text())[:len(index)]
    assert any(r["start_time"] == 0 for r in records)
    index["start_time"] = [str(r["start_time"]) for r in records]
    index["end_time"] = [str(r["end_time"]) for r in records]
    index.to_csv(folder / "index.csv", index=False)
    return index


@pytest.mark.parametrize("column", ["start_time", "end_time"])
@pytest.mark.parametrize("time, shown", [("-0.5", "-0.5"), ("inf", "inf"), ("-inf", "-inf"),
                                         ("1e400", "inf")])
def test_a_time_below_0_or_infinite_is_refused_naming_the_row_and_value(
        landmark_folder, shared, tmp_path, column, time, shown):
    # accepted without a word: `data extract` kept it in the store as the clip's trim
    index = with_msasl_times(landmark_folder, shared)
    assert (read_index(landmark_folder)["start_time"] == index["start_time"].astype(float)).all()
    index.loc[1, column] = time
    index.to_csv(landmark_folder / "index.csv", index=False)
    message = re.escape(f"{landmark_folder / 'index.csv'}: row 3 has {column} {shown}, "
                        "not a time in the video")
    with pytest.raises(BadAnnotations, match=message):
        read_index(landmark_folder)
    with pytest.raises(BadAnnotations, match=message):
        plan_extraction(landmark_folder)                              # `data extract`
    with pytest.raises(BadAnnotations, match=message):                # before a file is read
        landmarks_adapter.load(DatasetRequest(data_dir=landmark_folder,
                                              cache_dir=tmp_path / "cache"))


def test_times_given_for_some_clips_only_are_read(landmark_folder, shared, tmp_path):
    # an empty time (not given) stayed NaN as text and failed the repeated-clip check with
    # a TypeError traceback
    index = with_msasl_times(landmark_folder, shared)
    index.loc[2, ["start_time", "end_time"]] = ""
    index.to_csv(landmark_folder / "index.csv", index=False)
    read = read_index(landmark_folder)
    assert read["end_time"].isna().tolist() == [i == 2 for i in range(len(index))]
    assert len(plan_extraction(landmark_folder).index) == len(index)
    assert len(landmarks_adapter.load(DatasetRequest(data_dir=landmark_folder,
                                                     cache_dir=tmp_path / "cache"))) == len(index)


def test_trailing_commas_and_windows_of_one_video_are_read(tmp_path):
    (tmp_path / "index.csv").write_text("file,gloss,clip_id,start_frame,end_frame\n"
                                        "a.mp4,HELLO,a1,1,10,,\na.mp4,NO,a2,11,-1,\n")
    index = read_index(tmp_path)
    assert index[["file", "gloss"]].values.tolist() == [["a.mp4", "HELLO"], ["a.mp4", "NO"]]
    assert windows(index) == [(0, 10), (10, None)]


def test_a_normalised_index_reads_back_the_same(tmp_path):
    raw = pd.DataFrame({"file": ["a/one.mp4", str(tmp_path / "elsewhere/two.MP4"), "frames"],
                        "gloss": ["A", "B", "A"], "split": ["Train", "dev", "TEST"],
                        "signer": ["s1", "", "s2"], "fps": ["25", "", "30.0"],
                        "start_frame": ["3", "", "1"], "end_frame": ["7", "-1", ""]})
    once = normalise_index(raw, tmp_path, "raw rows")
    assert once["clip_id"].tolist() == ["a/one", "elsewhere/two", "frames"]
    assert once["path"].tolist() == [str(tmp_path / "a/one.mp4"),
                                     str(tmp_path / "elsewhere/two.MP4"),
                                     str(tmp_path / "frames")]
    assert once["split"].tolist() == ["train", "val", "test"]
    assert once["signer"].tolist() == ["s1", "unknown", "s2"]
    assert once["fps"].iloc[0] == 25.0 and np.isnan(once["fps"].iloc[1])
    assert once["start_frame"].tolist() == [3, 1, 1] and once["end_frame"].tolist() == [7, -1, -1]
    assert windows(once) == [(2, 7), (0, None), (0, None)]           # 1-based inclusive
    pd.testing.assert_frame_equal(normalise_index(once, tmp_path, "again"), once)
    assert windows(once.drop(columns=["start_frame", "end_frame"])) == [(0, None)] * 3


def test_frame_windows_read_only_their_frames(shared, tmp_path):
    video = shared / "asl8-videos" / "clips" / "No" / "No03.mp4"        # 9 frames
    every = list(iter_frames(video))
    window = list(iter_frames(video, 2, 5))
    assert len(every) == 9 and len(window) == 3
    for a, b in zip(window, every[2:5]):
        np.testing.assert_array_equal(a, b)
    assert len(list(iter_frames(video, 6, None))) == 3
    assert len(list(iter_frames(video, 7, 40))) == 2                  # a short file keeps what it has
    with pytest.raises(Exception, match="no decodable frames in the frame window 12..end"):
        list(iter_frames(video, 11, None))

    import cv2
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(every):
        cv2.imwrite(str(folder / f"{i:04d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    assert len(frame_files(folder)) == 9
    from_folder = list(iter_frames(folder, 2, 5))
    for a, b in zip(from_folder, every[2:5]):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(Exception, match="no frames in the frame window 10..12"):
        list(iter_frames(folder, 9, 12))


def test_landmarks_adapter_cuts_files_to_their_window(landmark_folder, tmp_path):
    index = pd.read_csv(landmark_folder / "index.csv")
    whole = landmarks_adapter.load(DatasetRequest(data_dir=landmark_folder,
                                                  cache_dir=tmp_path / "whole"))
    index.assign(start_frame=2, end_frame=4).to_csv(landmark_folder / "index.csv", index=False)
    cut = landmarks_adapter.load(DatasetRequest(data_dir=landmark_folder,
                                                cache_dir=tmp_path / "cut"))
    for clip_id in cut.meta["clip_id"]:
        i = whole.meta["clip_id"].tolist().index(clip_id)
        j = cut.meta["clip_id"].tolist().index(clip_id)
        np.testing.assert_array_equal(cut.clip(j), whole.clip(i)[1:4])
    assert (cut.meta["start_frame"] == 2).all() and (cut.meta["end_frame"] == 4).all()


def test_msasl_plan_reads_the_index_and_checks_its_labels(shared, tmp_path):
    from harness.adapters import msasl
    (tmp_path / "index.csv").write_text("file,gloss,label\na.mp4,hello,0\nb.mp4,nice,5\n")
    with pytest.raises(BadAnnotations, match="'b' has label '5' and gloss 'nice'"):
        msasl.plan_extraction(tmp_path, ExtractionRequest(annotations=shared / "msasl"))
    (tmp_path / "index.csv").write_text("file,gloss,label\na.mp4,hello,0\nb.mp4,nice,1\n")
    plan = msasl.plan_extraction(tmp_path, ExtractionRequest(annotations=shared / "msasl"))
    assert plan.dataset == "msasl" and plan.vocab[:2] == ["hello", "nice"]
    assert plan.index["clip_id"].tolist() == ["a", "b"]


def test_video_clips_cut_from_one_video_share_its_cache_entry(shared, tmp_path):
    import pickle

    from harness.extract.video_cache import CachedVideos, VideoCache
    video = shared / "asl8-videos" / "clips" / "No" / "No03.mp4"        # 9 frames
    videos = CachedVideos([video, video], VideoCache(tmp_path / "cache"), [(0, None), (2, 5)])
    videos.prepare()
    assert [videos.n_frames(0), videos.n_frames(1)] == [9, 3]
    np.testing.assert_array_equal(videos.video(1), videos.video(0)[2:5])
    again = pickle.loads(pickle.dumps(videos))                       # a data-loader worker
    assert again.n_frames(1) == 3 and again.video(1).shape == videos.video(1).shape
