"""Typed dataclass configs: ``--set key=value`` overrides coerced to the field's type."""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Iterable

from harness.errors import BadConfig

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_EXAMPLES = {"--set": "epochs=20"}        # options whose keys every user shares


def parse_set_options(items: Iterable[str], option: str = "--set") -> dict[str, str]:
    """``["lr=0.001", "stages=3"]`` -> ``{"lr": "0.001", "stages": "3"}``.

    ``option`` is the command-line option the items came from (``--set``,
    ``--data-option``): the error for an item without ``=`` names it."""
    parsed: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            example = f", e.g. {option} {_EXAMPLES[option]}" if option in _EXAMPLES else ""
            raise BadConfig(f"{option} {item!r}: expected key=value{example}")
        parsed[key.strip()] = value.strip()
    return parsed


def _coerce(value: Any, kind: Any, where: str) -> Any:
    origin = typing.get_origin(kind)
    if not isinstance(value, str):
        # JSON gives tuples back as lists: a config must survive its own round trip.
        if origin in (typing.Union, types.UnionType) and value is not None:
            options = [k for k in typing.get_args(kind) if k is not type(None)]
            return _coerce(value, options[0], where)
        if origin in (tuple, list) and isinstance(value, (list, tuple)):
            inner = typing.get_args(kind)
            item_kind = inner[0] if inner else Any
            items = [_coerce(v, item_kind, where) for v in value]
            return tuple(items) if origin is tuple else items
        return value
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        if value.lower() in ("none", "null", ""):
            return None
        return _coerce(value, options[0], where)
    if origin is typing.Literal:
        allowed = typing.get_args(kind)
        if value not in allowed:
            raise BadConfig(f"{where}: {value!r} is not one of {', '.join(map(str, allowed))}")
        return value
    if origin in (tuple, list):
        inner = typing.get_args(kind)
        item_kind = inner[0] if inner else str
        items = [_coerce(v.strip(), item_kind, where) for v in value.split(",") if v.strip()]
        return tuple(items) if origin is tuple else items
    try:
        if kind is bool:
            lowered = value.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError(value)
        if kind in (int, float, str):
            return kind(value)
    except ValueError:
        raise BadConfig(f"{where}: {value!r} is not a valid {kind.__name__}") from None
    return value


def config_from_dict(config_cls: type, values: dict[str, Any], option: str = "--set",
                     owner: str | None = None) -> Any:
    """Build ``config_cls`` from defaults plus ``values`` (strings are coerced); ``option``
    is what a value that does not coerce is called (``--data-option`` for a dataset's);
    ``owner`` is what errors call the config (a model's or dataset's name, not a class
    name the user never typed)."""
    owner = owner or config_cls.__name__
    if not dataclasses.is_dataclass(config_cls):
        raise TypeError(f"{config_cls!r} is not a dataclass")
    hints = typing.get_type_hints(config_cls)
    names = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise BadConfig(f"{owner} has no option {', '.join(unknown)}; "
                        f"options: {', '.join(sorted(names))}")
    coerced = {k: _coerce(v, hints[k], f"{option} {k}") for k, v in values.items()}
    try:
        return config_cls(**coerced)
    except (TypeError, ValueError, ArithmeticError) as error:
        # ArithmeticError: a check in __post_init__ that divides by a value (heads=0)
        raise BadConfig(f"{owner}: {error}") from None


def config_to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def field_names(config_cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(config_cls)}


def describe(config_cls: type) -> list[tuple[str, str, Any]]:
    """(name, type, default) for every option: what ``slrbench list --model`` prints."""
    hints = typing.get_type_hints(config_cls)
    rows = []
    for f in dataclasses.fields(config_cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        rows.append((f.name, type_name(hints[f.name]), default))
    return rows


def set_text(value: Any) -> str:
    """``value`` as one types it after ``--set key=`` to get it back: ``256,128`` for a
    tuple, ``none``, ``true``; never Python's ``(256, 128)`` or ``'honest'``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return ",".join(set_text(item) for item in value)
    if value == "":
        return '""'
    return str(value)


_PLURALS = {int: "ints", float: "floats", str: "strings", bool: "bools"}


def type_name(kind) -> str:
    """What a user types on ``--set`` for ``kind``, read off ``_coerce`` so the two agree:
    ``int``, a Literal as its choices (``honest|oracle``), ``ints, comma-separated``,
    ``str or none`` (never ``tuple`` or ``typing.Optional[str]``)."""
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin is typing.Literal:
        return "|".join(str(choice) for choice in args)
    if origin in (typing.Union, types.UnionType):
        # _coerce tries only the first non-None member, so that is the one to name
        options = [k for k in args if k is not type(None)]
        name = type_name(options[0]) if options else "none"
        return f"{name} or none" if type(None) in args else name
    if origin in (tuple, list):
        item = args[0] if args else str
        if typing.get_origin(item) is typing.Literal:
            return f"any of {type_name(item)}, comma-separated"
        return f"{_PLURALS.get(item, 'strings')}, comma-separated"
    if kind in (int, float, str, bool):
        return kind.__name__
    # any other annotation gets the text as typed (see _coerce)
    return "str"
