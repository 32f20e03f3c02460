import numpy as np

from harness.data.clips import LEFT_HAND, POSE, RIGHT_HAND
from harness.data.normalise import mirror_landmarks, shoulder_frame, shoulder_normalise
from tests.conftest import make_clip


def moved(clip, shift, scale):
    out = clip.copy()
    out[..., :2] = out[..., :2] * scale + np.asarray(shift, dtype=np.float32)
    out[..., 2] = out[..., 2] * scale
    return out


def test_normalisation_is_invariant_to_position_and_scale():
    clip = make_clip()
    base = shoulder_normalise(clip)
    for shift, scale in (((0.1, -0.05), 1.0), ((0.0, 0.0), 0.5), ((-0.2, 0.1), 1.7)):
        np.testing.assert_allclose(shoulder_normalise(moved(clip, shift, scale)), base,
                                   atol=1e-4)


def test_midpoint_origin_and_unit_shoulder_width():
    normalised = shoulder_normalise(make_clip())
    np.testing.assert_allclose((normalised[:, 11, :2] + normalised[:, 12, :2]) / 2, 0, atol=1e-6)
    width = np.linalg.norm(normalised[:, 11, :2] - normalised[:, 12, :2], axis=1)
    np.testing.assert_allclose(width, 1.0, atol=1e-6)


def test_missing_hand_stays_nan_and_missing_shoulders_borrow_neighbours():
    clip = make_clip(frames=6)
    clip[:, LEFT_HAND] = np.nan
    clip[2] = np.nan  # a frame where nothing was found
    out = shoulder_normalise(clip)
    assert np.isnan(out[:, LEFT_HAND]).all()
    assert np.isnan(out[2]).all()
    assert np.isfinite(out[np.r_[0, 1, 3, 4, 5]][:, RIGHT_HAND]).all()
    centre, width = shoulder_frame(clip)
    assert np.isfinite(centre).all() and np.isfinite(width).all()
    np.testing.assert_allclose(width[2], width[1])


def test_clip_without_shoulders_keeps_raw_coordinates():
    clip = make_clip(frames=4)
    clip[:, POSE] = np.nan
    np.testing.assert_array_equal(np.nan_to_num(shoulder_normalise(clip)), np.nan_to_num(clip))


def test_mirroring_twice_is_identity_and_swaps_hands():
    clip = make_clip()
    mirrored = mirror_landmarks(clip)
    np.testing.assert_allclose(mirror_landmarks(mirrored), clip, atol=1e-6)
    np.testing.assert_allclose(mirrored[:, LEFT_HAND, 0], 1 - clip[:, RIGHT_HAND, 0], atol=1e-6)
    np.testing.assert_allclose(mirrored[:, 11], [[0.6, 0.4, 0.0]] * len(clip), atol=1e-6)
