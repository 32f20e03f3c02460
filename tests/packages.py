"""Real packages of a user's, pip-installed into the test environment for a while."""
from __future__ import annotations

import contextlib
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
    pip-installed for the duration of the block."""
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
