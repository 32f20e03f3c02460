"""SPOTER's pieces on real clips: joint picking, the paper's normalisation and its
hands-only fallback, augmentations that keep the skeleton's structure, and masking."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.api import LEFT_HAND, LEFT_SHOULDER, POSE, RIGHT_HAND, RIGHT_SHOULDER
from harness.run.loading import load_clipset, make_request
from plugins.spoter import augment
from plugins.spoter.batching import pad
from plugins.spoter.config import SpoterConfig
from plugins.spoter.features import feature_size, frame_features, study_features
from plugins.spoter.network import SpoterNet
from plugins.spoter.normalise import MISSING, body_box, normalise
from plugins.spoter.skeleton import (BONES, JOINTS, LEFT_EYE, LEFT_HAND_JOINTS, L_SHOULDER,
                                     L_WRIST, NECK, RIGHT_EYE, RIGHT_HAND_JOINTS, R_SHOULDER,
                                     R_WRIST, mirror, skeleton, subsample)


@pytest.fixture(scope="module")
def asl_clip() -> np.ndarray:
    """A real asl-signs clip with the pose throughout and the right hand in most frames."""
    clips, _ = load_clipset("asl-signs", make_request())
    for i in range(len(clips)):
        clip = clips.clip(i)
        right = np.isfinite(clip[:, RIGHT_HAND, 0]).all(1)
        if len(clip) >= 20 and right.mean() > 0.8 and np.isfinite(clip[:, POSE]).all():
            return clip
    raise AssertionError("no asl-signs clip with pose and hands found")


@pytest.fixture(scope="module")
def signo_clip() -> np.ndarray:
    """A real signo clip: hands only, pose all NaN."""
    clips, _ = load_clipset("signo", make_request())
    for i in range(len(clips)):
        clip = clips.clip(i)
        if np.isnan(clip[:, POSE]).all() and np.isfinite(clip[:, RIGHT_HAND]).all():
            return clip
    raise AssertionError("no hands-only signo clip found")


def test_skeleton_picks_body_joints_and_derives_the_neck(asl_clip):
    joints = skeleton(asl_clip)
    assert joints.shape == (len(asl_clip), JOINTS, 3)
    np.testing.assert_allclose(joints[:, L_SHOULDER], asl_clip[:, LEFT_SHOULDER])
    np.testing.assert_allclose(joints[:, R_SHOULDER], asl_clip[:, RIGHT_SHOULDER])
    np.testing.assert_allclose(joints[:, NECK],
                               (asl_clip[:, LEFT_SHOULDER] + asl_clip[:, RIGHT_SHOULDER]) / 2,
                               rtol=1e-6)
    np.testing.assert_array_equal(joints[:, LEFT_EYE], asl_clip[:, 2])
    np.testing.assert_array_equal(joints[:, RIGHT_EYE], asl_clip[:, 5])
    np.testing.assert_array_equal(joints[:, LEFT_HAND_JOINTS], asl_clip[:, LEFT_HAND])
    np.testing.assert_array_equal(joints[:, RIGHT_HAND_JOINTS], asl_clip[:, RIGHT_HAND])


def test_body_box_follows_the_paper():
    """Head unit = shoulder width; box 6 units wide about the neck, from 1 unit above the
    eyes; then shifted by -0.5."""
    joints = np.full((1, JOINTS, 3), np.nan, np.float32)
    joints[0, L_SHOULDER] = (0.6, 0.5, 0)
    joints[0, R_SHOULDER] = (0.4, 0.5, 0)
    joints[0, NECK] = (0.5, 0.5, 0)
    joints[0, [LEFT_EYE, RIGHT_EYE]] = (0.5, 0.4, 0)
    corner, side = body_box(joints)
    np.testing.assert_allclose(corner[0], [0.5 - 3 * 0.2, 0.4 - 0.2], atol=1e-6)
    np.testing.assert_allclose(side, [1.2], atol=1e-6)
    out = normalise(joints)
    np.testing.assert_allclose(out[0, L_SHOULDER], [(0.6 + 0.1) / 1.2 - 0.5, 0.3 / 1.2 - 0.5],
                               atol=1e-6)
    assert (out[0, LEFT_HAND_JOINTS] == MISSING).all()       # not detected -> -0.5


def test_hand_normalisation_ignores_where_and_how_big_the_hand_is(asl_clip):
    joints = skeleton(asl_clip)
    moved = joints.copy()
    moved[:, RIGHT_HAND_JOINTS, :2] = 0.5 * joints[:, RIGHT_HAND_JOINTS, :2] + 0.2
    a, b = normalise(joints), normalise(moved)
    np.testing.assert_allclose(a[:, RIGHT_HAND_JOINTS], b[:, RIGHT_HAND_JOINTS], atol=1e-5)
    present = np.isfinite(joints[:, RIGHT_HAND_JOINTS, 0]).all(1)
    seen = a[present][:, RIGHT_HAND_JOINTS]
    assert seen.min() >= -0.5 and seen.max() <= 0.5          # inside the hand's own box


def test_hands_only_clips_keep_the_hands_position(signo_clip):
    """signo has no pose: the body box falls back to the image, and the hands' wrists
    stand in for the body's, so the normalised body still tracks where the hands are."""
    joints = skeleton(signo_clip)
    np.testing.assert_array_equal(joints[:, R_WRIST], signo_clip[:, RIGHT_HAND][:, 0])
    corner, side = body_box(joints)
    assert (corner == 0).all() and (side == 1).all()
    out = normalise(joints)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[:, R_WRIST], signo_clip[:, RIGHT_HAND][:, 0, :2] - 0.5,
                               atol=1e-6)
    assert out[:, R_WRIST].std(axis=0).max() > 1e-3            # the wrist moves
    without = normalise(skeleton(signo_clip, wrists_from_hands=False))
    assert (without[:, R_WRIST] == MISSING).all()
    study = study_features(joints)
    assert study.shape == (len(joints), feature_size("study")) and np.isfinite(study).all()


def _pairwise(points: np.ndarray) -> np.ndarray:
    d = points[:, :, None, :2] - points[:, None, :, :2]
    return np.linalg.norm(d, axis=-1)


def _bone_lengths(joints: np.ndarray) -> np.ndarray:
    a, b = np.array(BONES).T
    return np.linalg.norm(joints[:, a, :2] - joints[:, b, :2], axis=-1)


def test_rotation_keeps_every_distance(asl_clip):
    joints = skeleton(asl_clip)
    turned = augment.rotate(joints, 13.0)
    assert not np.allclose(np.nan_to_num(turned), np.nan_to_num(joints))
    np.testing.assert_allclose(_pairwise(turned), _pairwise(joints), atol=1e-5)
    np.testing.assert_array_equal(np.isnan(turned), np.isnan(joints))
    np.testing.assert_array_equal(turned[..., 2], joints[..., 2])   # about the z axis


def test_arm_joint_rotation_keeps_bone_lengths_and_hands_attached(asl_clip):
    joints = skeleton(asl_clip)
    rng = np.random.default_rng(0)
    turned = augment.arm_joint_rotate(joints, rng, probability=1.0, max_degrees=10.0)
    assert not np.allclose(np.nan_to_num(turned), np.nan_to_num(joints))
    np.testing.assert_allclose(_bone_lengths(turned), _bone_lengths(joints), atol=1e-5)
    # The hand turned with its forearm: its shape (all its inner distances) is unchanged.
    for part in (LEFT_HAND_JOINTS, RIGHT_HAND_JOINTS):
        np.testing.assert_allclose(_pairwise(turned[:, part]), _pairwise(joints[:, part]),
                                   atol=1e-5)
    np.testing.assert_allclose(turned[:, NECK], joints[:, NECK])     # the root stays
    assert np.allclose(augment.arm_joint_rotate(joints, rng, 0.0, 10.0), joints, equal_nan=True)


def test_shears_are_the_projective_maps_they_claim(asl_clip):
    joints = skeleton(asl_clip)
    squeezed = augment.squeeze(joints, 0.1, 0.05)
    # A horizontal squeeze: y untouched, x mapped affinely onto [0.1, 0.95].
    np.testing.assert_allclose(squeezed[..., 1], joints[..., 1], atol=1e-6)
    np.testing.assert_allclose(squeezed[..., 0], 0.1 + 0.85 * joints[..., 0], atol=1e-5)
    corners = np.array([[[0, 1, 0], [1, 1, 0], [0, 0, 0], [1, 0, 0]]], np.float32)
    tilted = augment.perspective(corners, 0.1, tilt_left=True)
    np.testing.assert_allclose(tilted[0, :, :2], [[0.1, 0.9], [1, 1], [0.1, 0.1], [1, 0]],
                               atol=1e-6)
    np.testing.assert_array_equal(np.isnan(augment.perspective(joints, 0.1, False)),
                                  np.isnan(joints))


def test_mirroring_twice_is_identity_and_swaps_sides(asl_clip):
    joints = skeleton(asl_clip)
    once = mirror(joints)
    np.testing.assert_allclose(mirror(once), joints, atol=1e-6)
    np.testing.assert_allclose(once[:, LEFT_HAND_JOINTS, 0], 1 - joints[:, RIGHT_HAND_JOINTS, 0],
                               atol=1e-6)
    np.testing.assert_allclose(once[:, L_WRIST, 1], joints[:, R_WRIST, 1])


def test_study_copies_triple_with_turned_clips(asl_clip):
    joints = skeleton(asl_clip)
    copies = augment.study_copies(joints, 15.0)
    assert len(copies) == 3 and copies[0] is joints
    # In-plane turns leave the 3-D finger angles alone (the first 14 hand features).
    a, b = study_features(joints), study_features(copies[1])
    for hand in (slice(0, 14), slice(22, 36)):
        np.testing.assert_allclose(a[:, hand], b[:, hand], atol=1e-4)


def test_padding_mask_makes_batching_invisible(asl_clip):
    """A clip's output is the same alone or padded in a batch with a much longer one."""
    torch.manual_seed(0)
    net = SpoterNet(108, 5, 108, 9, 2, 2, 64, 0.0, 256).eval()
    short = frame_features(skeleton(asl_clip[:7]), "paper")
    long = frame_features(skeleton(np.concatenate([asl_clip] * 3)), "paper")
    frames, padding = pad([short, long])
    assert padding[0, 7:].all() and not padding[0, :7].any() and not padding[1].any()
    with torch.no_grad():
        batched = net(frames, padding)
        alone = net(torch.from_numpy(short)[None], None)
    torch.testing.assert_close(batched[0], alone[0], atol=1e-5, rtol=1e-5)


def test_long_clips_are_subsampled_to_the_position_table():
    clip = np.arange(300, dtype=np.float32)[:, None, None] * np.ones((1, 543, 3), np.float32)
    out = subsample(clip, 256)
    assert len(out) == 256 and out[0, 0, 0] == 0 and out[-1, 0, 0] == 299
    assert len(subsample(clip[:10], 256)) == 10


def test_config_rejects_heads_that_do_not_divide_the_width():
    from harness.api import BadConfig, config_from_dict
    with pytest.raises(BadConfig, match="divisible"):
        config_from_dict(SpoterConfig, {"d_model": "100", "heads": "9"})
