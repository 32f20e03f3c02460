"""Plugins: built-ins come through the entry-point group, and so does a package of a user's."""
import subprocess
import sys
from pathlib import Path

import pytest

from harness import registry
from harness.errors import UnknownPlugin
from tests.packages import installed

BIN = Path(sys.executable).parent


def test_builtins_register_through_entry_points():
    entry_points = {ep.name: ep.value for ep in
                    __import__("importlib.metadata").metadata.entry_points(group="slrbench")}
    assert entry_points["baseline"] == "plugins.baseline"
    assert entry_points["datasets"] == "harness.adapters.builtin"
    assert "pooled_logreg" in registry.models()
    assert {"asl-signs", "signo", "landmarks", "synthetic"} <= set(registry.datasets())


def test_listing_every_model_imports_no_deep_learning_framework():
    """`slrbench list`, `report` and `runs` register every plugin; a plugin's framework is
    imported by its runs only (torch alone took 1.7 s of each command's start)."""
    code = ("import sys; from harness import registry; names = registry.models(); "
            "print(len(names), *[m in sys.modules for m in ('torch', 'tensorflow')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    count, torch, tensorflow = out.stdout.split()
    assert int(count) >= 6 and (torch, tensorflow) == ("False", "False"), out.stdout


def test_unknown_names_list_the_known_ones():
    with pytest.raises(UnknownPlugin, match="pooled_logreg"):
        registry.model("resnet")
    with pytest.raises(UnknownPlugin, match="asl-signs"):
        registry.dataset("no-such-dataset")


PLUGIN = '''
"""A third-party model: nearest class centroid of mean wrist positions."""
from dataclasses import dataclass
import numpy as np
from harness.api import ModelSpec, hookimpl, shoulder_normalise, LEFT_HAND, RIGHT_HAND


@dataclass(frozen=True)
class Config:
    temperature: float = 0.1


def features(clip):
    points = shoulder_normalise(clip)
    wrists = np.stack([points[:, LEFT_HAND.start, :2], points[:, RIGHT_HAND.start, :2]], 1)
    flat = wrists.reshape(len(clip), -1)
    seen = np.isfinite(flat)
    return np.where(seen, flat, 0.0).sum(0) / np.maximum(seen.sum(0), 1)   # 0: never seen


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


def load(path, config, info):
    # The harness gives back the config and the vocabulary it saved with the run.
    model = Centroids(config, info.num_classes)
    model.centres = np.load(path / "centres.npy")
    return model


@hookimpl
def slrbench_models():
    return [ModelSpec(name="tiny_centroids", inputs="landmarks", config=Config,
                      build=lambda config, info: Centroids(config, info.num_classes), load=load,
                      summary="third-party test plugin: wrist centroids", version="3")]
'''


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory):
    with installed(tmp_path_factory.mktemp("tiny_plugin"), "slrbench-tiny-plugin", "0.0.1",
                   "tiny", "slrbench_tiny", PLUGIN):
        yield


@pytest.mark.slow   # pip installs a package
def test_out_of_tree_plugin_is_listed_runs_and_loads_with_its_code_version(installed_plugin,
                                                                           tmp_path):
    listing = subprocess.run([BIN / "slrbench", "list"], capture_output=True, text=True,
                             check=True)
    assert "tiny_centroids" in listing.stdout
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    run = subprocess.run([BIN / "slrbench", "run", "--model", "tiny_centroids", "--dataset",
                          "signo", "--tracking-uri", uri], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    top1 = float(run.stdout.split("test top-1 ")[1].split()[0])
    assert top1 > 3 / 21            # far above chance on 21 signs
    from harness.run.tracking import load_model, load_runs
    row = load_runs(uri).iloc[0]
    assert row["tags.slrbench.model_version"] == "3@slrbench-tiny-plugin==0.0.1"
    assert row["params.plugin.distribution"] == "slrbench-tiny-plugin==0.0.1"
    # load(path, config, info) gets back what the runner saved: the same predictions.
    from harness.run.loading import load_clipset, make_request
    clips, _ = load_clipset("signo", make_request())
    test = clips.split("test")
    loaded = load_model(row["run_id"], uri)
    assert loaded.model.config.temperature == 0.1
    accuracy = (loaded.model.predict_proba(test.unlabelled()).argmax(1) == test.labels).mean()
    assert accuracy == pytest.approx(row["metrics.test_top1"])


SECOND = '''
from harness.api import hookimpl
import slrbench_tiny


@hookimpl
def slrbench_models():
    return slrbench_tiny.slrbench_models()
'''


@pytest.mark.slow   # pip installs a package
def test_a_name_registered_twice_is_an_error_naming_both_plugins(installed_plugin, tmp_path):
    with installed(tmp_path / "second", "slrbench-second-plugin", "0.0.2", "second",
                   "slrbench_second", SECOND):
        listing = subprocess.run([BIN / "slrbench", "list"], capture_output=True, text=True)
    assert listing.returncode == 2
    message = listing.stderr.strip()
    assert "tiny_centroids" in message and "'tiny'" in message and "'second'" in message
    assert "slrbench-tiny-plugin==0.0.1" in message and "slrbench-second-plugin==0.0.2" in message
    assert len(message.splitlines()) == 1
