"""The LSTM plugin's numpy side on real clips: registration without TensorFlow, the
fixed-length hand input, and the study's augmentations."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from harness.api import LEFT_HAND, RIGHT_HAND, BadConfig, config_from_dict
from harness.run.loading import load_clipset, make_request
from plugins.lstm import augment
from plugins.lstm.config import LSTMConfig
from plugins.lstm.features import (HAND_POINTS, clip_points, encode, feature_size, hand_points,
                                   hand_span, point_stats, resample_index, wrist_relative)


@pytest.fixture(scope="module")
def asl_clips():
    clips, _ = load_clipset("asl-signs", make_request())
    return clips


def test_registry_lists_lstm_without_importing_tensorflow():
    code = ("import sys; from harness import registry; assert 'lstm' in registry.models(); "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_resampling_stretches_and_squeezes_to_the_fixed_length():
    np.testing.assert_array_equal(resample_index(3, 6), [0, 0, 1, 1, 2, 2])
    index = resample_index(272, 90)
    assert len(index) == 90 and index[0] == 0 and index[-1] == 271
    assert (np.diff(index) >= 0).all()
    np.testing.assert_array_equal(resample_index(1, 4), [0, 0, 0, 0])


def test_hand_points_take_both_hands_and_keep_missing_as_nan(asl_clips):
    clip = asl_clips.clip(0)
    points = hand_points(clip, 90)
    assert points.shape == (90, 42, 2)
    source = resample_index(len(clip), 90)
    np.testing.assert_array_equal(points[:, :21], clip[source][:, LEFT_HAND, :2])
    np.testing.assert_array_equal(points[:, 21:], clip[source][:, RIGHT_HAND, :2])
    assert hand_points(clip, 90, coords="xyz").shape == (90, 42, 3)


def test_only_the_frames_from_the_first_to_the_last_hand_are_resampled(asl_clips):
    clip = asl_clips.clip(0)
    hands = np.isfinite(clip[:, LEFT_HAND]).all(axis=(1, 2)) | \
        np.isfinite(clip[:, RIGHT_HAND]).all(axis=(1, 2))
    assert hands[0] and hands[-1]
    padded = np.full((len(clip) + 7, *clip.shape[1:]), np.nan, dtype=np.float32)
    padded[3:3 + len(clip)] = clip                  # 3 handless frames before, 4 after
    padded[:3, :33] = padded[-4:, :33] = 0.5        # a body is seen there, no hand
    assert hand_span(padded) == slice(3, 3 + len(clip))
    np.testing.assert_array_equal(hand_points(padded, 20), hand_points(clip, 20))
    nothing = np.full((5, 543, 3), np.nan, dtype=np.float32)
    assert hand_span(nothing) == slice(0, 5)


def test_encode_zeroes_missing_hands_and_flags_presence(asl_clips):
    points = clip_points(asl_clips.subset(np.arange(10)), 30)
    x = encode(points, presence_flags=True)
    assert x.shape == (10, 30, feature_size(True)) == (10, 30, 86)
    assert np.isfinite(x).all()
    left_seen = np.isfinite(points[:, :, :HAND_POINTS]).all(axis=(2, 3))
    np.testing.assert_array_equal(x[..., 84], left_seen)
    assert (x[..., :42][~left_seen] == 0).all()
    np.testing.assert_allclose(x[..., :42][left_seen],
                               points[:, :, :HAND_POINTS].reshape(10, 30, 42)[left_seen])
    assert encode(points, presence_flags=False).shape == (10, 30, 84)


def test_standardisation_and_wrist_frame(asl_clips):
    points = clip_points(asl_clips, 30, "shoulder")
    mean, std = point_stats(points)
    x = encode(points, False, mean=mean, std=std)
    seen = np.isfinite(points[:, :, HAND_POINTS:]).all(axis=(2, 3))
    right = x[..., 42:][seen]
    np.testing.assert_allclose(right.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(right.std(0), 1, atol=1e-3)
    # Wrist-relative shape does not change when the whole hand moves.
    moved = points + np.float32(0.3)
    relative, relative_moved = wrist_relative(points), wrist_relative(moved)
    np.testing.assert_allclose(relative[..., 1:21, :], relative_moved[..., 1:21, :], atol=1e-4)
    np.testing.assert_allclose(relative_moved[..., 0, :], relative[..., 0, :] + 0.3, atol=1e-5)


def _distances(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[..., :, None, :] - points[..., None, :, :], axis=-1)


def test_shift_moves_hands_rigidly_and_never_invents_one(asl_clips):
    points = clip_points(asl_clips.subset(np.arange(20)), 30)
    rng = np.random.default_rng(0)
    shifted = augment.shift(points, rng, 0.05)
    np.testing.assert_array_equal(np.isnan(shifted), np.isnan(points))
    np.testing.assert_allclose(_distances(shifted), _distances(points), atol=1e-5)
    offset = np.nanmean(shifted - points, axis=(1, 2))
    assert (np.abs(offset) <= 0.05 + 1e-6).all() and np.abs(offset).max() > 0.01


def test_scale_multiplies_every_distance_by_one_factor(asl_clips):
    points = clip_points(asl_clips.subset(np.arange(20)), 30)
    rng = np.random.default_rng(1)
    scaled = augment.scale(points, rng, 0.1)
    np.testing.assert_array_equal(np.isnan(scaled), np.isnan(points))
    before, after = _distances(points), _distances(scaled)
    for i in range(len(points)):
        ok = np.isfinite(before[i]) & (before[i] > 1e-3)
        ratio = after[i][ok] / before[i][ok]
        assert ratio.std() < 1e-3 and 0.9 - 1e-4 <= ratio.mean() <= 1.1 + 1e-4


def test_noise_jitters_only_present_points(asl_clips):
    points = clip_points(asl_clips.subset(np.arange(5)), 30)
    noisy = augment.noise(points, np.random.default_rng(2), 0.004)
    np.testing.assert_array_equal(np.isnan(noisy), np.isnan(points))
    delta = (noisy - points)[np.isfinite(points)]
    assert 0.003 < delta.std() < 0.005


def test_balancing_fills_every_class_to_the_target():
    labels = np.array([0] * 10 + [1] * 3 + [2] * 6)
    index, is_copy = augment.balance_index(labels, np.random.default_rng(0))
    np.testing.assert_array_equal(index[:19], np.arange(19))
    assert not is_copy[:19].any() and is_copy[19:].all()
    assert np.bincount(labels[index]).tolist() == [10, 10, 10]
    index, _ = augment.balance_index(labels, np.random.default_rng(0), per_class=8)
    assert np.bincount(labels[index]).tolist() == [10, 8, 8]


def test_config_errors_are_one_line_bad_config():
    with pytest.raises(BadConfig, match="normalise"):
        config_from_dict(LSTMConfig, {"normalise": "bogus"})
    with pytest.raises(BadConfig, match="frames"):
        config_from_dict(LSTMConfig, {"frames": "1"})
    assert config_from_dict(LSTMConfig, {"lstm_units": "32,16"}).lstm_units == (32, 16)
