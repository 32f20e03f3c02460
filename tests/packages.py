"""Real packages of a user's, pip-installed into the test environment for a while."""
from __future__ import annotations

import contextlib
import fcntl
import subprocess
import sys
import textwrap
from pathlib import Path

from harness import registry

PIP = [sys.executable, "-m", "pip", "-q"]


@contextlib.contextmanager
def installed(root: Path, distribution: str, version: str, entry_point: str, module: str,
              source: str):
    """A real package with one module registered under the ``slrbench`` entry points,
    pip-installed for the duration of the block.

    One process's blocks at a time across pytest-xdist workers: two pips writing one
    environment at once can leave its metadata broken. A block inside another of the same
    process (a test's package beside its module's) holds the lock it already has: a second
    flock from this process would wait on itself."""
    with _install_lock():
        with _installed(root, distribution, version, entry_point, module, source):
            yield


_held = 0


@contextlib.contextmanager
def _install_lock():
    global _held
    if _held:
        _held += 1
        try:
            yield
        finally:
            _held -= 1
        return
    with open(Path(sys.prefix) / ".slrbench-test-installs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _held = 1
        try:
            yield
        finally:
            _held = 0


@contextlib.contextmanager
def _installed(root: Path, distribution: str, version: str, entry_point: str, module: str,
               source: str):
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(source)
    (root / "pyproject.toml").write_text(textwrap.dedent(f'''
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "{distribution}"
        version = "{version}"
        [project.entry-points.slrbench]
        {entry_point} = "{module}"
        [tool.setuptools]
        py-modules = ["{module}"]
    '''))
    subprocess.run([*PIP, "install", "--no-deps", "--no-build-isolation", "--no-index",
                    str(root)], check=True)
    registry.plugin_manager.cache_clear()      # this process sees the new entry point too
    try:
        yield
    finally:
        subprocess.run([*PIP, "uninstall", "-y", distribution], check=True)
        registry.plugin_manager.cache_clear()
