"""The plugin manager: every model and dataset, built-in or third-party, via entry points.

A name belongs to one plugin: a second registration of a model or dataset name is an error
naming both plugins (the later one never silently wins). Every spec is remembered with the
plugin and distribution that provided it, whose version is part of a result's identity.
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from importlib import metadata

import pluggy

from harness import hookspecs
from harness.errors import DuplicatePlugin, UnknownPlugin
from harness.specs import DatasetSpec, ModelSpec


@dataclass(frozen=True)
class Origin:
    """Where a spec came from: the plugin (entry point) and its distribution."""

    plugin: str
    distribution: str = "unknown"
    version: str = "unknown"

    @property
    def package(self) -> str:
        return f"{self.distribution}=={self.version}"


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
        _DISTRIBUTIONS[entry_point.name] = _distribution_of(entry_point)
    return manager


_DISTRIBUTIONS: dict[str, tuple[str, str]] = {}


def _distribution_of(entry_point) -> tuple[str, str]:
    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return ("unknown", "unknown")
    return (dist.metadata["Name"] or "unknown", dist.version or "unknown")


def _origin(plugin_name: str) -> Origin:
    # Plugins registered by hand (tests, notebooks) have no entry point and no distribution.
    distribution, version = _DISTRIBUTIONS.get(plugin_name, ("unregistered", "0"))
    return Origin(plugin_name, distribution, version)


def _collect(hook, kind: str) -> dict[str, tuple[object, Origin]]:
    found: dict[str, tuple[object, Origin]] = {}
    for impl in hook.get_hookimpls():
        origin = _origin(impl.plugin_name)
        for spec in impl.function() or []:
            if spec.name in found:
                other = found[spec.name][1]
                raise DuplicatePlugin(
                    f"{kind} {spec.name!r} is registered twice: by plugin {other.plugin!r} "
                    f"({other.package}) and by plugin {origin.plugin!r} ({origin.package}); "
                    "uninstall one of them or rename its model")
            found[spec.name] = (spec, origin)
    return dict(sorted(found.items()))


def _models() -> dict[str, tuple[ModelSpec, Origin]]:
    return _collect(plugin_manager().hook.slrbench_models, "model")


def _datasets() -> dict[str, tuple[DatasetSpec, Origin]]:
    return _collect(plugin_manager().hook.slrbench_datasets, "dataset")


def models() -> dict[str, ModelSpec]:
    return {name: spec for name, (spec, _) in _models().items()}


def datasets() -> dict[str, DatasetSpec]:
    return {name: spec for name, (spec, _) in _datasets().items()}


def model(name: str) -> ModelSpec:
    return _model_entry(name)[0]


def model_origin(name: str) -> Origin:
    return _model_entry(name)[1]


def _model_entry(name: str) -> tuple[ModelSpec, Origin]:
    known = _models()
    if name not in known:
        raise UnknownPlugin(f"unknown model {name!r}; known models: {', '.join(known) or 'none'}"
                            " (see `slrbench list`)")
    return known[name]


def code_version(name: str) -> str:
    """A model's result identity in code: its spec's version and its distribution's,
    e.g. ``"2@slrbench==0.2.0"``. Runs, sweep resume keys and report rows carry it."""
    spec, origin = _model_entry(name)
    return f"{spec.version}@{origin.package}"


def dataset(name: str) -> DatasetSpec:
    known = datasets()
    if name not in known:
        raise UnknownPlugin(f"unknown dataset {name!r}; known datasets: "
                            f"{', '.join(known) or 'none'} (see `slrbench list`)")
    return known[name]
