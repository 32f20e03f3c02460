"""Run and sweep files: ``slrbench run --config run.toml``, ``slrbench sweep --config grid.toml``.

A file holds the command's options under their own names (``split-seed = 1``, or
``split_seed``); ``--set`` and ``--data-option`` are tables::

    model = "keyframe_mlp"
    dataset = "asl-signs"
    seed = 1
    [set]
    stages = 3

Options given on the command line override the file's (``--set`` entries key by key); a
relative ``data-dir`` is relative to the file. An
unknown key or a value of the wrong type is one :class:`BadConfig` line naming the file and
the key. Values come back as the command line would give them (strings ``k=v`` for the
tables, comma lists for a sweep's grids), so the command builds its config exactly as if
they had been typed. :func:`dump` writes such a file back: the runner logs every run's
resolved options as ``run.toml``, which repeats the run.
"""
from __future__ import annotations

import contextlib
import difflib
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from harness.errors import BadConfig, UnknownPlugin

TABLES = ("set", "data-option")          # multi-valued KEY=VALUE options


@dataclass(frozen=True)
class Key:
    name: str        # as in the file: the long option without "--"
    param: str       # the command's parameter name
    kind: str        # str, int, float, bool, path, table, names, ints, seeds, or a|b choices


RUN_KEYS = tuple(Key(*k) for k in (
    ("model", "model", "str"), ("dataset", "dataset", "str"), ("vocab", "vocab", "int"),
    ("seed", "seed", "int"), ("split-seed", "split_seed", "int"), ("epochs", "epochs", "int"),
    ("set", "sets", "table"), ("data-dir", "data_dir", "path"),
    ("data-option", "data_options", "table"), ("tracking-uri", "tracking_uri", "str"),
    ("experiment", "experiment", "str"), ("device", "device", "str"),
    ("threads", "threads", "int"), ("system-metrics", "system_metrics", "bool")))

SWEEP_KEYS = tuple(Key(*k) for k in (
    ("models", "models", "names"), ("dataset", "datasets", "names"),
    ("vocab", "vocabs", "ints"), ("seeds", "seeds", "seeds"),
    ("split-seed", "split_seed", "int"), ("epochs", "epochs", "int"),
    ("set", "sets", "table"), ("data-dir", "data_dir", "path"),
    ("data-option", "data_options", "table"), ("backend", "backend", "local|ray"),
    ("address", "address", "str"), ("max-parallel", "max_parallel", "int"),
    ("cpus-per-run", "cpus_per_run", "float"), ("gpus-per-run", "gpus_per_run", "float"),
    ("device", "device", "str"), ("tracking-uri", "tracking_uri", "str"),
    ("dry-run", "dry_run", "bool"), ("system-metrics", "system_metrics", "bool")))

KEYS = {"run": RUN_KEYS, "sweep": SWEEP_KEYS}
# keys that name plugins: the registry's "unknown model 'x'" is about them
PLUGIN_KEYS = {"model": "model", "models": "model", "dataset": "dataset"}
REQUIRED = {"run": ("model",), "sweep": ("models",)}
_KIND_WORDS = {"str": "a string", "path": "a string (a path)", "int": "an integer",
               "float": "a number", "bool": "true or false",
               "table": "a table of KEY = VALUE", "names": "a string or an array of strings",
               "ints": "an integer or an array of integers",
               "seeds": "a count (integer) or an array of integers"}


def _toml_type(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)


def _scalar_text(value: Any) -> str | None:
    """A TOML value as the command line would spell it after ``KEY=``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list) and all(_scalar_text(v) is not None and not isinstance(v, list)
                                       for v in value):
        return ",".join(_scalar_text(v) for v in value)
    return None


def _convert(path: Path, key: Key, value: Any, kind: str, command: str) -> Any:
    def wrong() -> BadConfig:
        expected = _KIND_WORDS.get(kind) or "one of " + ", ".join(map(repr, kind.split("|")))
        return BadConfig(f"{path}: key {key.name!r} must be {expected}, not "
                         f"{_toml_type(value)} ({value!r})"[:300])

    if kind in ("names", "ints", "seeds") and value == []:
        raise BadConfig(f"{path}: key {key.name!r} is an empty list; give at least one value")
    if "|" in kind:
        if not isinstance(value, str) or value not in kind.split("|"):
            raise wrong()
        return value
    if kind in ("str", "path"):
        if not isinstance(value, str):
            raise wrong()
        if kind == "path":   # relative to the file, so a file works from any directory
            given = Path(value).expanduser()
            return given if given.is_absolute() else path.parent / given
        return value
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise wrong()
        return value
    if kind == "float":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise wrong()
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise wrong()
        return value
    if kind == "names":
        if isinstance(value, str):
            return value
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return ",".join(value)
        raise wrong()
    if kind in ("ints", "seeds"):
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, list) and value and all(
                isinstance(v, int) and not isinstance(v, bool) for v in value):
            # a one-seed list is written "7," so that it is not read as a count
            return ",".join(map(str, value)) + ("," if kind == "seeds" and len(value) == 1 else "")
        raise wrong()
    if kind == "table":
        if not isinstance(value, dict):
            raise wrong()
        return tuple(_table_items(path, key, value, scoped=command == "sweep"))
    raise AssertionError(kind)


def _table_items(path: Path, key: Key, table: dict, prefix: str = "",
                 scoped: bool = False) -> Iterable[str]:
    for name, value in table.items():
        if isinstance(value, dict) and not prefix and key.name == "set" and scoped:
            yield from _table_items(path, key, value, f"{name}.")  # [set.MODEL] in a sweep
            continue
        text = _scalar_text(value)
        if text is None:
            raise BadConfig(f"{path}: key '{key.name}.{prefix}{name}' must be a string, number, "
                            f"boolean or array of them, not {_toml_type(value)}")
        yield f"{prefix}{name}={text}"


def read(path: Path | str, command: str) -> dict[str, Any]:
    """The file's options as ``{parameter name: value as the command line gives it}``."""
    path = Path(path)
    keys = {key.name: key for key in KEYS[command]}
    try:
        # utf-8-sig: an editor's byte-order mark was "not valid TOML" at line 1, column 1
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise BadConfig(f"{path}: no such {command} file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BadConfig(f"{path}: cannot read this {command} file ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise BadConfig(f"{path}: not valid TOML ({error})") from None
    values: dict[str, Any] = {}
    for raw, value in data.items():
        name = raw.replace("_", "-")
        key = keys.get(name)
        if key is None:
            close = difflib.get_close_matches(name, keys, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise BadConfig(f"{path}: unknown key {raw!r}; {hint}{command} files take "
                            f"{', '.join(keys)}")
        if key.param in values:
            raise BadConfig(f"{path}: key {key.name!r} is given twice (as {key.name!r} and "
                            f"{key.name.replace('-', '_')!r})")
        values[key.param] = _convert(path, key, value, key.kind, command)
    _check_sets(path, values)
    return values


def _check_sets(path: Path, values: dict[str, Any]) -> None:
    """A ``[set]`` entry that no named model has, or a value it cannot take, is the file's
    error: name the file and the key before any data is read."""
    from harness import registry
    from harness.util.config import config_from_dict, field_names
    names = values.get("model") or values.get("models")
    if not names or not values.get("sets"):
        return
    try:
        specs = {name: registry.model(name) for name in
                 (n.strip() for n in str(names).split(",")) if name}
    except UnknownPlugin as error:
        key = "model" if "model" in values else "models"
        raise UnknownPlugin(f"{path}: key {key!r}: {error}") from None
    for item in values["sets"]:
        key, _, text = item.partition("=")
        owner, dot, option = key.rpartition(".")
        targets = [specs[owner]] if dot and owner in specs else \
            [spec for spec in specs.values() if key in field_names(spec.config)]
        option = option if dot and owner in specs else key
        if not targets:
            raise BadConfig(f"{path}: key 'set.{key}': no model of this file "
                            f"({', '.join(specs)}) has that option; see "
                            "`slrbench list --model NAME`")
        for spec in targets:
            try:
                config_from_dict(spec.config, {option: text}, owner=spec.name)
            except BadConfig as error:
                raise BadConfig(f"{path}: key 'set.{key}': {error}") from None


@contextlib.contextmanager
def naming_the_file(path: Path | None, command: str, file_values: dict[str, Any],
                    given: Iterable[str]):
    """An option's error (``--seed -1: ...``, raised where the value is checked), or an
    unknown model or dataset, about a value that came from ``path`` names the file and its
    key, as the file's type errors do."""
    try:
        yield
    except (BadConfig, UnknownPlugin) as error:
        text = str(error)
        from_file = [key for key in KEYS[command]
                     if key.param in file_values and key.param not in set(given)]
        for key in from_file:
            if re.match(rf"--{re.escape(key.name)}\b", text) or \
                    text.startswith(f"unknown {PLUGIN_KEYS.get(key.name)} "):
                raise type(error)(f"{path}: key {key.name!r}: {text}") from None
        raise


def merge(command: str, file_values: dict[str, Any], params: dict[str, Any],
          given: Iterable[str], where: str) -> dict[str, Any]:
    """The command's parameters: the command line's where given there, else the file's,
    else the command line's defaults. ``--set``/``--data-option`` merge key by key."""
    given = set(given)
    merged = dict(params)
    for key in KEYS[command]:
        if key.param not in file_values:
            continue
        if key.kind == "table":
            typed = tuple(params.get(key.param) or ())
            scoped = command == "sweep" and key.name == "set"
            merged[key.param] = _not_retyped(file_values[key.param], typed, scoped) + typed
        elif key.param not in given:
            merged[key.param] = file_values[key.param]
    for name in REQUIRED[command]:
        if merged.get(name) in (None, "", ()):
            raise BadConfig(f"--{name} is required: give it on the command line or as "
                            f"{name!r} in {where}")
    return merged


def _not_retyped(file_items: Iterable[str], typed: Iterable[str], scoped: bool) -> tuple:
    """The file's ``KEY=VALUE`` entries the command line does not set again. A typed
    ``--set K`` sets K for every model, so it replaces the file's ``[set.MODEL] K`` too:
    kept, that entry won as the more specific one and the typed value was ignored."""
    def key(item: str) -> str:
        return item.partition("=")[0].strip()

    def option(name: str) -> str:
        _, dot, unscoped = name.partition(".")
        return unscoped if scoped and dot else name

    retyped = {key(item) for item in typed}
    return tuple(item for item in file_items
                 if key(item) not in retyped and option(key(item)) not in retyped)


# --- writing -------------------------------------------------------------------------------
def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if value is None:
        return '"none"'     # what --set reads as None for an optional option
    text = str(value)
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\t", "\\t").replace("\r", "\\r"))
    return f'"{escaped}"'


def _bare(name: str) -> str:
    ok = name and all(c.isalnum() or c in "-_" for c in name) and name.isascii()
    return name if ok else _toml_value(name)


def dump(values: dict[str, Any], comments: Iterable[str] = ()) -> str:
    """TOML for ``{file key: value}``; dict values become tables (written last)."""
    lines = [f"# {line}" for line in comments]
    tables = {k: v for k, v in values.items() if isinstance(v, dict)}
    for key, value in values.items():
        if key not in tables and value is not None:
            lines.append(f"{_bare(key)} = {_toml_value(value)}")
    for key, table in tables.items():
        lines.append(f"\n[{_bare(key)}]")
        lines.extend(f"{_bare(k)} = {_toml_value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"
