"""SPOTER's augmentations, on raw ``[T, 54, 3]`` joints before normalisation.

The paper's four (Bohacek & Hruz, Sec. 3.3): rotation of the whole frame about its centre,
two shears (perspective tilt and horizontal squeeze) and arm-joint rotation (each joint
along the arm, with some probability, turns everything beyond it). Unlike the reference
code, the shears and arm rotations move the hands with the body: a rotated forearm carries
its hand along, so no augmented clip has a hand detached from its wrist.

All take x, y in image units and leave z and missing (NaN) joints as they are. The turns
are the harness augmentation library's affine maps; the shears are projective, so they stay
here.
"""
from __future__ import annotations

import numpy as np

from harness.api import affine_matrix, apply_affine
from plugins.spoter.skeleton import ARMS, mirror

CENTRE = (0.5, 0.5)


def rotate(joints: np.ndarray, degrees: float, centre=CENTRE) -> np.ndarray:
    """Every joint of every frame turned by ``degrees`` about ``centre`` (in the image
    plane, i.e. about the camera's z axis)."""
    return apply_affine(joints, affine_matrix(degrees=degrees), origin=centre)


def homography(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 3x3 projective map sending four ``source`` points onto four ``target`` points."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(source, target):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs.extend([u, v])
    h = np.linalg.solve(np.asarray(rows, float), np.asarray(rhs, float))
    return np.append(h, 1.0).reshape(3, 3)


def warp(joints: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    out = np.array(joints, dtype=np.float32, copy=True)
    xy = joints[..., :2].astype(np.float64)
    mapped = xy @ matrix[:2, :2].T + matrix[:2, 2]
    scale = xy @ matrix[2, :2] + matrix[2, 2]
    out[..., :2] = mapped / scale[..., None]
    return out


_UNIT_SQUARE = np.array([(0, 1), (1, 1), (0, 0), (1, 0)], dtype=float)


def squeeze(joints: np.ndarray, left: float, right: float) -> np.ndarray:
    """Squeeze the frame horizontally: ``left`` and ``right`` of its width cut from each side."""
    target = np.array([(left, 1), (1 - right, 1), (left, 0), (1 - right, 0)], dtype=float)
    return warp(joints, homography(_UNIT_SQUARE, target))


def perspective(joints: np.ndarray, ratio: float, tilt_left: bool) -> np.ndarray:
    """View the frame slightly tilted: one side shrunk by ``ratio`` in width and height."""
    if tilt_left:
        target = [(ratio, 1 - ratio), (1, 1), (ratio, ratio), (1, 0)]
    else:
        target = [(0, 1), (1 - ratio, 1 - ratio), (0, 0), (1 - ratio, ratio)]
    return warp(joints, homography(_UNIT_SQUARE, np.array(target, dtype=float)))


def arm_joint_rotate(joints: np.ndarray, rng: np.random.Generator, probability: float,
                     max_degrees: float) -> np.ndarray:
    """Walk each arm from the neck out; at each joint, with ``probability``, turn all joints
    beyond it (and the hand) about it by a uniform angle in +-``max_degrees``."""
    out = np.array(joints, dtype=np.float32, copy=True)
    for chain, hand in ARMS:
        beyond_all = list(chain[1:]) + list(range(hand.start, hand.stop))
        for k, origin_joint in enumerate(chain):
            if rng.random() >= probability:
                continue
            turn = affine_matrix(degrees=rng.uniform(-max_degrees, max_degrees))
            moved = beyond_all[k:]
            origin = out[:, origin_joint, :2].astype(np.float64)
            seen = np.isfinite(origin).all(axis=1)      # no pivot in a frame: leave it
            if not seen.any():
                continue
            block = out[seen]
            block[:, moved] = apply_affine(block[:, moved], turn, origin[seen][:, None, :])
            out[seen] = block
    return out


def paper_augment(joints: np.ndarray, rng: np.random.Generator, config) -> np.ndarray:
    """With probability ``augment_prob`` one of the paper's four augmentations, chosen
    uniformly; then, with ``mirror_prob``, left-right mirroring."""
    if rng.random() < config.augment_prob:
        kind = int(rng.integers(4))
        if kind == 0:
            joints = rotate(joints, rng.uniform(-config.rotate_deg, config.rotate_deg))
        elif kind == 1:
            joints = perspective(joints, rng.uniform(0, config.perspective_ratio),
                                 bool(rng.random() < 0.5))
        elif kind == 2:
            joints = squeeze(joints, rng.uniform(0, config.squeeze_ratio),
                             rng.uniform(0, config.squeeze_ratio))
        else:
            joints = arm_joint_rotate(joints, rng, config.arm_rotate_prob,
                                      config.arm_rotate_deg)
    if config.mirror_prob > 0 and rng.random() < config.mirror_prob:
        joints = mirror(joints)
    return joints


def study_copies(joints: np.ndarray, degrees: float) -> list[np.ndarray]:
    """The original study's tripling: the clip, and the clip turned by +- ``degrees``."""
    return [joints, rotate(joints, degrees), rotate(joints, -degrees)]
