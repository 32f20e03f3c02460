"""The key-frame MLP plugin: features, mirroring, NaN handling, cascade, training, persistence.

Everything here runs on small generated clips with narrow networks and few epochs; the
end-to-end runs on the shipped real data are in test_keyframe_mlp_runs.py.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from harness.cli import main
from harness.adapters.synthetic import _templates, generate_clip
from harness.api import (BadConfig, LabelAccessError, RunContext, config_from_dict,
                         mirror_landmarks)
from harness.data.clips import ArrayLandmarks, ClipSet
from harness.registry import model as model_spec
from plugins.keyframe_mlp import KeyframeMLP, KeyframeMLPConfig
from plugins.keyframe_mlp import cascade
from plugins.keyframe_mlp.cascade import gather_inputs, segment_best, stage_rows
from plugins.keyframe_mlp.features import FEATURE_DIM, HAND_DIM, feature_names, frame_features
from plugins.keyframe_mlp.nets import MaskDropout, StageMLP
from plugins.keyframe_mlp.training import _adam
from plugins.keyframe_mlp.persist import BadModelDir

torch.set_num_threads(1)

LEFT, RIGHT = slice(0, HAND_DIM), slice(HAND_DIM, 2 * HAND_DIM)
POSE_FEATURES = slice(2 * HAND_DIM, 2 * HAND_DIM + 60)
STATIC = slice(0, 2 * HAND_DIM + 60)           # everything but the velocities
VELOCITY = slice(2 * HAND_DIM + 60, FEATURE_DIM)
# Small networks and few epochs keep each fit well under a second.
FAST = dict(hidden1=(32, 16), hidden2=(32, 16), hidden3=(32, 16), epochs=8, batch_size=64)


# --- data -------------------------------------------------------------------------------

def _classes(rng: np.random.Generator, count: int) -> list[dict]:
    return [{"active": (bool(rng.random() < 0.4), True),
             "start": rng.uniform(-0.25, 0.25, (2, 3)).astype(np.float32) + (0.5, 0.55, 0.0),
             "end": rng.uniform(-0.25, 0.25, (2, 3)).astype(np.float32) + (0.5, 0.55, 0.0),
             "wiggle": rng.uniform(0, 0.05, (2, 3)).astype(np.float32),
             "freq": float(rng.uniform(0.5, 3.0)),
             "shape": rng.normal(0, 0.04, (2, 21, 3)).astype(np.float32),
             "bend": rng.normal(0, 1, (2, 21, 3)).astype(np.float32)} for _ in range(count)]


def toy_clipset(num_classes: int = 4, per_split=(6, 2, 4), frames=(8, 30), noise: float = 0.02,
                seed: int = 0, train_counts: list[int] | None = None) -> ClipSet:
    """Generated signs (harness.adapters.synthetic's generator), per_split clips per class."""
    rng = np.random.default_rng(seed)
    templates = _templates(rng)
    classes = _classes(rng, num_classes)
    arrays, rows = [], []
    for c in range(num_classes):
        for split, n in zip(("train", "val", "test"), per_split):
            n = train_counts[c] if split == "train" and train_counts else n
            for k in range(n):
                signer = {"scale": float(rng.uniform(0.8, 1.2)), "dropout": 0.1,
                          "shift": rng.uniform(-0.05, 0.05, 2).astype(np.float32)}
                length = int(rng.integers(*frames))
                arrays.append(generate_clip(rng, classes[c], signer, length, templates, noise))
                rows.append({"clip_id": f"{split}-{c}-{k}", "gloss": f"sign{c}", "label": c,
                             "split": split, "signer": f"s{k}", "fps": 30.0,
                             "n_frames": length, "source": "toy"})
    return ClipSet("toy", pd.DataFrame(rows), tuple(f"sign{c}" for c in range(num_classes)),
                   landmarks=ArrayLandmarks(arrays))


def clipset_of(arrays, labels, num_classes: int) -> ClipSet:
    rows = [{"clip_id": f"c{i}", "gloss": f"sign{y}", "label": y, "split": "test", "signer": "s",
             "fps": 30.0, "n_frames": len(a), "source": "toy"}
            for i, (a, y) in enumerate(zip(arrays, labels))]
    return ClipSet("toy", pd.DataFrame(rows), tuple(f"sign{c}" for c in range(num_classes)),
                   landmarks=ArrayLandmarks(arrays))


def one_clip(frames: int = 20, seed: int = 3) -> np.ndarray:
    """A clip with pose and both hands, some hand frames missing."""
    rng = np.random.default_rng(seed)
    klass = _classes(rng, 1)[0]
    klass["active"] = (True, True)
    signer = {"scale": 1.0, "shift": np.zeros(2, np.float32), "dropout": 0.2}
    return generate_clip(rng, klass, signer, frames, _templates(rng), 0.02)


@pytest.fixture(scope="module")
def toy() -> ClipSet:
    return toy_clipset()


def fit(clips: ClipSet, seed: int = 0, **options) -> KeyframeMLP:
    config = KeyframeMLPConfig(**{**FAST, **options})
    model = KeyframeMLP(config, clips.vocab)
    model.fit(clips.split("train"), clips.split("val"), RunContext(seed=seed))
    return model


@pytest.fixture(scope="module")
def trained(toy) -> KeyframeMLP:
    return fit(toy, stages=2, selection="oracle")


# --- features ---------------------------------------------------------------------------

def _angle(u, v) -> float:
    return math.degrees(math.atan2(np.linalg.norm(np.cross(u, v)), np.dot(u, v)))


def reference_features(clip: np.ndarray, fps: float) -> np.ndarray:
    """SEED-METHOD.md transcribed frame by frame (faithful defaults), for comparison."""
    triples = [(4, 3, 2), (3, 2, 0), (8, 6, 5), (6, 5, 0), (12, 10, 9), (10, 9, 0),
               (16, 14, 13), (14, 13, 0), (20, 18, 17), (18, 17, 0)]
    spokes = [(4, 2), (8, 5), (12, 9), (16, 13), (20, 17)]
    upper = list(range(18)) + [23, 24]
    rows = []
    for t in range(len(clip)):
        pose, left, right = clip[t, :33], clip[t, 501:522], clip[t, 522:543]
        origin = pose[11].astype(np.float64)
        width = np.linalg.norm(pose[12].astype(np.float64) - origin)
        features = []
        for hand in (left, right):
            hand = hand.astype(np.float64)
            if np.isnan(hand).any():
                features += [0.0] * 22
                continue
            features += [_angle(hand[b] - hand[a], hand[c] - hand[b]) for a, b, c in triples]
            vectors = [hand[tip] - hand[base] for tip, base in spokes]
            features += [_angle(vectors[i], vectors[i + 1]) for i in range(4)]
            features += list((hand[0] - origin) / width) + list((hand[8] - origin) / width)
            normal = np.cross(hand[5] - hand[0], hand[17] - hand[0])
            normal = normal / np.linalg.norm(normal)
            features += [_angle(np.array([0, normal[1], normal[2]]), np.array([0, 1.0, 0])),
                         _angle(np.array([normal[0], 0, normal[2]]), np.array([0, 0, 1.0]))]
        for j in upper:
            point = pose[j].astype(np.float64)
            features += [0.0] * 3 if np.isnan(point).any() else list((point - origin) / width)
        for part in (slice(0, 33), slice(501, 522), slice(522, 543)):
            if t == 0:
                features += [0.0] * ((part.stop - part.start) * 3)
            else:
                velocity = (clip[t, part].astype(np.float64) - clip[t - 1, part]) * fps
                features += list(np.nan_to_num(velocity.ravel(), nan=0.0))
        rows.append(features)
    return np.array(rows)


def test_features_match_a_frame_by_frame_transcription_of_the_method():
    clip = one_clip(frames=15)
    clip[4, 501:522] = np.nan                        # a missing left hand
    clip[7, 522:525] = np.nan                        # a partly missing right hand
    fast = frame_features(clip, fps=25.0)
    assert fast.shape == (15, FEATURE_DIM) == (15, 329) and len(feature_names()) == 329
    np.testing.assert_allclose(fast, reference_features(clip, 25.0), rtol=1e-4, atol=1e-3)
    assert (fast[4, LEFT] == 0).all() and (fast[7, RIGHT] == 0).all()


def _moved(clip: np.ndarray, scale: float, shift) -> np.ndarray:
    return (clip - 0.5) * scale + 0.5 + np.asarray(shift, dtype=np.float32)


@pytest.mark.parametrize("origin", ["left_shoulder", "midpoint"])
def test_features_do_not_depend_on_signer_position_or_size(origin):
    clip = one_clip()
    moved = _moved(clip, 1.3, (0.07, -0.04, 0.02))
    base = frame_features(clip, 30.0, origin=origin)
    other = frame_features(moved, 30.0, origin=origin)
    np.testing.assert_allclose(other[:, STATIC], base[:, STATIC], rtol=1e-4, atol=1e-3)
    # raw velocities (the original) follow the signer's size, the normalised ones do not
    shifted = frame_features(_moved(clip, 1.0, (0.07, -0.04, 0.02)), 30.0, origin=origin)
    np.testing.assert_allclose(shifted[:, VELOCITY], base[:, VELOCITY], atol=1e-3)
    assert not np.allclose(other[:, VELOCITY], base[:, VELOCITY], atol=1e-2)
    normalised = [frame_features(c, 30.0, origin=origin, velocity="normalised")
                  for c in (clip, moved)]
    np.testing.assert_allclose(normalised[1], normalised[0], rtol=1e-4, atol=1e-3)


def test_mirroring_twice_is_identity_and_mirroring_swaps_the_hands_in_the_features():
    clip = one_clip()
    # exact up to float32 rounding of 1 - (1 - x)
    np.testing.assert_allclose(mirror_landmarks(mirror_landmarks(clip)), clip, atol=1e-7)
    base = frame_features(clip, 30.0, origin="midpoint")
    mirrored = frame_features(mirror_landmarks(clip), 30.0, origin="midpoint")
    angles = slice(0, 14)
    for mine, theirs in ((LEFT, RIGHT), (RIGHT, LEFT)):
        np.testing.assert_allclose(mirrored[:, mine][:, angles], base[:, theirs][:, angles],
                                   atol=1e-3)
        # wrist and index tip relative to the shoulders' midpoint: x flips sign
        flip = np.array([-1, 1, 1, -1, 1, 1])
        np.testing.assert_allclose(mirrored[:, mine][:, 14:20], base[:, theirs][:, 14:20] * flip,
                                   atol=1e-4)
    assert not np.allclose(mirrored[:, LEFT], base[:, LEFT], atol=1e-2)
    # pose sides swap too: the mirrored left shoulder (11) is the right one (12), x flipped
    pose, pose_mirrored = (f[:, POSE_FEATURES].reshape(len(f), 20, 3) for f in (base, mirrored))
    np.testing.assert_allclose(pose_mirrored[:, 11], pose[:, 12] * [-1, 1, 1], atol=1e-4)
    np.testing.assert_allclose(pose_mirrored[:, 0], pose[:, 0] * [-1, 1, 1], atol=1e-4)


def test_missing_parts_become_zeros_and_never_nan():
    clip = one_clip(frames=6)
    clip[2] = np.nan                                 # nothing detected in frame 2
    clip[4, 501:522] = np.nan                        # left hand missing in frame 4
    features = frame_features(clip, 30.0)
    assert np.isfinite(features).all()
    assert (features[2, :2 * HAND_DIM + 60] == 0).all()
    assert (features[2:4, VELOCITY] == 0).all()      # no velocity into or out of a gap
    assert (features[4, LEFT] == 0).all() and (features[4, RIGHT] != 0).any()
    single = frame_features(clip[:1], 30.0)
    assert single.shape == (1, FEATURE_DIM) and (single[:, VELOCITY] == 0).all()
    hands_only = clip.copy()
    hands_only[:, :33] = np.nan                      # signo-like: no pose at all
    assert np.isfinite(frame_features(hands_only, 30.0)).all()


def test_a_trained_model_predicts_any_clip_length_and_missing_data(trained):
    clip = one_clip(frames=10)
    clip[3] = np.nan
    gap = one_clip(frames=5)
    gap[:, 501:] = np.nan                            # no hands at all
    clips = clipset_of([clip, clip[:1], gap], [0, 1, 2], len(trained.vocab)).unlabelled()
    proba = trained.predict_proba(clips)
    assert proba.shape == (3, len(trained.vocab)) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    frames = trained.explain(clips)
    assert list(frames["n_frames"]) == [10, 1, 5]
    assert (frames["stage1_frame"] < frames["n_frames"]).all()
    assert (frames["stage2_frame"] < frames["n_frames"]).all()


# --- the cascade ------------------------------------------------------------------------

def test_stage_inputs_are_key_frame_and_frame_in_temporal_order():
    clip_of = torch.tensor([0, 0, 0, 0, 1, 1, 1])               # clips of 4 and 3 frames
    x = torch.arange(7, dtype=torch.float32).unsqueeze(1).repeat(1, 2)   # row r holds r
    keys = torch.tensor([[2], [4]])                              # key frames: 2 and 0 (row 4)
    pairs = gather_inputs(x, stage_rows(keys, clip_of))[:, ::2]  # first value of each frame
    expected = [[0, 2], [1, 2], [2, 2], [2, 3], [4, 4], [4, 5], [4, 6]]
    assert pairs.tolist() == expected
    triples = stage_rows(torch.tensor([[2, 0], [6, 5]]), clip_of)
    assert triples.tolist() == [[0, 0, 2], [0, 1, 2], [0, 2, 2], [0, 2, 3],
                                [4, 5, 6], [5, 5, 6], [5, 6, 6]]


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_row_forward_equals_the_concatenated_forward(stage):
    torch.manual_seed(0)
    net = StageMLP(stage * 5, (8,), 3, 0.3).eval()
    clip_of = torch.tensor([0, 0, 0, 1, 1, 2])
    x = torch.randn(6, 5)
    keys = torch.tensor([[1, 2], [4, 3], [5, 5]])[:, :stage - 1]
    rows = stage_rows(keys, clip_of)
    with torch.no_grad():
        torch.testing.assert_close(net.forward_rows(x, rows), net(gather_inputs(x, rows)))


def test_mask_dropout_drops_at_its_rate_and_keeps_the_mean():
    layer = MaskDropout(0.3)
    x = torch.ones(1000, 1000)
    torch.manual_seed(0)
    out = layer.train()(x)
    dropped = float((out == 0).float().mean())
    assert abs(dropped - 0.3) < 0.003
    assert torch.allclose(out[out != 0], torch.full((1,), 1 / (1 - 0.3)), rtol=1e-4)
    assert abs(float(out.mean()) - 1.0) < 0.01
    torch.manual_seed(0)
    assert torch.equal(layer(x), out)                     # seeded: the same mask again
    assert not torch.equal(layer(x), out)                 # and a new one next call
    assert torch.equal(layer.eval()(x), x)
    assert torch.equal(MaskDropout(0.0).train()(x), x)
    odd = torch.ones(3, 7)                                # sizes not a multiple of 4
    assert layer.train()(odd).shape == (3, 7)


def test_weight_decay_on_hidden_kernels_is_the_keras_l2_penalty():
    """One Adam step with the penalty in the loss equals the step with weight decay."""
    config = KeyframeMLPConfig(hidden1=(16, 8), l2=0.05, dropout=0.0)
    torch.manual_seed(0)
    reference = StageMLP(FEATURE_DIM, config.hidden1, 5, 0.0)
    fast = StageMLP(FEATURE_DIM, config.hidden1, 5, 0.0)
    fast.load_state_dict(reference.state_dict())
    x, y = torch.randn(32, FEATURE_DIM), torch.randint(0, 5, (32,))
    plain = torch.optim.Adam(reference.parameters(), lr=config.lr, eps=1e-7)
    decayed = _adam(fast, config)
    for _ in range(3):
        plain.zero_grad()
        (torch.nn.functional.cross_entropy(reference(x), y)
         + config.l2 * reference.l2_penalty()).backward()
        plain.step()
        decayed.zero_grad()
        torch.nn.functional.cross_entropy(fast(x), y).backward()
        decayed.step()
    for name, value in reference.state_dict().items():
        assert torch.allclose(fast.state_dict()[name], value, atol=1e-6), name


def test_segment_best_takes_each_clips_first_maximum():
    score = torch.tensor([0.1, 0.9, 0.9, 0.3, 0.5, 0.2, 0.7, 0.7])
    clip_of = torch.tensor([0, 0, 0, 0, 1, 2, 2, 2])
    assert segment_best(score, clip_of, 3).tolist() == [1, 4, 6]
    # a diverged network scores NaN: a clip of NaNs got row 8 (IndexError a step later)
    nan = float("nan")
    score = torch.tensor([nan, nan, 0.4, nan, 0.1])
    assert segment_best(score, torch.tensor([0, 0, 1, 1, 2]), 3).tolist() == [0, 2, 4]


def test_a_diverging_training_ends_in_one_line(tmp_path):
    result = CliRunner().invoke(main, [
        "run", "--model", "keyframe_mlp", "--dataset", "asl-signs", "--threads", "1",
        "--set", "epochs=1", "--set", "lr=1e12", "--tracking-uri",
        f"sqlite:///{tmp_path / 'mlruns.db'}"])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines()[-1] == (
        "error: model 'keyframe_mlp' returned NaN or inf probabilities: did its training "
        "diverge? (try a lower learning rate)")


def _reference_cascade(model: KeyframeMLP, clips: ClipSet, oracle: bool) -> np.ndarray:
    """model_inference.py's per-clip logic (numpy, one clip at a time) for two stages."""
    answers = []
    net1, net2 = model.nets
    for i in range(len(clips)):
        clip = clips.clip(i)
        x = (frame_features(clip, 30.0) - model.standardiser.mean) / model.standardiser.std
        x = torch.from_numpy(x.astype(np.float32))
        with torch.no_grad():
            p1 = torch.softmax(net1(x), 1).numpy()
            score1 = p1[:, clips.labels[i]] if oracle else p1.max(1)
            k = int(np.argmax(score1))
            pairs = torch.stack([torch.cat([x[min(k, t)], x[max(k, t)]]) for t in range(len(x))])
            p2 = torch.softmax(net2(pairs), 1).numpy()
        score2 = p2[:, clips.labels[i]] if oracle else p2.max(1)
        t2 = int(np.argmax(score2))
        first = score1[k] >= score2[t2]
        answers.append(int(np.argmax(p1[k])) if first else int(np.argmax(p2[t2])))
    return np.array(answers)


@pytest.mark.parametrize("chunk", [None, 7])
def test_honest_and_oracle_answers_match_the_original_per_clip_logic(toy, trained, chunk,
                                                                     monkeypatch):
    if chunk:                                             # many chunks per batch
        monkeypatch.setattr(cascade, "chunk_rows", lambda num_classes: chunk)
    test = toy.split("test")
    honest = trained.predict_proba(test.unlabelled()).argmax(1)
    oracle = trained.oracle_predict_proba(test).argmax(1)
    np.testing.assert_array_equal(honest, _reference_cascade(trained, test, oracle=False))
    np.testing.assert_array_equal(oracle, _reference_cascade(trained, test, oracle=True))


def test_oracle_uses_labels_only_through_oracle_predict_proba():
    clips = toy_clipset(num_classes=6, noise=0.08, seed=5)
    weak = fit(clips, stages=2, epochs=2, selection="oracle")
    test = clips.split("test")
    honest = weak.predict_proba(test.unlabelled())
    oracle = weak.oracle_predict_proba(test)
    assert oracle.shape == honest.shape
    top1 = lambda p: (p.argmax(1) == test.labels).mean()   # noqa: E731
    assert top1(oracle) > top1(honest)                     # the oracle reads the answer
    # selection changes nothing about predict_proba; "honest" switches the oracle off
    twin = KeyframeMLP(dataclasses.replace(weak.config, selection="honest"), weak.vocab)
    twin.nets, twin.standardiser = weak.nets, weak.standardiser
    np.testing.assert_array_equal(twin.predict_proba(test.unlabelled()), honest)
    assert twin.oracle_predict_proba(test) is None
    with pytest.raises(LabelAccessError):
        test.unlabelled().labels


# --- training ---------------------------------------------------------------------------

def _subnormals_survive() -> bool:
    return float(torch.tensor([1e-39]) * 1.0) != 0.0      # 1e-39 is below float32's 1.18e-38


def test_training_flushes_subnormal_floats_and_restores_the_default(toy):
    """Subnormals slowed MLP1's epochs 5x late in training; fit flushes them, then restores."""
    seen = []
    model = KeyframeMLP(KeyframeMLPConfig(stages=1, **{**FAST, "epochs": 1}), toy.vocab)
    model.fit(toy.split("train"), toy.split("val"),
              RunContext(seed=0, metric_logger=lambda *_: seen.append(_subnormals_survive())))
    assert seen and not any(seen)
    assert _subnormals_survive()


@pytest.mark.parametrize("stages", [1, 2, 3])
def test_every_stage_count_trains_and_explains(toy, stages):
    logged = []
    model = KeyframeMLP(KeyframeMLPConfig(**{**FAST, "stages": stages}), toy.vocab)
    model.fit(toy.split("train"), toy.split("val"),
              RunContext(seed=0, metric_logger=lambda n, v, s: logged.append((n, v, s))))
    assert len(model.nets) == stages
    assert model.nets[-1].layers[0].in_features == stages * FEATURE_DIM
    test = toy.split("test")
    assert (model.predict_proba(test.unlabelled()).argmax(1) == test.labels).mean() >= 0.5
    table = model.explain(test.unlabelled())
    expected = [f"stage{k}_{w}" for k in range(1, stages + 1) for w in ("frame", "prob")]
    assert list(table.columns) == expected + ["chosen_stage", "n_frames"]
    assert table["chosen_stage"].between(1, stages).all()
    names = {name for name, _, _ in logged}
    for k in range(1, stages + 1):
        assert {f"mlp{k}_train_loss", f"mlp{k}_val_loss", f"mlp{k}_val_top1"} <= names
    curve = [(step, value) for name, value, step in logged if name == "mlp1_val_loss"]
    assert [step for step, _ in curve] == list(range(1, len(curve) + 1))


def test_training_is_deterministic_per_seed(toy):
    test = toy.split("test").unlabelled()
    first = fit(toy, seed=3, stages=2, epochs=3).predict_proba(test)
    again = fit(toy, seed=3, stages=2, epochs=3).predict_proba(test)
    other = fit(toy, seed=4, stages=2, epochs=3).predict_proba(test)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_train_key_true_class_and_argmax_choose_different_key_frames(toy):
    weak = fit(toy, stages=1, epochs=1)
    train = toy.split("train")
    table = weak._table(train, "train")
    weak.standardiser.apply_(table.x)
    data = weak._stage_data(table, torch.empty((table.n_clips, 0), dtype=torch.int64))
    weak.nets[0].eval()
    keys = {}
    no_keys = torch.empty((table.n_clips, 0), dtype=torch.int64)
    for rule in ("true_class", "argmax"):
        weak.config = dataclasses.replace(weak.config, train_key=rule)
        keys[rule] = weak._next_keys(weak.nets[0], data, no_keys)[:, 0]
    with torch.no_grad():
        out = torch.softmax(weak.nets[0](table.x), 1)
    for rule, score in (("true_class", out[torch.arange(len(out)), table.frame_labels()]),
                        ("argmax", out.max(1).values)):
        for clip in range(table.n_clips):
            start, end = int(table.offsets[clip]), int(table.offsets[clip + 1])
            assert int(keys[rule][clip]) == start + int(score[start:end].argmax())
    assert not torch.equal(keys["true_class"], keys["argmax"])
    for rule in ("true_class", "argmax"):
        model = fit(toy, stages=2, epochs=3, train_key=rule)
        assert np.isfinite(model.predict_proba(toy.split("test").unlabelled())).all()


@pytest.mark.parametrize("balance", ["class_weights", "sampler"])
def test_unbalanced_vocabularies_train_with_weights_or_sampling(balance):
    clips = toy_clipset(num_classes=3, train_counts=[12, 2, 1], seed=2)
    model = fit(clips, stages=2, epochs=4, balance=balance)
    proba = model.predict_proba(clips.split("test").unlabelled())
    assert proba.shape == (len(clips.split("test")), 3) and np.isfinite(proba).all()


def test_without_validation_clips_the_training_loss_is_monitored(toy):
    logged = []
    model = KeyframeMLP(KeyframeMLPConfig(**{**FAST, "epochs": 3}), toy.vocab)
    model.fit(toy.split("train"), toy.split("train").subset(np.array([], dtype=int)),
              RunContext(seed=0, metric_logger=lambda n, v, s: logged.append(n)))
    assert "mlp2_train_loss" in logged and not any("val" in name for name in logged)
    assert np.isfinite(model.predict_proba(toy.split("test").unlabelled())).all()


def test_config_is_checked_and_registered():
    spec = model_spec("keyframe_mlp")
    assert spec.config is KeyframeMLPConfig and spec.inputs == "landmarks"
    config = config_from_dict(KeyframeMLPConfig, {"stages": "3", "hidden1": "64,32",
                                                  "train_key": "argmax", "epochs": "5"})
    assert (config.stages, config.hidden1, config.train_key) == (3, (64, 32), "argmax")
    defaults = KeyframeMLPConfig()
    assert (defaults.stages, defaults.selection, defaults.train_key, defaults.origin,
            defaults.velocity, defaults.lr, defaults.batch_size, defaults.epochs,
            defaults.dropout, defaults.l2, defaults.patience) == \
        (2, "honest", "true_class", "left_shoulder", "raw", 5e-4, 200, 300, 0.3, 1e-4, 10)
    with pytest.raises(BadConfig, match="stages"):
        config_from_dict(KeyframeMLPConfig, {"stages": "4"})
    with pytest.raises(BadConfig, match="train_key"):
        config_from_dict(KeyframeMLPConfig, {"train_key": "label"})


# --- persistence ------------------------------------------------------------------------

def test_save_then_load_gives_identical_predictions(tmp_path, toy, trained):
    trained.save(tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == \
        ["mlp1.pt", "mlp2.pt", "model.json", "standardise.npz"]
    loaded = model_spec("keyframe_mlp").load(tmp_path / "model", trained.config, toy.info)
    test = toy.split("test")
    np.testing.assert_array_equal(loaded.predict_proba(test.unlabelled()),
                                  trained.predict_proba(test.unlabelled()))
    np.testing.assert_array_equal(loaded.oracle_predict_proba(test),
                                  trained.oracle_predict_proba(test))
    pd.testing.assert_frame_equal(loaded.explain(test.unlabelled()),
                                  trained.explain(test.unlabelled()))
    assert loaded.config == trained.config and loaded.num_parameters() == trained.num_parameters()


def test_loading_a_broken_model_directory_names_the_problem(tmp_path, toy, trained):
    with pytest.raises(BadModelDir, match="no model.json"):
        KeyframeMLP.load(tmp_path, trained.config, toy.info)
    trained.save(tmp_path / "model")
    (tmp_path / "model" / "mlp2.pt").unlink()
    with pytest.raises(BadModelDir, match="mlp2.pt"):
        KeyframeMLP.load(tmp_path / "model", trained.config, toy.info)
