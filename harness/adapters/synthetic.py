"""Generated class-dependent landmark motion, at any vocabulary size and clip count.

For tests and for scale benchmarks at MS-ASL-1000 size (``--vocab 1000``: 1000 classes x
20 clips, about 13k training clips of about 60 frames). Each class is a hand shape and a
path of both hands relative to the shoulders; each signer adds its own position, scale and
handedness noise, so a model must normalise to generalise across the signer-disjoint split.
Options (``--data-option key=value``): ``clips_per_class`` (20), ``mean_frames`` (60),
``signers`` (20), ``noise`` (0.02), ``seed`` (0); a value out of range (``LIMITS``), or
a size whose store would not fit in the free disk space, is refused before anything is
generated. The data depend on these alone, never on the training seed.
"""
from __future__ import annotations

import math
import numbers
import shutil
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from harness.data.packing import cache_key, cached_store
from harness.data.clips import ClipSet, FACE, LEFT_HAND, LEFT_SHOULDER, N_LANDMARKS, POSE, RIGHT_HAND
from harness.errors import BadConfig
from harness.util.config import config_from_dict
from harness.specs import DatasetRequest, DatasetSpec
from harness.data.splits import group_disjoint_split
from harness.data.store import StoreWriter

NAME = "synthetic"
DEFAULT_CLASSES = 20


@dataclass(frozen=True)
class SyntheticOptions:
    clips_per_class: int = 20
    mean_frames: int = 60
    signers: int = 20
    noise: float = 0.02
    seed: int = 0


# Each option's smallest value (and the largest, where there is one) and why: outside them
# a build writes no clip, or numpy refuses the value halfway through generating.
LIMITS = {
    "clips_per_class": (1, None, "a whole number of at least 1 (clips generated per class)"),
    "mean_frames": (1, None, "a whole number of at least 1 (the clips' mean length in "
                             "frames)"),
    "signers": (2, None, "a whole number of at least 2 (a signer-disjoint split needs "
                         "signers to hold out)"),
    "noise": (0.0, 1.0, "between 0 and 1 (the jitter's standard deviation, in image "
                        "widths)"),
    "seed": (0, None, "a whole number of at least 0"),
}


def check_options(options: SyntheticOptions) -> SyntheticOptions:
    """``options``, or :class:`BadConfig` naming the first ``--data-option`` out of range."""
    for name, (low, high, allowed) in LIMITS.items():
        value = getattr(options, name)
        if (not isinstance(value, numbers.Real) or isinstance(value, bool)
                or isinstance(low, int) and not isinstance(value, numbers.Integral)
                or not math.isfinite(value) or value < low
                or (high is not None and value > high)):
            raise BadConfig(f"--data-option {name}={value!r}: out of range for the synthetic "
                            f"dataset; {name} must be {allowed}")
    return options


def _templates(rng: np.random.Generator):
    pose = rng.uniform(0.3, 0.7, size=(33, 3)).astype(np.float32)
    pose[LEFT_SHOULDER] = (0.6, 0.45, 0.0)     # image-left is the signer's left in MediaPipe
    pose[LEFT_SHOULDER + 1] = (0.4, 0.45, 0.0)
    face = rng.normal((0.5, 0.25, 0.0), (0.04, 0.05, 0.01), size=(468, 3)).astype(np.float32)
    return pose, face


def generate_clip(rng: np.random.Generator, klass: dict, signer: dict, frames: int,
                  templates, noise: float) -> np.ndarray:
    pose_t, face_t = templates
    out = np.full((frames, N_LANDMARKS, 3), np.nan, dtype=np.float32)
    t = np.linspace(0.0, 1.0, frames, dtype=np.float32)[:, None]
    phase = rng.uniform(0, 2 * np.pi)
    for hand, part in ((0, LEFT_HAND), (1, RIGHT_HAND)):
        if not klass["active"][hand]:
            continue
        path = klass["start"][hand] + (klass["end"][hand] - klass["start"][hand]) * t
        path = path + klass["wiggle"][hand] * np.sin(2 * np.pi * klass["freq"] * t + phase)
        shape = klass["shape"][hand][None] * (1 + 0.5 * t[:, :, None] * klass["bend"][hand])
        points = path[:, None, :] + shape + rng.normal(0, noise, (frames, 21, 3))
        present = rng.random(frames) > signer["dropout"]
        out[present, part] = points[present]
    out[:, POSE] = pose_t + rng.normal(0, noise / 2, (frames, 33, 3))
    out[:, FACE] = face_t + rng.normal(0, noise / 4, (frames, 468, 3))
    for hand, wrist in ((0, 15), (1, 16)):  # the pose wrists follow the hands
        if klass["active"][hand]:
            out[:, wrist] = np.nan_to_num(out[:, LEFT_HAND.start if hand == 0 else RIGHT_HAND.start])
    centre = np.array((0.5, 0.45, 0.0), dtype=np.float32)
    out[..., :2] = (out[..., :2] - centre[:2]) * signer["scale"] + centre[:2] + signer["shift"]
    return out


FRAME_BYTES = N_LANDMARKS * 3 * np.dtype(np.float32).itemsize


def check_room(folder: Path, num_classes: int, options: SyntheticOptions) -> None:
    """:class:`BadConfig` when the store these options describe cannot fit in the free space
    where it would be built: refused at once, not after hours of generating into a disk
    that fills."""
    need = num_classes * options.clips_per_class * options.mean_frames * FRAME_BYTES
    place = folder
    while not place.exists():
        place = place.parent
    free = shutil.disk_usage(place).free
    if need > free:
        gib = 2 ** 30
        raise BadConfig(f"--data-option clips_per_class={options.clips_per_class} mean_frames="
                        f"{options.mean_frames} with {num_classes} signs: the synthetic store "
                        f"would take about {need / gib:,.1f} GiB and {place} has "
                        f"{free / gib:,.1f} GiB free; ask for fewer clips, frames or signs, or "
                        "point SLRBENCH_DATA_ROOT at a place with room")


def _build(path: Path, num_classes: int, options: SyntheticOptions) -> None:
    check_room(path.parent, num_classes, options)
    rng = np.random.default_rng(options.seed)
    templates = _templates(rng)
    classes = []
    for _ in range(num_classes):
        two_handed = rng.random() < 0.4
        classes.append({
            "active": (two_handed, True),
            "start": rng.uniform(-0.25, 0.25, (2, 3)).astype(np.float32) + (0.5, 0.55, 0.0),
            "end": rng.uniform(-0.25, 0.25, (2, 3)).astype(np.float32) + (0.5, 0.55, 0.0),
            "wiggle": rng.uniform(0, 0.05, (2, 3)).astype(np.float32),
            "freq": float(rng.uniform(0.5, 3.0)),
            "shape": rng.normal(0, 0.04, (2, 21, 3)).astype(np.float32),
            "bend": rng.normal(0, 1, (2, 21, 3)).astype(np.float32),
        })
    signers = [{"scale": float(rng.uniform(0.75, 1.25)),
                "shift": rng.uniform(-0.08, 0.08, 2).astype(np.float32),
                "dropout": float(rng.uniform(0.0, 0.2))} for _ in range(options.signers)]
    vocab = [f"sign{c:04d}" for c in range(num_classes)]
    with StoreWriter(path, vocab, NAME) as writer:
        for c in range(num_classes):
            for k in range(options.clips_per_class):
                s = int(rng.integers(options.signers))
                frames = int(np.clip(rng.normal(options.mean_frames, options.mean_frames / 4),
                                     max(4, options.mean_frames // 4), options.mean_frames * 2))
                clip = generate_clip(rng, classes[c], signers[s], frames, templates, options.noise)
                writer.add({"clip_id": f"syn-{c:04d}-{k:03d}", "gloss": vocab[c], "label": c,
                            "split": "", "signer": f"signer{s:02d}", "fps": 30.0,
                            "source": "synthetic"}, clip)


def load(request: DatasetRequest) -> ClipSet:
    options = check_options(config_from_dict(SyntheticOptions, dict(request.options),
                                             option="--data-option"))
    num_classes = request.vocab or DEFAULT_CLASSES
    key = cache_key(NAME, num_classes, *(getattr(options, f.name) for f in fields(options)))
    store = cached_store(request.cache_dir / f"{NAME}-{num_classes}-{key}",
                         lambda path: _build(path, num_classes, options))
    clips = store.clipset(NAME)
    clips.meta["split"] = group_disjoint_split(clips.meta, "signer", request.split_seed).to_numpy()
    clips.notes["protocol"] = f"signer-disjoint split of synthetic signers (split seed {request.split_seed})"
    return clips


SPEC = DatasetSpec(name=NAME, load=load, options=SyntheticOptions,
                   vocab_sizes=(10, 100, 1000),
                   summary="generated landmark motion, any size (--vocab N classes); for tests/scale")
