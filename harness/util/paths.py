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
    """Small files shipped with the project (the SOTA table)."""
    return project_root() / "datasets"


def inside(folder: Path | str, file: Path | str, where: str) -> Path:
    """``file`` of an index (relative to ``folder``, or absolute) as an absolute path,
    refused unless it stays inside ``folder`` once ``..`` and symlinks are resolved: an
    index must not make slrbench read from, or write to, anywhere else."""
    from harness.errors import BadAnnotations
    folder = Path(os.path.abspath(folder))
    path = Path(file)
    absolute = Path(os.path.abspath(path if path.is_absolute() else folder / path))
    resolved, root = absolute.resolve(), folder.resolve()
    if resolved != root and root not in resolved.parents:
        raise BadAnnotations(f"{where}: {str(file)!r} points outside {folder} (through '..', "
                             "an absolute path or a symlink); list only files inside the "
                             "data folder")
    return absolute
