"""Shared fixtures: real shipped data paths, an isolated MLflow store per test."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from harness.util.paths import shared_datasets

os.environ.setdefault("SLRBENCH_PROGRESS", "0")

SHARED = shared_datasets()


@pytest.fixture
def tracking_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mlruns.db'}"


@pytest.fixture(scope="session")
def shared() -> Path:
    assert SHARED.exists(), f"the shipped datasets are expected at {SHARED}"
    return SHARED


@pytest.fixture(scope="module")
def ray_instance():
    """A real local Ray instance, one per test module."""
    import ray
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level=logging.ERROR)
    yield ray
    ray.shutdown()


def make_clip(frames: int = 12, seed: int = 0) -> np.ndarray:
    """A plausible random clip: shoulders apart, both hands present, face present."""
    rng = np.random.default_rng(seed)
    clip = rng.uniform(0.2, 0.8, size=(frames, 543, 3)).astype(np.float32)
    clip[:, 11] = (0.6, 0.4, 0.0)
    clip[:, 12] = (0.4, 0.4, 0.0)
    return clip
