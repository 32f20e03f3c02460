"""R(2+1)D-18: architecture, parameter count, checkpoints, sampling, skeleton rendering."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from harness.api import BadConfig, BadSavedModel, ClipSet, RunContext
from harness.data.clips import ArrayLandmarks
from harness.util.config import config_from_dict
from plugins.r2plus1d.config import R2Plus1DConfig
from plugins.r2plus1d.data import ClipTensors, check_inputs
from plugins.r2plus1d.frames import (eval_box, random_box, segment_indices, uniform_indices,
                                     video_clip)
from plugins.r2plus1d.model import R2Plus1DModel
from plugins.r2plus1d.network import R2Plus1D, mid_channels
from plugins.r2plus1d.skeleton import COLOURS, render

torch.set_num_threads(1)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_mid_channels_follow_the_papers_formula():
    """M = floor(t d^2 N_in N_out / (d^2 N_in + t N_out)) with t = d = 3, per block."""
    assert mid_channels(64, 64) == 110592 // 768 == 144
    assert mid_channels(64, 128) == 221184 // 960 == 230
    assert mid_channels(128, 128) == 288
    assert mid_channels(128, 256) == 460
    assert mid_channels(256, 256) == 576
    assert mid_channels(256, 512) == 921
    assert mid_channels(512, 512) == 1152


def test_full_r2plus1d18_has_31_505_325_parameters_with_a_400_class_head():
    """The count, derived by hand from the architecture (no bias in any conv).

    A (2+1)D conv N_in -> N_out with M mid channels: 9 N_in M (1x3x3) + 2M (its BN) +
    3 M N_out (3x1x1); each block adds BN(N_out) = 2 N_out after each of its two convs.
    So conv1 = 9 N_in M + 2M + 3 M N_out + 2 N_out and conv2 = 9 N_out M + 2M + 3 M N_out
    + 2 N_out (the block's M is used for both, as in the reference code).

    stem: 3*45*49 + 2*45 + 45*64*3 + 2*64                     =     15,473
    layer1, 2 x block(64->64, M=144): 2 x (111,008 + 111,008)    =    444,032
    layer2: block(64->128, M=230, s2) 221,516 + 353,996 + shortcut 64*128 + 256
            = 583,960; block(128->128, M=288) 2 x 443,200 = 886,400   =  1,470,360
    layer3: block(128->256, M=460) 884,632 + 1,414,552 + 33,280 = 2,332,464;
            block(256->256, M=576) 2 x 1,771,136 = 3,542,272           =  5,874,736
    layer4: block(256->512, M=921) 3,539,506 + 5,661,490 + 132,096 = 9,333,092;
            block(512->512, M=1152) 2 x 7,081,216 = 14,162,432          = 23,495,524
    fc: 512*400 + 400                                                  =    205,200
    total                                                              = 31,505,325

    That is torchvision's ``r2plus1d_18`` (31.5M, the figure it publishes). Applying the
    formula per convolution instead (M = 2.25 N for a block's second conv) would give
    33,370,839, close to the 33.3M of the paper's Table 2.
    """
    network = R2Plus1D(num_classes=400)
    assert count(network.stem) == 15_473
    assert [count(getattr(network, f"layer{i}")) for i in (1, 2, 3, 4)] == [
        444_032, 1_470_360, 5_874_736, 23_495_524]
    assert count(network.fc) == 205_200
    assert count(network) == 31_505_325
    assert R2Plus1DModel(R2Plus1DConfig(), 400).num_parameters() == 31_505_325
    # The full network runs (a small clip keeps this fast on CPU).
    with torch.no_grad():
        assert network.eval()(torch.randn(1, 3, 4, 32, 32)).shape == (1, 400)


def test_feature_map_shapes_of_a_16x112x112_clip():
    network = R2Plus1D(num_classes=8, width=0.125).eval()
    x = torch.randn(2, 3, 16, 112, 112)
    shapes = []
    with torch.no_grad():
        for name in ("stem", "layer1", "layer2", "layer3", "layer4"):
            x = getattr(network, name)(x)
            shapes.append(tuple(x.shape))
    # width 1/8 of 64/128/256/512; space /2 in the stem and each later stage, time /2
    # from stage 2 on.
    assert shapes == [(2, 8, 16, 56, 56), (2, 8, 16, 56, 56), (2, 16, 8, 28, 28),
                      (2, 32, 4, 14, 14), (2, 64, 2, 7, 7)]
    with torch.no_grad():
        assert network(torch.randn(2, 3, 16, 112, 112)).shape == (2, 8)
        # frames and size are free: 8 frames of 64 x 64
        assert network(torch.randn(3, 3, 8, 64, 64)).shape == (3, 8)


def test_config_says_what_the_dataset_must_provide():
    assert R2Plus1DConfig().required_inputs() == "video"
    assert config_from_dict(R2Plus1DConfig, {"input": "skeleton"}).required_inputs() == "landmarks"
    with pytest.raises(BadConfig, match="input"):
        config_from_dict(R2Plus1DConfig, {"input": "depth"})
    with pytest.raises(BadConfig, match="size"):
        config_from_dict(R2Plus1DConfig, {"size": "8"})


def tiny_state(tmp_path, num_classes: int, width: float = 0.125, prefix: str = ""):
    torch.manual_seed(1)
    network = R2Plus1D(num_classes, width=width)
    path = tmp_path / f"r2p1d-{num_classes}-{width}.pt"
    torch.save({prefix + k: v for k, v in network.state_dict().items()}, path)
    return network, path


def test_weights_load_backbone_and_keep_a_fresh_head_for_other_classes(tmp_path):
    source, path = tiny_state(tmp_path, num_classes=400)
    model = R2Plus1DModel(R2Plus1DConfig(width=0.125, weights=str(path)), num_classes=8)
    state = model.network.state_dict()
    for key, value in source.state_dict().items():
        if not key.startswith("fc."):
            assert torch.equal(state[key], value), key
    assert state["fc.weight"].shape == (8, 64)
    assert model.head_reset == ["fc.bias", "fc.weight"]
    # Same classes: the head is loaded too; a DataParallel "module." prefix is accepted.
    same, path = tiny_state(tmp_path, num_classes=8, prefix="module.")
    model = R2Plus1DModel(R2Plus1DConfig(width=0.125, weights=str(path)), num_classes=8)
    assert torch.equal(model.network.fc.weight, same.fc.weight) and model.head_reset == []


def test_bad_checkpoints_fail_with_the_file_and_the_fix(tmp_path):
    _, wrong_width = tiny_state(tmp_path, num_classes=8, width=0.25)
    with pytest.raises(BadConfig, match=r"weights=.*r2p1d-8-0.25.pt.*shape mismatches.*"
                                        r"torchvision's r2plus1d_18 layout"):
        R2Plus1DModel(R2Plus1DConfig(width=0.125, weights=str(wrong_width)), num_classes=8)
    partial = tmp_path / "partial.pt"
    state = R2Plus1D(8, width=0.125).state_dict()
    torch.save({k: v for k, v in state.items() if not k.startswith("layer4")}, partial)
    with pytest.raises(BadConfig, match="missing keys"):
        R2Plus1DModel(R2Plus1DConfig(width=0.125, weights=str(partial)), num_classes=8)
    not_a_state = tmp_path / "list.pt"
    torch.save([1, 2, 3], not_a_state)
    with pytest.raises(BadConfig, match="not a state dict"):
        R2Plus1DModel(R2Plus1DConfig(width=0.125, weights=str(not_a_state)), num_classes=8)
    with pytest.raises(BadConfig, match="no such file"):
        R2Plus1DModel(R2Plus1DConfig(weights=str(tmp_path / "absent.pt")), num_classes=8)


def test_frame_sampling_covers_the_clip_in_order():
    assert uniform_indices(40, 4).tolist() == [5, 15, 25, 35]
    assert uniform_indices(9, 16).tolist() == sorted(uniform_indices(9, 16).tolist())
    assert set(uniform_indices(9, 16)) == set(range(9))  # short clips repeat frames
    rng = np.random.default_rng(0)
    for n_frames in (3, 16, 41):
        for _ in range(20):
            picked = segment_indices(n_frames, 8, rng)
            assert len(picked) == 8 and (np.diff(picked) >= 0).all()
            assert picked.min() >= 0 and picked.max() < n_frames
            # each pick stays inside its own segment [floor(k n / 8), floor((k+1) n / 8))
            starts = np.floor(np.arange(8) * n_frames / 8)
            ends = np.maximum(np.floor(np.arange(1, 9) * n_frames / 8), starts + 1)
            assert (picked >= starts).all() and (picked < ends).all()


def test_crops_stay_inside_the_frame_and_flip_mirrors():
    rng = np.random.default_rng(0)
    for _ in range(50):
        top, left, h, w = random_box(226, 128, 0.6, rng)
        assert 0 <= top and top + h <= 226 and 0 <= left and left + w <= 128
        assert h * w >= 0.5 * 226 * 128  # area >= 0.6, less rounding and clamping
    assert eval_box(226, 128, "full") == (0, 0, 226, 128)
    assert eval_box(226, 128, "center") == (49, 0, 128, 128)
    video = np.random.default_rng(1).integers(0, 255, (20, 40, 30, 3), dtype=np.uint8)
    kept = video_clip(video, 6, 16, "segment", 0.6, 0.0, "full", np.random.default_rng(5))
    flipped = video_clip(video, 6, 16, "segment", 0.6, 1.0, "full", np.random.default_rng(5))
    assert kept.shape == (6, 16, 16, 3) and kept.dtype == np.uint8
    assert np.array_equal(flipped, kept[:, :, ::-1])
    evaluated = video_clip(video, 6, 16, "segment", 0.6, 1.0, "full", None)
    assert np.array_equal(evaluated, video_clip(video, 6, 16, "uniform", 1.0, 0.0, "full", None))


def right_hand_clip(frames: int = 4) -> np.ndarray:
    clip = np.full((frames, 543, 3), np.nan, dtype=np.float32)
    hand = np.random.default_rng(0).uniform(0.55, 0.75, size=(21, 3))
    clip[:, 522:543] = hand                      # right hand only, on the image's right
    clip[:, 11], clip[:, 12] = (0.6, 0.5, 0), (0.4, 0.5, 0)
    clip[-1] = np.nan                            # nothing detected in the last frame
    return clip


def colour_share(frames: np.ndarray, colour) -> float:
    return float((np.abs(frames.astype(int) - colour).sum(-1) < 60).mean())


def test_skeleton_rendering_draws_hands_and_mirrors_them():
    clip = right_hand_clip()
    frames = render(clip, 64)
    assert frames.shape == (4, 64, 64, 3) and frames.dtype == np.uint8
    assert colour_share(frames[:3], COLOURS["right"]) > 0.01
    assert colour_share(frames[:3], COLOURS["left"]) == 0
    assert colour_share(frames[:3], COLOURS["pose"]) > 0.001   # the shoulder line
    assert frames[3].max() == 0                                 # no landmarks: black
    mirrored = render(clip, 64, mirror=True)
    assert colour_share(mirrored[:3], COLOURS["left"]) > 0.01
    assert colour_share(mirrored[:3], COLOURS["right"]) == 0
    # the right hand sits right of the shoulders' centre; mirrored, the left one sits left
    columns = np.flatnonzero(np.abs(frames[0].astype(int) - COLOURS["right"]).sum(-1).min(0) < 60)
    columns_m = np.flatnonzero(np.abs(mirrored[0].astype(int) - COLOURS["left"]).sum(-1).min(0) < 60)
    assert columns.mean() > 32 > columns_m.mean()


def landmark_clipset(n: int = 12, classes: int = 3) -> ClipSet:
    """Class k: the right hand moves along direction k (real rendering, tiny sizes)."""
    rng = np.random.default_rng(0)
    arrays, labels = [], []
    for i in range(n):
        label = i % classes
        clip = right_hand_clip(10)[:9]
        angle = 2 * np.pi * label / classes
        path = np.linspace(0, 0.3, 9)[:, None] * np.array([np.cos(angle), np.sin(angle)])
        clip[:, 522:543, :2] += path[:, None, :] + rng.normal(0, 0.01, size=(9, 1, 2))
        arrays.append(clip)
        labels.append(label)
    meta = pd.DataFrame({"clip_id": [f"c{i}" for i in range(n)],
                         "gloss": [f"g{k}" for k in labels], "label": labels,
                         "split": "train", "signer": "s", "fps": 30.0,
                         "n_frames": 9, "source": ""})
    return ClipSet(name="moving-hands", meta=meta, vocab=("g0", "g1", "g2"),
                   landmarks=ArrayLandmarks(arrays))


def test_inputs_are_checked_against_the_dataset():
    clips = landmark_clipset()
    with pytest.raises(BadConfig, match="input=video needs a dataset with videos"):
        check_inputs(clips, R2Plus1DConfig())
    item = ClipTensors(clips, R2Plus1DConfig(input="skeleton", frames=4, size=32))[0]
    assert item.shape == (3, 4, 32, 32) and item.dtype == torch.float32


def test_fit_save_load_gives_identical_predictions(tmp_path):
    clips = landmark_clipset()
    config = R2Plus1DConfig(input="skeleton", frames=4, size=32, width=0.125, epochs=2,
                            batch_size=4, dropout=0.0)
    logged = []
    model = R2Plus1DModel(config, num_classes=3, vocab=clips.vocab)
    model.fit(clips, clips.subset([0, 1, 2]),
              RunContext(seed=3, metric_logger=lambda *a: logged.append(a)))
    assert {name for name, _, _ in logged} >= {"train_loss", "val_loss", "epoch_val_top1"}
    assert [step for name, _, step in logged if name == "epoch_val_top1"] == [1, 2]
    proba = model.predict_proba(clips.unlabelled())
    assert proba.shape == (12, 3) and np.allclose(proba.sum(1), 1)
    model.save(tmp_path / "saved")
    loaded = R2Plus1DModel.load(tmp_path / "saved", config, clips.info)
    assert loaded.config == config and loaded.vocab == clips.vocab
    assert np.array_equal(loaded.predict_proba(clips.unlabelled()), proba)
    # Same seed, same data: the same model again.
    again = R2Plus1DModel(config, num_classes=3, vocab=clips.vocab)
    again.fit(clips, clips.subset([0, 1, 2]), RunContext(seed=3))
    assert np.allclose(again.predict_proba(clips.unlabelled()), proba, atol=1e-6)
    with pytest.raises(BadSavedModel, match="not a saved r2plus1d model"):
        R2Plus1DModel.load(tmp_path, config, clips.info)
