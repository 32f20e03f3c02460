"""Plugins: built-ins come through the entry-point group, and so does a package of a user's."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness import registry
from harness.errors import UnknownPlugin

BIN = Path(sys.executable).parent


def test_builtins_register_through_entry_points():
    entry_points = {ep.name: ep.value for ep in
                    __import__("importlib.metadata").metadata.entry_points(group="slrbench")}
    assert entry_points["baseline"] == "plugins.baseline"
    assert entry_points["datasets"] == "harness.adapters.builtin"
    assert "pooled_logreg" in registry.models()
    assert {"asl-signs", "signo", "landmarks", "synthetic"} <= set(registry.datasets())


def test_unknown_names_list_the_known_ones():
    with pytest.raises(UnknownPlugin, match="pooled_logreg"):
        registry.model("resnet")
    with pytest.raises(UnknownPlugin, match="asl-signs"):
        registry.dataset("wlasl")


PLUGIN = '''
"""A third-party model: nearest class centroid of mean wrist positions."""
from dataclasses import dataclass
import json
import numpy as np
from harness.api import ModelSpec, hookimpl, shoulder_normalise, LEFT_HAND, RIGHT_HAND


@dataclass(frozen=True)
class Config:
    temperature: float = 0.1


def features(clip):
    points = shoulder_normalise(clip)
    wrists = np.stack([points[:, LEFT_HAND.start, :2], points[:, RIGHT_HAND.start, :2]], 1)
    return np.nan_to_num(np.nanmean(wrists.reshape(len(clip), -1), axis=0))


class Centroids:
    def __init__(self, config, num_classes):
        self.config, self.num_classes = config, num_classes

    def fit(self, train, val, ctx):
        x = np.stack([features(c) for c in train])
        self.centres = np.stack([x[train.labels == k].mean(0) if (train.labels == k).any()
                                 else np.full(x.shape[1], 1e3) for k in range(self.num_classes)])

    def predict_proba(self, clips):
        x = np.stack([features(c) for c in clips])
        logits = -((x[:, None] - self.centres[None]) ** 2).sum(-1) / self.config.temperature
        logits -= logits.max(1, keepdims=True)
        return np.exp(logits) / np.exp(logits).sum(1, keepdims=True)

    def save(self, path):
        np.save(path / "centres.npy", self.centres)
        (path / "meta.json").write_text(json.dumps([self.config.temperature, self.num_classes]))


def load(path):
    temperature, num_classes = json.loads((path / "meta.json").read_text())
    model = Centroids(Config(temperature), num_classes)
    model.centres = np.load(path / "centres.npy")
    return model


@hookimpl
def slrbench_models():
    return [ModelSpec(name="tiny_centroids", inputs="landmarks", config=Config,
                      build=lambda config, info: Centroids(config, info.num_classes), load=load,
                      summary="third-party test plugin: wrist centroids")]
'''


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_plugin")
    (root / "slrbench_tiny.py").write_text(PLUGIN)
    (root / "pyproject.toml").write_text(textwrap.dedent('''
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "slrbench-tiny-plugin"
        version = "0.0.1"
        [project.entry-points.slrbench]
        tiny = "slrbench_tiny"
        [tool.setuptools]
        py-modules = ["slrbench_tiny"]
    '''))
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", "--no-index",
                    str(root)], check=True)
    yield
    subprocess.run([*pip, "uninstall", "-y", "slrbench-tiny-plugin"], check=True)


def test_out_of_tree_plugin_is_listed_and_runs(installed_plugin, tmp_path):
    listing = subprocess.run([BIN / "slrbench", "list"], capture_output=True, text=True,
                             check=True)
    assert "tiny_centroids" in listing.stdout
    run = subprocess.run([BIN / "slrbench", "run", "--model", "tiny_centroids", "--dataset",
                          "asl-signs", "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    top1 = float(run.stdout.split("test top-1 ")[1].split()[0])
    assert 0.0 <= top1 <= 1.0
