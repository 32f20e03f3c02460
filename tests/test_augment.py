"""harness.data.augment on real asl-signs clips: what each transform promises (flip swaps
sides and undoes itself, NaN stays NaN, shapes, seeded), checked so that a broken
transform fails."""
from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from harness import api
from harness.data import augment
from harness.data.clips import LEFT_HAND, POSE, RIGHT_HAND
from harness.run.loading import load_clipset, make_request

RANDOM_STEPS = {
    "affine": augment.affine,
    "resample": augment.resample,
    "temporal_mask": augment.temporal_mask,
    "spatial_mask": augment.spatial_mask,
    "hand_affine": augment.hand_affine,
    "finger_bend": augment.finger_bend,
}


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    """A real clip with the pose throughout and one hand missing in some frames."""
    clips, _ = load_clipset("asl-signs", make_request())
    for i in range(len(clips)):
        c = clips.clip(i)
        right = np.isfinite(c[:, RIGHT_HAND, 0]).all(1)
        left = np.isfinite(c[:, LEFT_HAND, 0]).all(1)
        if len(c) >= 20 and 0.3 < right.mean() < 1.0 and not left.all() \
                and np.isfinite(c[:, POSE]).all():
            return c
    raise AssertionError("no asl-signs clip with a partly missing hand found")


def _pairwise(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[:, :, None, :2] - points[:, None, :, :2], axis=-1)


def test_the_library_is_what_harness_api_exports():
    for name in ("flip", "affine", "resample", "temporal_mask", "spatial_mask", "mix_clips",
                 "mix_labels", "compose", "sometimes", "hand_affine", "finger_bend"):
        assert getattr(api, name) is getattr(augment, name) and name in api.__all__


def test_flip_twice_is_identity_and_swaps_the_hand_slots(clip):
    once = augment.flip(clip)
    np.testing.assert_allclose(augment.flip(once), clip, atol=1e-6)
    np.testing.assert_allclose(once[:, LEFT_HAND, 0], 1 - clip[:, RIGHT_HAND, 0], atol=1e-6)
    np.testing.assert_array_equal(once[:, RIGHT_HAND, 1], clip[:, LEFT_HAND, 1])
    np.testing.assert_array_equal(np.isnan(once[:, LEFT_HAND]), np.isnan(clip[:, RIGHT_HAND]))
    np.testing.assert_array_equal(once[:, 11, 1], clip[:, 12, 1])     # shoulders swap too
    with pytest.raises(ValueError, match="543"):
        augment.flip(clip[:, LEFT_HAND])


def test_affine_is_one_linear_map_and_moves_only_what_is_there(clip):
    rng = np.random.default_rng(0)
    out = augment.affine(clip, rng, scale=(0.8, 1.2), shear=0.1, degrees=15, shift=0.05)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(clip))
    np.testing.assert_array_equal(out[..., 2], clip[..., 2])
    seen = np.isfinite(clip).all(-1)
    # Fit the map on the moved points: one 2x3 affine explains every frame.
    source = np.c_[clip[seen][:, :2], np.ones(seen.sum())].astype(np.float64)
    solution, *_ = np.linalg.lstsq(source, out[seen][:, :2].astype(np.float64), rcond=None)
    np.testing.assert_allclose(source @ solution, out[seen][:, :2], atol=1e-5)
    assert not np.allclose(solution[:2], np.eye(2), atol=1e-3)
    # Turning alone keeps every distance.
    turned = augment.apply_affine(clip, augment.affine_matrix(degrees=20.0))
    np.testing.assert_allclose(_pairwise(turned[:, RIGHT_HAND]), _pairwise(clip[:, RIGHT_HAND]),
                               atol=1e-5)
    np.testing.assert_array_equal(augment.apply_affine(clip, np.eye(2)), clip)


def test_hand_affine_moves_each_hand_rigidly_about_its_wrist_and_nothing_else(clip):
    out = augment.hand_affine(clip, np.random.default_rng(1), scale=(1.0, 1.0), degrees=25,
                              shift=0.0)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(clip))
    np.testing.assert_array_equal(out[:, POSE], clip[:, POSE])
    np.testing.assert_array_equal(out[..., 2], clip[..., 2])
    for hand in (LEFT_HAND, RIGHT_HAND):
        np.testing.assert_allclose(out[:, hand][:, 0], clip[:, hand][:, 0], atol=1e-6)
        np.testing.assert_allclose(_pairwise(out[:, hand]), _pairwise(clip[:, hand]), atol=1e-5)
    right = np.isfinite(clip[:, RIGHT_HAND, 0]).all(1)
    assert not np.allclose(out[right][:, RIGHT_HAND], clip[right][:, RIGHT_HAND], atol=1e-4)
    # Zoom and shift: one scale for every frame of a hand, the wrist moved by one offset.
    out = augment.hand_affine(clip, np.random.default_rng(2), scale=(1.3, 1.3), degrees=0,
                              shift=0.05)
    seen = right.nonzero()[0]
    ratio = _pairwise(out[seen][:, RIGHT_HAND])[:, 0, 1:] / _pairwise(clip[seen][:, RIGHT_HAND])[:, 0, 1:]
    np.testing.assert_allclose(ratio, 1.3, rtol=1e-4)
    moved = out[seen, RIGHT_HAND.start] - clip[seen, RIGHT_HAND.start]
    np.testing.assert_allclose(moved[:, :2], moved[:1, :2].repeat(len(seen), 0), atol=1e-6)
    assert np.abs(moved[0, :2]).max() > 0
    subset = clip[:, np.r_[0:17, LEFT_HAND.start:RIGHT_HAND.stop]]
    moved = augment.hand_affine(subset, np.random.default_rng(1), hands=(slice(17, 38),
                                                                        slice(38, 59)))
    np.testing.assert_array_equal(moved[:, :17], subset[:, :17])
    with pytest.raises(ValueError, match="21 points"):
        augment.hand_affine(subset, np.random.default_rng(1))


def test_finger_bend_turns_fingers_about_their_base_joint(clip):
    out = augment.finger_bend(clip, np.random.default_rng(3), degrees=20)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(clip))
    np.testing.assert_array_equal(out[:, POSE], clip[:, POSE])
    right = np.isfinite(clip[:, RIGHT_HAND, 0]).all(1)
    hand_in, hand_out = clip[right][:, RIGHT_HAND], out[right][:, RIGHT_HAND]
    bases = [f[0] for f in augment.FINGERS]
    np.testing.assert_array_equal(hand_out[:, [0] + bases], hand_in[:, [0] + bases])
    for finger in augment.FINGERS:                        # each finger keeps its own shape
        joints = list(finger)
        np.testing.assert_allclose(_pairwise(hand_out[:, joints]), _pairwise(hand_in[:, joints]),
                                   atol=1e-5)
    assert not np.allclose(hand_out, hand_in, atol=1e-4)


def test_resample_keeps_missing_parts_missing_and_identity_at_the_same_length(clip):
    np.testing.assert_array_equal(augment.resample_to(clip, len(clip)), clip)
    out = augment.resample_to(clip, 2 * len(clip) - 1)      # every other frame is new
    np.testing.assert_array_equal(out[::2], clip)
    right = np.isfinite(clip[:, RIGHT_HAND, 0]).all(1)
    between = np.isfinite(out[1::2, RIGHT_HAND, 0]).all(1)
    both, neither = right[:-1] & right[1:], ~right[:-1] & ~right[1:]
    np.testing.assert_allclose(out[1::2][both], (clip[:-1][both] + clip[1:][both]) / 2,
                               atol=1e-6)
    assert not between[neither].any()                        # no hand invented
    for length_seed in range(5):
        stretched = augment.resample(clip, np.random.default_rng(length_seed), 0.5, 1.5)
        assert 0.5 * len(clip) - 1 <= len(stretched) <= 1.5 * len(clip) + 1
        assert stretched.shape[1:] == clip.shape[1:] and stretched.dtype == np.float32
        assert np.isnan(stretched[:, LEFT_HAND]).any() == np.isnan(clip[:, LEFT_HAND]).any()


def test_temporal_mask_blanks_one_run_of_frames(clip):
    out = augment.temporal_mask(clip, np.random.default_rng(3), max_fraction=0.25)
    assert out.shape == clip.shape
    blank = np.isnan(out).all(axis=(1, 2)) & ~np.isnan(clip).all(axis=(1, 2))
    runs = np.flatnonzero(blank)
    assert 1 <= len(runs) <= 0.25 * len(clip) and (np.diff(runs) == 1).all()
    np.testing.assert_array_equal(out[~blank], clip[~blank])


def test_spatial_mask_drops_the_points_inside_one_square(clip):
    out = augment.spatial_mask(clip, np.random.default_rng(4), size=(0.2, 0.3))
    assert out.shape == clip.shape
    assert (np.isnan(out) >= np.isnan(clip)).all()                 # NaN stays NaN
    dropped = np.isnan(out).all(-1) & np.isfinite(clip).all(-1)
    assert dropped.any()
    points = clip[dropped][:, :2]
    kept = np.isfinite(out).all(-1)
    np.testing.assert_array_equal(out[kept], clip[kept])
    low, high = points.min(0), points.max(0)
    extent = np.nanmax(clip[..., :2].reshape(-1, 2), 0) - np.nanmin(clip[..., :2].reshape(-1, 2), 0)
    assert (high - low <= 0.3 * extent.max() + 1e-6).all()
    inside = (clip[..., :2] >= low).all(-1) & (clip[..., :2] <= high).all(-1)
    assert not (kept & inside).any() or (high - low).min() == 0   # nothing inside survives


def test_mix_swaps_frames_and_says_how_many(clip):
    other = augment.affine(clip[::-1].copy(), np.random.default_rng(5))
    mixed, share = augment.mix_clips(clip, other, np.random.default_rng(6), max_fraction=0.5)
    assert mixed.shape == clip.shape and 0.5 <= share <= 1.0
    from_first = np.array([np.array_equal(m, c, equal_nan=True) for m, c in zip(mixed, clip)])
    assert from_first.mean() == pytest.approx(share)
    np.testing.assert_array_equal(mixed[~from_first],
                                  augment.resample_to(other, len(clip))[~from_first])
    targets = augment.mix_labels([1, 0], [2, 2], np.array([share, 0.25]), num_classes=3)
    np.testing.assert_allclose(targets.sum(1), 1.0)
    np.testing.assert_allclose(targets[0], [0, share, 1 - share], atol=1e-6)
    np.testing.assert_allclose(targets[1], [0.25, 0, 0.75])


@pytest.mark.parametrize("name", sorted(RANDOM_STEPS))
def test_seeded_same_generator_seed_same_clip(clip, name):
    step = RANDOM_STEPS[name]
    a, b = step(clip, np.random.default_rng(11)), step(clip, np.random.default_rng(11))
    np.testing.assert_array_equal(a, b)
    c = step(clip, np.random.default_rng(12))
    assert a.shape != c.shape or not np.array_equal(a, c, equal_nan=True)
    assert np.isnan(step(clip, np.random.default_rng(11))).sum() >= np.isnan(clip).sum() * (
        name != "resample")


def test_composed_pipeline_is_seeded_and_never_touches_its_input(clip):
    before = clip.copy()
    pipeline = augment.compose(augment.sometimes(0.5, augment.flip),
                               augment.sometimes(1.0, partial(augment.affine, degrees=10)),
                               augment.resample, augment.temporal_mask, augment.spatial_mask)
    a = pipeline(clip, np.random.default_rng(0))
    b = pipeline(clip, np.random.default_rng(0))
    np.testing.assert_array_equal(a, b)
    assert a.ndim == 3 and a.shape[1:] == (543, 3) and a.dtype == np.float32
    np.testing.assert_array_equal(clip, before)
    assert augment.sometimes(0.0, augment.flip)(clip, np.random.default_rng(0)) is clip
    # a step switched off draws nothing: adding it to a chain changes no seeded run
    off = augment.compose(augment.sometimes(0.0, augment.hand_affine), pipeline)
    np.testing.assert_array_equal(off(clip, np.random.default_rng(0)), a)


@pytest.mark.parametrize("fraction", [1.0, 1.5, 3.0])
def test_a_fraction_of_the_clip_past_all_of_it_is_capped_at_the_clip(clip, fraction):
    # 1.5 asked numpy for a start below 0 ("high <= 0"), mid-training
    for seed in range(20):
        masked = augment.temporal_mask(clip, np.random.default_rng(seed), max_fraction=fraction)
        blank = np.isnan(masked).all(axis=(1, 2))
        assert blank.any() and masked.shape == clip.shape
        mixed, share = augment.mix_clips(clip, clip[::-1].copy(), np.random.default_rng(seed),
                                         max_fraction=fraction)
        assert mixed.shape == clip.shape and 0.0 <= share <= 1.0
    assert np.isnan(augment.temporal_mask(clip[:1], np.random.default_rng(0), 1.5)).all()


def test_capping_leaves_every_draw_of_a_fraction_within_the_clip_as_it_was(clip):
    rng = np.random.default_rng(3)             # the draws as they were before the cap
    span = int(rng.integers(1, max(1, int(len(clip) * 0.2)) + 1))
    start = int(rng.integers(0, len(clip) - span + 1))
    expected = clip.copy()
    expected[start:start + span] = np.nan
    np.testing.assert_array_equal(
        augment.temporal_mask(clip, np.random.default_rng(3), max_fraction=0.2), expected)
