"""Where things live by default: the project checkout, the shipped data, the cache."""
from __future__ import annotations

import os
from pathlib import Path

# The ``harness`` package folder (this module is harness/util/paths.py).
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def project_root() -> Path:
    """The checkout holding ``pyproject.toml`` when run from source, else the cwd."""
    candidate = PACKAGE_DIR.parent
    return candidate if (candidate / "pyproject.toml").exists() else Path.cwd()


def shared_datasets() -> Path:
    """The real datasets shipped beside the checkout (``../shared/datasets``)."""
    env = os.environ.get("SLRBENCH_SHARED_DATASETS")
    return Path(env) if env else project_root().parent / "shared" / "datasets"


def data_root() -> Path:
    """Where downloads, extracted stores and caches go (git-ignored ``datasets/`` data)."""
    env = os.environ.get("SLRBENCH_DATA_ROOT")
    return Path(env) if env else project_root() / "datasets"


def cache_dir() -> Path:
    return data_root() / "cache"


def manifests_dir() -> Path:
    """Small files shipped with the project: class lists, the SOTA table."""
    return project_root() / "datasets"
