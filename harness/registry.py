"""The plugin manager: every model and dataset, built-in or third-party, via entry points."""
from __future__ import annotations

import functools
import warnings
from importlib import metadata

import pluggy

from harness import hookspecs
from harness.errors import UnknownPlugin
from harness.specs import DatasetSpec, ModelSpec


@functools.lru_cache(maxsize=1)
def plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for entry_point in metadata.entry_points(group=hookspecs.PROJECT):
        if manager.get_plugin(entry_point.name) is not None:
            continue
        try:
            plugin = entry_point.load()
        except Exception as error:  # noqa: BLE001 - one broken plugin must not break the rest
            warnings.warn(f"slrbench plugin {entry_point.name!r} ({entry_point.value}) failed "
                          f"to load and is skipped: {type(error).__name__}: {error}",
                          stacklevel=2)
            continue
        manager.register(plugin, name=entry_point.name)
    return manager


def _collect(results: list[list]) -> list:
    return [spec for specs in results for spec in (specs or [])]


def models() -> dict[str, ModelSpec]:
    specs = _collect(plugin_manager().hook.slrbench_models())
    return {spec.name: spec for spec in sorted(specs, key=lambda s: s.name)}


def datasets() -> dict[str, DatasetSpec]:
    specs = _collect(plugin_manager().hook.slrbench_datasets())
    return {spec.name: spec for spec in sorted(specs, key=lambda s: s.name)}


def model(name: str) -> ModelSpec:
    known = models()
    if name not in known:
        raise UnknownPlugin(f"unknown model {name!r}; known models: {', '.join(known) or 'none'}"
                            " (see `slrbench list`)")
    return known[name]


def dataset(name: str) -> DatasetSpec:
    known = datasets()
    if name not in known:
        raise UnknownPlugin(f"unknown dataset {name!r}; known datasets: "
                            f"{', '.join(known) or 'none'} (see `slrbench list`)")
    return known[name]
