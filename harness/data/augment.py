"""Landmark augmentations for every plugin: small functions on one clip that compose.

A clip is float32 ``[T, N, 3]`` (x, y in the clip's own units, z). :func:`flip` needs the
Holistic layout (``N = 543``) because it swaps the hands and the pose's sides; every other
function only moves, drops or re-times points, so it works on any landmark subset too (a
plugin may pick its joints first and augment those; the hand steps then take the hands'
slices in it).

NaN marks a part that was not detected. No function turns a NaN into a value, so no
augmented clip shows a hand that was never seen; masking turns values into NaN, which is
how the format writes "not seen". The input array is never modified.

Each random function takes a ``numpy.random.Generator`` and draws its parameters from it:
the same seed gives the same clip. :func:`compose` and :func:`sometimes` chain them::

    augment = compose(sometimes(0.5, flip), sometimes(0.8, affine),
                      sometimes(0.5, hand_affine), sometimes(0.5, resample),
                      sometimes(0.3, temporal_mask))
    clip = augment(clip, rng)
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from harness.data.clips import LEFT_HAND, N_LANDMARKS, RIGHT_HAND
from harness.data.normalise import mirror_landmarks

Step = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _check(clip: np.ndarray) -> np.ndarray:
    clip = np.asarray(clip)
    if clip.ndim != 3 or clip.shape[-1] < 2:
        raise ValueError(f"an augmentation takes one clip [T, N, 3], got shape {clip.shape}")
    return clip


# --- composition ----------------------------------------------------------------------
def compose(*steps: Step) -> Step:
    """One step that applies ``steps`` in order, all drawing from the same generator."""
    def run(clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for step in steps:
            clip = step(clip, rng)
        return clip
    return run


def sometimes(probability: float, step: Step) -> Step:
    """``step`` applied with ``probability``, otherwise the clip unchanged. At probability
    0 nothing is drawn either, so a step added to a chain switched off leaves every seeded
    run exactly as it was."""
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"probability must lie in [0, 1], not {probability}")
    if probability == 0.0:
        return lambda clip, rng: clip

    def run(clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return step(clip, rng) if rng.random() < probability else clip
    return run


# --- mirror ---------------------------------------------------------------------------
def flip(clip: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """The clip as signed with the other hand (``mirror_landmarks``: x -> 1 - x, hands and
    the pose's left/right landmarks swapped). Needs all 543 Holistic points; ``rng`` is
    accepted so that it composes with the random steps."""
    clip = _check(clip)
    if clip.shape[1] != N_LANDMARKS:
        raise ValueError(f"flip needs the {N_LANDMARKS}-point Holistic layout to swap the "
                         f"hands, got {clip.shape[1]} points")
    return mirror_landmarks(clip)


# --- geometry -------------------------------------------------------------------------
def clip_centre(clip: np.ndarray) -> np.ndarray:
    """Mean x, y of every point present anywhere in the clip (0.5, 0.5 if none is)."""
    xy = _check(clip)[..., :2].reshape(-1, 2).astype(np.float64)
    seen = np.isfinite(xy).all(axis=1)
    return xy[seen].mean(axis=0) if seen.any() else np.array([0.5, 0.5])


def affine_matrix(scale: float = 1.0, shear_x: float = 0.0, shear_y: float = 0.0,
                  degrees: float = 0.0) -> np.ndarray:
    """2x2 linear map: shear, then scale, then an anticlockwise turn by ``degrees`` (in
    the x-right, y-down image plane the turn looks clockwise)."""
    angle = math.radians(degrees)
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    shear = np.array([[1.0, shear_x], [shear_y, 1.0]])
    return turn @ (scale * shear)


def apply_affine(clip: np.ndarray, matrix: np.ndarray, origin=None, offset=(0.0, 0.0)
                 ) -> np.ndarray:
    """x, y of every point mapped by ``matrix`` about ``origin`` (default: the clip's
    :func:`clip_centre`), then moved by ``offset``; z and missing points as they were."""
    clip = _check(clip)
    origin = clip_centre(clip) if origin is None else np.asarray(origin, dtype=np.float64)
    out = np.array(clip, dtype=np.float32, copy=True)
    xy = clip[..., :2].astype(np.float64) - origin
    out[..., :2] = xy @ np.asarray(matrix, dtype=np.float64).T + origin + np.asarray(offset)
    return out


def affine(clip: np.ndarray, rng: np.random.Generator, scale=(0.8, 1.2), shear: float = 0.15,
           degrees: float = 15.0, shift: float = 0.1, origin=None) -> np.ndarray:
    """A random affine map about the clip's centre: zoom uniform in ``scale``, x and y
    shear each uniform in +-``shear``, a turn uniform in +-``degrees``, and a shift of x
    and y each uniform in +-``shift`` (the clip's units: image fractions for raw clips)."""
    low, high = scale
    matrix = affine_matrix(rng.uniform(low, high), rng.uniform(-shear, shear),
                           rng.uniform(-shear, shear), rng.uniform(-degrees, degrees))
    return apply_affine(clip, matrix, origin, rng.uniform(-shift, shift, size=2))


# --- hands --------------------------------------------------------------------------
# MediaPipe's 21 hand points: 0 is the wrist, then four per finger from its base joint out
# (thumb 1-4, index 5-8, middle 9-12, ring 13-16, little 17-20).
FINGERS = tuple(range(1 + 4 * f, 5 + 4 * f) for f in range(5))


def _hand_slices(clip: np.ndarray, hands) -> tuple[slice, ...]:
    hands = (LEFT_HAND, RIGHT_HAND) if hands is None else tuple(hands)
    for hand in hands:
        if hand.stop > clip.shape[1] or hand.stop - hand.start != 21:
            raise ValueError(f"a hand is 21 points inside the clip's {clip.shape[1]}, "
                             f"not {hand}")
    return hands


def hand_affine(clip: np.ndarray, rng: np.random.Generator, scale=(0.8, 1.2),
                degrees: float = 15.0, shift: float = 0.05, hands=None) -> np.ndarray:
    """Each hand changed on its own, as another signer's hand would differ: its 21 points
    zoomed (uniform in ``scale``) and turned (uniform in +-``degrees``) about its wrist in
    every frame, and the whole hand moved by a shift uniform in +-``shift`` of the clip's
    larger x/y extent. One draw per hand for the whole clip. ``hands``: the hands' slices
    (default: Holistic's); missing points stay missing."""
    clip = _check(clip)
    out = np.array(clip, dtype=np.float32, copy=True)
    xy = clip[..., :2].reshape(-1, 2)
    seen = np.isfinite(xy).all(axis=1)
    extent = float(max(np.ptp(xy[seen], axis=0).max(), 1e-6)) if seen.any() else 1.0
    for hand in _hand_slices(clip, hands):
        matrix = affine_matrix(rng.uniform(*scale), degrees=rng.uniform(-degrees, degrees))
        offset = rng.uniform(-shift, shift, size=2) * extent
        points = clip[:, hand, :2].astype(np.float64)
        wrist = points[:, :1]
        out[:, hand, :2] = (points - wrist) @ matrix.T + wrist + offset
    return out


def finger_bend(clip: np.ndarray, rng: np.random.Generator, degrees: float = 10.0,
                hands=None) -> np.ndarray:
    """Each finger of each hand turned about its base joint by its own angle, uniform in
    +-``degrees`` and the same in every frame: the small differences in how two people
    form one handshape. x, y only; missing points stay missing."""
    clip = _check(clip)
    out = np.array(clip, dtype=np.float32, copy=True)
    for hand in _hand_slices(clip, hands):
        for finger in FINGERS:
            joints = [hand.start + j for j in finger]
            base = clip[:, joints[:1], :2].astype(np.float64)
            matrix = affine_matrix(degrees=rng.uniform(-degrees, degrees))
            tips = clip[:, joints[1:], :2].astype(np.float64)
            out[:, joints[1:], :2] = (tips - base) @ matrix.T + base
    return out


# --- time -----------------------------------------------------------------------------
def resample_to(clip: np.ndarray, length: int) -> np.ndarray:
    """The clip re-timed onto ``length`` evenly spaced instants.

    Between two frames that both have a point it is interpolated linearly; where either
    lacks it the nearer frame is taken as it is, so a missing hand stays missing and no
    half-detected hand is invented."""
    clip = _check(clip)
    frames = len(clip)
    if length < 1:
        raise ValueError(f"length must be at least 1, not {length}")
    if frames == 0:
        return np.array(clip, dtype=np.float32, copy=True)
    at = np.linspace(0.0, frames - 1, length) if length > 1 else np.zeros(1)
    low = np.floor(at).astype(np.int64)
    high = np.minimum(low + 1, frames - 1)
    weight = (at - low)[:, None, None]
    a, b = clip[low].astype(np.float64), clip[high].astype(np.float64)
    nearest = np.where(weight < 0.5, a, b)
    both = np.isfinite(a).all(axis=-1, keepdims=True) & np.isfinite(b).all(axis=-1,
                                                                          keepdims=True)
    mixed = np.where(both, (1.0 - weight) * np.nan_to_num(a) + weight * np.nan_to_num(b),
                     nearest)
    return mixed.astype(np.float32)


def resample(clip: np.ndarray, rng: np.random.Generator, low: float = 0.5,
             high: float = 1.5) -> np.ndarray:
    """The clip played faster or slower: its length times a factor uniform in
    [``low``, ``high``] (at least one frame)."""
    clip = _check(clip)
    length = max(1, int(round(len(clip) * rng.uniform(low, high))))
    return resample_to(clip, length)


def temporal_mask(clip: np.ndarray, rng: np.random.Generator, max_fraction: float = 0.2
                  ) -> np.ndarray:
    """One run of consecutive frames, up to ``max_fraction`` of the clip (at least one
    frame, at most all of them), blanked: every point NaN, as if nothing had been detected
    there."""
    clip = _check(clip)
    out = np.array(clip, dtype=np.float32, copy=True)
    frames = len(clip)
    if frames == 0:
        return out
    # capped at the clip: a longer run has no place to start (numpy's "high <= 0")
    span = int(rng.integers(1, min(frames, max(1, int(frames * max_fraction))) + 1))
    start = int(rng.integers(0, frames - span + 1))
    out[start:start + span] = np.nan
    return out


def spatial_mask(clip: np.ndarray, rng: np.random.Generator, size=(0.05, 0.2)) -> np.ndarray:
    """A square of side uniform in ``size`` (in units of the clip's larger x/y extent),
    centred on a random point of the clip, so that it always covers something: every point
    inside it, in every frame, becomes NaN (a hand passing behind an occluder)."""
    clip = _check(clip)
    out = np.array(clip, dtype=np.float32, copy=True)
    xy = clip[..., :2].reshape(-1, 2)
    seen = np.isfinite(xy).all(axis=1)
    if not seen.any():
        return out
    low, high = xy[seen].min(axis=0), xy[seen].max(axis=0)
    extent = float(max((high - low).max(), 1e-6))
    half = rng.uniform(*size) * extent / 2.0
    middle = xy[seen][int(rng.integers(seen.sum()))]
    with np.errstate(invalid="ignore"):
        inside = (np.abs(clip[..., :2] - middle) <= half).all(axis=-1)
    out[inside] = np.nan
    return out


# --- two clips ------------------------------------------------------------------------
def mix_clips(first: np.ndarray, second: np.ndarray, rng: np.random.Generator,
        max_fraction: float = 0.5) -> tuple[np.ndarray, float]:
    """CutMix in time: a run of up to ``max_fraction`` of ``first``'s frames (at most all of
    them) replaced by the same instants of ``second`` (re-timed to ``first``'s length).
    Returns the clip and the share of its frames that came from ``first``, for
    :func:`mix_labels`.

    Frames are swapped rather than coordinates averaged: an average of two skeletons is a
    body nobody signed, and is undefined where only one clip shows a hand."""
    first, second = _check(first), _check(second)
    if first.shape[1:] != second.shape[1:]:
        raise ValueError(f"mix_clips needs clips of the same layout, got {first.shape} and "
                         f"{second.shape}")
    out = np.array(first, dtype=np.float32, copy=True)
    frames = len(first)
    if frames == 0 or len(second) == 0:
        return out, 1.0
    span = int(rng.integers(0, min(frames, max(0, int(frames * max_fraction))) + 1))
    if span == 0:
        return out, 1.0
    start = int(rng.integers(0, frames - span + 1))
    out[start:start + span] = resample_to(second, frames)[start:start + span]
    return out, 1.0 - span / frames


def mix_labels(first, second, share: float, num_classes: int) -> np.ndarray:
    """Soft targets for a mixed clip (or a batch, with one share per row): ``share`` of
    one-hot ``first`` plus the rest of one-hot ``second``; rows sum to 1."""
    share = np.asarray(share, dtype=np.float32)
    if not ((share >= 0.0) & (share <= 1.0)).all():
        raise ValueError(f"share must lie in [0, 1], not {share}")
    if share.ndim:
        share = share[..., None]
    eye = np.eye(num_classes, dtype=np.float32)
    return share * eye[np.asarray(first)] + (1.0 - share) * eye[np.asarray(second)]
