"""The hooks a slrbench plugin can implement (the model for this file is pytest's own).

A plugin is any module registered under the ``slrbench`` entry-point group::

    [project.entry-points.slrbench]
    my_models = "my_package.slrbench_plugin"

whose functions are marked with :data:`hookimpl`. Built-in models and datasets register the
same way, so the harness never imports a plugin by name.
"""
from __future__ import annotations

import pluggy

PROJECT = "slrbench"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def slrbench_models() -> list:
    """Return the :class:`harness.specs.ModelSpec` objects this plugin provides.

    Each spec names a model, the inputs it needs (``"landmarks"`` or ``"video"``), its
    config dataclass (defaults in one place; ``--set key=value`` overrides a field) and
    the functions that build a fresh model and load a saved one.
    """


@hookspec
def slrbench_datasets() -> list:
    """Return the :class:`harness.specs.DatasetSpec` objects this plugin provides.

    An adapter turns a :class:`harness.specs.DatasetRequest` into a
    :class:`harness.data.clips.ClipSet` whose metadata has a ``split`` column
    (train / val / test): the official split where the dataset has one.
    """
