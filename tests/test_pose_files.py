""".pose files (pose-format) in and out: numbers read back exactly, bad files refused in one
line, the CLI's predict/run reading them as a user would."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from pose_format import Pose
from pose_format.numpy import NumPyPoseBody
from pose_format.pose_header import PoseHeader, PoseHeaderDimensions

from harness.cli import main
from harness.data import pose_files
from harness.data.landmark_files import read_landmark_file
from harness.errors import BadLandmarks

HOLISTIC = ["POSE_LANDMARKS", "FACE_LANDMARKS", "LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def parquet_clips(shared: Path, count: int) -> list[Path]:
    files = sorted((shared / "asl-signs-sample" / "train_landmark_files").rglob("*.parquet"))
    return files[:count]


def write_pose_object(pose, path: Path) -> Path:
    with open(path, "wb") as handle:
        pose.write(handle)
    return path


@pytest.mark.slow
def test_a_file_written_by_pose_format_itself_reads_back_to_its_numbers(shared, tmp_path):
    """pose-format's own MediaPipe pipeline (refined face: 478 points, world landmarks)
    on a real video; slrbench must give exactly pose-format's numbers, normalised."""
    from mediapipe.python.solutions.hands import HandLandmark
    from mediapipe.python.solutions.pose import PoseLandmark
    from pose_format.utils.holistic import load_holistic

    from harness.extract.video_io import iter_frames, probe
    video = shared / "asl8-videos" / "clips" / "GoodBye" / "goodbye01.mp4"
    info = probe(video)
    pose = load_holistic(list(iter_frames(video)), fps=info.fps, width=info.width,
                         height=info.height,
                         additional_holistic_config={"refine_face_landmarks": True})
    assert [len(c.points) for c in pose.header.components][:2] == [33, 478]
    # pose-format names the pose and hand points after MediaPipe's enums, as we do
    assert pose_files.BODY_POINTS == tuple(PoseLandmark._member_names_)
    assert pose_files.HAND_POINTS == tuple(HandLandmark._member_names_)
    path = write_pose_object(pose, tmp_path / "goodbye01.pose")

    ours = read_landmark_file(path)

    # the expectation through pose-format's own API: the four components, face without irises
    reread = Pose.read(path.read_bytes())
    kept = reread.get_components(HOLISTIC, {"FACE_LANDMARKS": [str(i) for i in range(468)]})
    data = np.asarray(kept.body.data.data[:, 0], dtype=np.float32)
    expected = data / np.asarray([info.width, info.height, 1], dtype=np.float32)
    expected[np.asarray(kept.body.confidence[:, 0]) == 0] = np.nan
    assert ours.shape == (info.n_frames, 543, 3) == expected.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))
    np.testing.assert_allclose(ours, expected, rtol=1e-6, equal_nan=True)
    assert not np.isnan(ours[:, 501:543]).all()


def test_round_trip_through_slrbench_and_pose_format(shared, tmp_path):
    """A real asl-signs clip -> slrbench's .pose -> pose-format's reader and visualiser ->
    slrbench's reader: the same landmarks, NaN where they were NaN."""
    from pose_format.pose_visualizer import PoseVisualizer
    clip = read_landmark_file(parquet_clips(shared, 1)[0])
    path = pose_files.write_pose(tmp_path / "clip.pose", clip, fps=30.0, width=640, height=480)

    pose = Pose.read(path.read_bytes())
    assert [c.name for c in pose.header.components] == HOLISTIC
    assert [len(c.points) for c in pose.header.components] == [33, 468, 21, 21]
    assert (pose.header.dimensions.width, pose.header.dimensions.height) == (640, 480)
    assert pose.body.fps == 30.0 and pose.body.data.shape == (len(clip), 1, 543, 3)
    present = ~np.isnan(clip).any(axis=-1)
    np.testing.assert_array_equal(pose.body.confidence[:, 0] > 0, present)
    np.testing.assert_allclose(pose.body.data.data[:, 0][present],
                               (clip * [640, 480, 1])[present], rtol=1e-6)

    frames = list(PoseVisualizer(pose).draw(max_frames=2))
    assert len(frames) == 2 and frames[0].shape == (480, 640, 3)
    assert (frames[0] != 255).any(), "the visualiser drew nothing"

    back, fps = pose_files.read_pose(path)
    assert fps == 30.0
    np.testing.assert_array_equal(np.isnan(back), np.isnan(clip))
    np.testing.assert_allclose(back, clip, rtol=1e-6, atol=1e-7, equal_nan=True)


def openpose_file(path: Path) -> Path:
    from pose_format.utils.openpose import OpenPose_Components
    header = PoseHeader(0.2, PoseHeaderDimensions(640, 480, 0), OpenPose_Components)
    points = header.total_points()
    body = NumPyPoseBody(fps=25, data=np.ones((3, 1, points, 2), dtype=np.float32),
                         confidence=np.ones((3, 1, points), dtype=np.float32))
    return write_pose_object(Pose(header, body), path)


def test_an_openpose_file_is_refused_naming_what_it_holds(tmp_path):
    path = openpose_file(tmp_path / "openpose.pose")
    with pytest.raises(BadLandmarks) as error:
        read_landmark_file(path)
    message = str(error.value)
    assert str(path) in message and "openpose" in message and "pose_keypoints_2d" in message
    assert "POSE_LANDMARKS" in message and "\n" not in message


def clip_pose(shared, tmp_path, name="clip.pose") -> tuple[np.ndarray, Path]:
    clip = read_landmark_file(parquet_clips(shared, 1)[0])
    return clip, pose_files.write_pose(tmp_path / name, clip, 30.0, 640, 480)


def test_truncated_and_handless_files_are_refused_in_one_line(shared, tmp_path):
    clip, path = clip_pose(shared, tmp_path)
    data = path.read_bytes()
    for cut in (len(data) // 2, 40, len(data) - 1):
        truncated = tmp_path / f"truncated{cut}.pose"
        truncated.write_bytes(data[:cut])
        with pytest.raises(BadLandmarks, match="truncated") as error:
            read_landmark_file(truncated)
        assert str(truncated) in str(error.value)

    # no hand components at all
    pose = Pose.read(data)
    no_hands = pose.get_components(["POSE_LANDMARKS", "FACE_LANDMARKS"])
    with pytest.raises(BadLandmarks, match="holds no hands.*POSE_LANDMARKS, FACE_LANDMARKS"):
        read_landmark_file(write_pose_object(no_hands, tmp_path / "no_hands.pose"))

    # hand components that detected nothing in any frame
    blank = clip.copy()
    blank[:, 501:543] = np.nan
    with pytest.raises(BadLandmarks, match="no hand was detected in any of its"):
        read_landmark_file(pose_files.write_pose(tmp_path / "blank.pose", blank, 30, 640, 480))


def test_a_subset_of_points_and_a_2d_file_land_in_their_slots(shared, tmp_path):
    clip, path = clip_pose(shared, tmp_path)
    pose = Pose.read(path.read_bytes())
    # pose-format's reduce-style subsets: face contours only, named by their mesh index
    contour = ["0", "17", "61", "291"]
    reduced = pose.get_components(HOLISTIC, {"FACE_LANDMARKS": contour})
    back = read_landmark_file(write_pose_object(reduced, tmp_path / "reduced.pose"))
    kept = [33 + int(i) for i in contour]
    np.testing.assert_allclose(back[:, kept], clip[:, kept], rtol=1e-6, equal_nan=True)
    others = np.setdiff1d(np.arange(33, 501), kept)
    assert np.isnan(back[:, others]).all()
    np.testing.assert_allclose(back[:, 501:], clip[:, 501:], rtol=1e-6, equal_nan=True)


@pytest.mark.slow
def test_predict_and_the_landmarks_dataset_read_pose_files(shared, tmp_path, tracking_uri):
    """Through the CLI: a folder of .pose files with index.csv is a dataset; predict on a
    .pose gives what it gives on the parquet it was made from."""
    folder = tmp_path / "poses"
    rows = []
    train = pd.read_csv(shared / "asl-signs-sample" / "train.csv")
    for row in train.itertuples():
        clip = read_landmark_file(shared / "asl-signs-sample" / row.path)
        name = f"{row.sequence_id}.pose"
        pose_files.write_pose(folder / name, clip, 30.0, 640, 480)
        rows.append({"file": name, "gloss": row.sign, "signer": row.participant_id})
    pd.DataFrame(rows).to_csv(folder / "index.csv", index=False)

    result = invoke("run", "--model", "pooled_logreg", "--dataset", "landmarks", "--data-dir",
                    folder, "--tracking-uri", tracking_uri)
    assert result.exit_code == 0, result.output
    run_id = result.output.split("run ")[1].split()[0]
    parquet = shared / "asl-signs-sample" / train.iloc[0]["path"]
    pose = folder / f"{train.iloc[0]['sequence_id']}.pose"
    from_parquet = invoke("predict", "--run", run_id, "--tracking-uri", tracking_uri, parquet)
    from_pose = invoke("predict", "--run", run_id, "--tracking-uri", tracking_uri, pose)
    assert from_pose.exit_code == 0, from_pose.output
    assert from_pose.output.splitlines()[1:] == from_parquet.output.splitlines()[1:]

    truncated = tmp_path / "truncated.pose"
    truncated.write_bytes(pose.read_bytes()[:5000])
    refused = CliRunner().invoke(main, ["predict", "--run", run_id, "--tracking-uri",
                                        tracking_uri, str(truncated)])
    assert refused.exit_code == 2
    assert refused.output.count("\n") == 1 and str(truncated) in refused.output
    assert "truncated" in refused.output


def test_store_poses_with_an_index_are_a_landmarks_dataset(shared, tmp_path):
    from harness.data.store import write_store
    files = parquet_clips(shared, 3)
    clips = [read_landmark_file(f) for f in files]
    rows = [({"clip_id": f"signer/{f.stem}", "gloss": "hello", "label": 0, "split": "train",
              "signer": "s", "fps": 25.0, "n_frames": 0, "source": str(f)}, c)
            for f, c in zip(files, clips)]
    store = write_store(tmp_path / "store", rows, ["hello"], "demo")
    folder = pose_files.write_store_poses(store, pose_files.pose_folder(store.path),
                                          lambda row: (1280, 720))
    index = pd.read_csv(folder / "index.csv")
    assert index["file"].tolist() == [f"signer/{f.stem}.pose" for f in files]
    for name, clip in zip(index["file"], clips):
        back, fps = pose_files.read_pose(folder / name)
        assert fps == 25.0
        np.testing.assert_allclose(back, clip, rtol=1e-6, atol=1e-7, equal_nan=True)


def test_store_poses_keep_clips_apart_and_drop_the_ones_gone(shared, tmp_path):
    from harness.data.store import write_store
    files = parquet_clips(shared, 3)
    clips = [read_landmark_file(f) for f in files]
    ids = ["../x", "__x", "kept"]        # the first two flatten to one name
    rows = [({"clip_id": cid, "gloss": "hello", "label": 0, "split": "train", "signer": "s",
              "fps": 25.0, "n_frames": 0, "source": str(f)}, c)
            for cid, f, c in zip(ids, files, clips)]
    folder = pose_files.pose_folder(tmp_path / "store")
    store = write_store(tmp_path / "store", rows, ["hello"], "demo")
    pose_files.write_store_poses(store, folder, lambda row: (1280, 720))
    index = pd.read_csv(folder / "index.csv")
    assert index["file"].is_unique             # one clip's file overwrote the other's
    for name, clip in zip(index["file"], clips):
        np.testing.assert_allclose(pose_files.read_pose(folder / name)[0], clip, rtol=1e-6,
                                   atol=1e-7, equal_nan=True)
    store = write_store(tmp_path / "store", rows[2:], ["hello"], "demo")
    pose_files.write_store_poses(store, folder, lambda row: (1280, 720))
    # the clips the store no longer holds leave no .pose file behind
    assert sorted(p.name for p in folder.rglob("*.pose")) == ["kept.pose"]


@pytest.mark.slow
def test_extract_format_pose_writes_files_pose_format_reads(shared, tmp_path):
    """`data extract --format pose` on real asl8 clips: one .pose per clip beside the store,
    in the video's pixel frame, readable by pose-format's reader and visualiser, and the
    store records the MediaPipe version that extracted it."""
    from importlib import metadata

    from pose_format.pose_visualizer import PoseVisualizer

    from harness.data.store import LandmarkStore
    labels = pd.read_csv(shared / "asl8-videos" / "labels.csv")
    chosen = labels.groupby("gloss").head(1).head(3)[["file", "gloss", "signer", "split"]]
    chosen.to_csv(tmp_path / "index.csv", index=False)
    store_path = tmp_path / "store"
    result = invoke("data", "extract", "--videos", shared / "asl8-videos", "--index",
                    tmp_path / "index.csv", "--out", store_path, "--workers", "1",
                    "--format", "pose")
    assert result.exit_code == 0, result.output
    folder = pose_files.pose_folder(store_path)
    assert f"pose files: {folder}" in result.output

    store = LandmarkStore.open(store_path)
    assert store.manifest["mediapipe_version"] == metadata.version("mediapipe")
    index = pd.read_csv(folder / "index.csv")
    assert len(index) == len(chosen) == len(store)
    for i, row in enumerate(store.meta.to_dict("records")):
        name = index.loc[index["clip_id"] == row["clip_id"], "file"].item()
        pose = Pose.read((folder / name).read_bytes())
        width, height = (labels.set_index("file").loc[row["source"], ["width", "height"]]
                         .astype(int))
        assert (pose.header.dimensions.width, pose.header.dimensions.height) == (width, height)
        assert pose.body.fps == pytest.approx(row["fps"])
        frame = next(iter(PoseVisualizer(pose).draw(max_frames=1)))
        assert frame.shape == (height, width, 3) and (frame != 255).any()
        back = read_landmark_file(folder / name)
        np.testing.assert_allclose(back, store.clip(i), rtol=1e-5, atol=1e-6, equal_nan=True)
