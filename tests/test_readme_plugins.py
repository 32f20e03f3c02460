"""The README's dataset-plugin example is real code: taken from the README as it stands,
registered as a plugin, and run end to end on the shipped asl-signs sample."""
from __future__ import annotations

import os
import re
import types
from pathlib import Path

import pandas as pd
import pytest

from harness import registry
from harness.run.runner import RunConfig, run_experiment
from harness.util.paths import project_root, shared_datasets

# pip-installs the README's plugin: CI runs it; the fast lane has the registry's own tests.
pytestmark = pytest.mark.slow


def readme_example(heading: str) -> str:
    text = (project_root() / "README.md").read_text(encoding="utf-8")
    section = text[text.index(heading):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def readme_dataset_plugin():
    module = types.ModuleType("readme_dataset_plugin")
    exec(compile(readme_example("### Adding a dataset plugin"), "README.md", "exec"),
         module.__dict__)
    registry.plugin_manager().register(module, name="readme-dataset")
    yield
    registry.plugin_manager().unregister(name="readme-dataset")


def test_the_readme_dataset_plugin_runs_and_rebuilds_its_cache_when_a_file_changes(
        readme_dataset_plugin, tracking_uri, tmp_path, monkeypatch):
    sample = shared_datasets() / "asl-signs-sample"
    train = pd.read_csv(sample / "train.csv")
    data = tmp_path / "data"
    data.mkdir()
    # Files by absolute path into the shared sample (read, never copied).
    pd.DataFrame({"file": [str(sample / p) for p in train["path"]], "gloss": train["sign"],
                  "signer": train["participant_id"]}).to_csv(data / "clips.csv", index=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("SLRBENCH_DATA_ROOT", str(tmp_path))
    result = run_experiment(RunConfig(model="pooled_logreg", dataset="my-dataset",
                                      data_dir=data, tracking_uri=tracking_uri,
                                      latency_clips=0))
    assert result.metrics["test_top1"] > 0.6          # two signs, unseen signers
    first = sorted(p.name for p in cache.iterdir() if p.name.startswith("my-dataset-"))
    assert len(first) == 1
    # A changed input file is a new cache key: the next run packs a new store.
    os.utime(data / "clips.csv", ns=(1, 1))
    run_experiment(RunConfig(model="pooled_logreg", dataset="my-dataset", data_dir=data,
                             tracking_uri=tracking_uri, latency_clips=0))
    second = sorted(p.name for p in cache.iterdir() if p.name.startswith("my-dataset-"))
    assert len(second) == 2 and set(first) < set(second)
