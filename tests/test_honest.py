"""Labels never reach a model at prediction time: a cheating plugin is refused."""
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pytest

from harness import registry
from harness.api import LabelAccessError, ModelSpec, hookimpl
from harness.run.runner import RunConfig, run_experiment


@dataclass(frozen=True)
class CheatConfig:
    peek: str = "labels"


class Cheater:
    def __init__(self, config, info):
        self.config, self.num_classes = config, info.num_classes

    def fit(self, train, val, ctx):
        self.train_labels = train.labels  # reading labels while training is allowed

    def predict_proba(self, clips):
        labels = np.asarray(getattr(clips, self.config.peek))
        return np.eye(self.num_classes)[labels]

    def save(self, path: Path):
        pass


class CheatingPlugin:
    @hookimpl
    def slrbench_models(self):
        return [ModelSpec(name="cheater", inputs="landmarks", config=CheatConfig, build=Cheater,
                          load=lambda path, config, info: None, summary="reads test labels")]


@pytest.fixture
def cheater():
    plugin = CheatingPlugin()
    registry.plugin_manager().register(plugin, name="cheater")
    yield
    registry.plugin_manager().unregister(name="cheater")


@pytest.mark.parametrize("peek", ["labels", "meta", "clip_ids", "_clips"])
def test_a_plugin_reading_test_labels_is_refused_and_its_run_fails(cheater, tracking_uri, peek):
    with pytest.raises(LabelAccessError, match=peek):
        run_experiment(RunConfig(model="cheater", dataset="asl-signs", tracking_uri=tracking_uri,
                                 overrides={"peek": peek}))
    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs(experiment_names=["asl-signs-2"], output_format="list")
    assert [r.info.status for r in runs] == ["FAILED"]
    assert "LabelAccessError" in runs[0].data.tags["slrbench.error"]


def test_unlabelled_view_exposes_data_but_no_metadata():
    from harness.run.loading import load_clipset, make_request
    clips, _ = load_clipset("asl-signs", make_request())
    test = clips.split("test")
    view = test.unlabelled()
    np.testing.assert_array_equal(view.clip(3), test.clip(3))
    np.testing.assert_array_equal(view.subset([3, 5]).clip(1), test.clip(5))
    assert view.n_frames.tolist() == test.meta["n_frames"].tolist()
    for name in ("labels", "meta", "vocab", "name", "rows", "landmarks"):
        with pytest.raises(LabelAccessError):
            getattr(view, name)
    with pytest.raises(LabelAccessError):
        view.labels = None
