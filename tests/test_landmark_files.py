"""Single landmark files (harness.data.landmark_files): the ``.npy`` dtypes and layouts that
``slrbench predict``, the ``landmarks`` and the ``wlasl`` datasets read alike.

Real WLASL hand landmarks (``wlasl-hands``, ``[T, 2, 21, 3]``, -1 = no hand) and a real
asl-signs clip, saved here in the dtypes and layouts under test.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.adapters import wlasl
from harness.data.clips import LEFT_HAND, N_LANDMARKS, RIGHT_HAND
from harness.data.landmark_files import read_landmark_file
from harness.errors import BadLandmarks
from harness.run.predict import read_inputs

WLASL_CLIP = "00414"


@pytest.fixture
def hands_file(shared) -> Path:
    """A real WLASL clip as shipped: float64 MediaPipe Hands, slots in detection order."""
    return shared / "wlasl-hands" / wlasl.LANDMARKS_DIR / f"{WLASL_CLIP}.npy"


@pytest.fixture
def holistic(shared) -> np.ndarray:
    """A real asl-signs clip as Holistic ``[T, 543, 3]`` float32 (NaN = not detected)."""
    parquet = next((shared / "asl-signs-sample" / "train_landmark_files").rglob("*.parquet"))
    return read_landmark_file(parquet)


@pytest.fixture
def full_frames(shared) -> np.ndarray:
    """The frames of a real asl-signs clip in which every landmark was detected."""
    clip = read_landmark_file(shared / "asl-signs-sample" / "train_landmark_files" / "29302"
                              / "182868503.parquet")
    return clip[np.isfinite(clip).all(axis=(1, 2))]


@pytest.mark.parametrize("layout", ["holistic", "hands"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int16])
def test_integer_npy_files_read_as_the_float_file_of_the_same_numbers(
        full_frames, hands_file, tmp_path, layout, dtype):
    # refused as "dtype int64, expected float32" while float64 was read: whole numbers are
    # coordinates like any other, and the Hands layout's -1 (no hand) is one too
    whole = np.rint(full_frames if layout == "holistic" else np.load(hands_file))
    assert len(whole) and np.isfinite(whole).all()
    if layout == "hands":
        assert (whole == -1).all(axis=(2, 3)).any()     # a slot without a hand stays one
    np.save(tmp_path / "float.npy", whole)
    np.save(tmp_path / "whole.npy", whole.astype(dtype))
    for read in (lambda path: wlasl.read_clip(path, "side")[0], read_landmark_file):
        as_integer = read(tmp_path / "whole.npy")
        assert as_integer.dtype == np.float32 and as_integer.shape == (len(whole), N_LANDMARKS, 3)
        np.testing.assert_array_equal(as_integer, read(tmp_path / "float.npy"))


def test_integer_pixel_coordinates_are_refused_for_their_range_not_their_dtype(holistic,
                                                                               tmp_path):
    # the real problem named: the numbers are pixels, which no model of this layout reads
    pixels = np.rint(np.nan_to_num(holistic, nan=0.0) * 640).astype(np.int64)
    np.save(tmp_path / "pixels.npy", pixels)
    with pytest.raises(BadLandmarks, match=r"pixels\.npy: x = .* beyond ±10.*pixels\?") as error:
        read_landmark_file(tmp_path / "pixels.npy")
    assert "dtype" not in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("kind, needle", [("bool", "dtype bool"),
                                          ("complex", "dtype complex128"),
                                          ("object", "pickled Python objects")])
def test_npy_files_of_no_numbers_are_refused_in_one_line(holistic, tmp_path, kind, needle):
    array = {"bool": np.isfinite(holistic), "complex": holistic.astype(np.complex128),
             "object": holistic.astype(object)}[kind]
    np.save(tmp_path / f"{kind}.npy", array)       # np.save pickles an object array
    with pytest.raises(BadLandmarks) as error:
        read_landmark_file(tmp_path / f"{kind}.npy")
    message = str(error.value)
    assert message.startswith(f"{tmp_path / kind}.npy: ") and needle in message
    assert "float or integer" in message and "\n" not in message


def test_an_npz_archive_named_npy_is_refused_in_one_line(holistic, tmp_path):
    # np.load opens an archive by its content, whatever the name: not an array to check
    with open(tmp_path / "clip.npy", "wb") as file:
        np.savez(file, landmarks=holistic)
    with pytest.raises(BadLandmarks, match=r"clip\.npy: an \.npz archive .*not one \.npy array"):
        read_landmark_file(tmp_path / "clip.npy")


def test_predict_reads_a_wlasl_hands_file_as_the_wlasl_dataset_does(hands_file):
    # predict refused the shipped layout ("expected [frames, 543, 3]") that the wlasl
    # dataset trains on; both now place its hands by the one rule
    trained_on, placed = wlasl.read_clip(hands_file, "side")
    [(path, predicted)] = read_inputs([hands_file])
    assert placed and path == hands_file
    np.testing.assert_array_equal(predicted, trained_on)
    assert np.isnan(predicted[:, :LEFT_HAND.start]).all()           # hands only
    hands = np.load(hands_file)
    seen = ~(hands == -1).all(axis=(2, 3))
    # a frame's two detections go to both hand slots, whichever came first
    both = np.flatnonzero(seen.all(axis=1))[0]
    assert {tuple(predicted[both, LEFT_HAND][0]), tuple(predicted[both, RIGHT_HAND][0])} == \
        {tuple(hands[both, 0, 0].astype(np.float32)), tuple(hands[both, 1, 0].astype(np.float32))}
